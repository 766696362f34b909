/**
 * WASI conformance with real C programs: each program in ./c is compiled at test time with clang
 * to wasm32-wasi (wasi-libc) and with the host's C compiler to a native binary. The wasm runs in
 * the sandbox (`runTask` on a prepared module, files under /in and /out); the native binary runs
 * on temporary directories laid out the same way, and is the independent reference: stdout,
 * stderr, exit code and output files must match. Programs take the input and output directories
 * as argv[1] and argv[2] ("/in" and "/out" in the sandbox), so one source serves both.
 *
 * Where a real host must differ (clocks, entropy, a read-only mount we cannot make as root), the
 * sandbox's own guarantees are asserted instead.
 *
 * The same is done for one Rust program (./rust/conformance.rs, std's fs/io/env/time/process).
 *
 * Needs clang with the wasm32-wasi target, wasi-libc and compiler-rt's wasm32 builtins, and a
 * rustc with the wasm32-wasi std (Debian: `clang lld wasi-libc libclang-rt-dev-wasm32 rustc
 * libstd-rust-dev-wasm32`; .ci/run installs them). Without them these tests are skipped loudly
 * locally, and fail under CI=true. CLANG, CC, WASI_SYSROOT and RUSTC override the tools.
 *
 * Each program runs metered for fuel (as every task in Lode does) and unmetered, and both must
 * give the same result.
 *
 * Programs run in the Node pool (one worker), so the wall-time watchdog stops a program that
 * never ends instead of hanging the whole test run. (Earlier, with `runTask` in this thread, a program that never ends hung the
 * file (vitest cannot interrupt synchronous code). Keep the programs' loops bounded — and beware
 * clang eliding an unused malloc (see `sink` in c/exits.c), which once made one loop forever.
 */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectModule } from '../../src/module.js';
import { createNodeSandbox } from '../../src/node/pool.js';
import type { SandboxFile, SandboxResult, SandboxTask } from '../../src/types.js';
import { bytes, hashOf, makeTask, SEED_A, SEED_B, text } from '../helpers.js';

const run = promisify(execFile);
const HERE = dirname(fileURLToPath(import.meta.url));
const SRC = join(HERE, 'c');
const PROGRAMS = ['hello', 'stdin', 'argsenv', 'files', 'dirs', 'walk', 'links', 'sockets', 'readonly', 'timerand', 'exits'] as const;
type Program = (typeof PROGRAMS)[number] | 'rust';

const CLANG = process.env.CLANG ?? 'clang';
const CC = process.env.CC ?? 'cc';
const SYSROOT = [process.env.WASI_SYSROOT, '/usr/share/wasi-sysroot', '/opt/wasi-sdk/share/wasi-sysroot'].find((p) => p && existsSync(p));
const WASM_FLAGS = ['--target=wasm32-wasi', ...(SYSROOT ? [`--sysroot=${SYSROOT}`] : []), '-O2', '-Wall', '-Wno-unused-parameter'];
const NATIVE_FLAGS = ['-O2', '-Wall', '-Wno-unused-parameter'];
const INSTALL = 'apt-get install clang lld wasi-libc libclang-rt-dev-wasm32 rustc libstd-rust-dev-wasm32';

/** Why the toolchain cannot build wasm32-wasi C programs here, or undefined if it can. */
function cProblem(): string | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'lode-wasi-probe-'));
  try {
    writeFileSync(join(dir, 'p.c'), '#include <stdio.h>\nint main(void) { printf("%g\\n", 1.5); return 0; }\n');
    const wasm = spawnSync(CLANG, [...WASM_FLAGS, '-o', join(dir, 'p.wasm'), join(dir, 'p.c')], { encoding: 'utf8' });
    if (wasm.error) return `${CLANG} not found (${wasm.error.message})`;
    if (wasm.status !== 0) return `${CLANG} cannot build for wasm32-wasi (wasi-libc / compiler-rt wasm32 builtins missing?):\n${wasm.stderr}`;
    const native = spawnSync(CC, ['-o', join(dir, 'p'), join(dir, 'p.c')], { encoding: 'utf8' });
    if (native.error || native.status !== 0) return `host C compiler ${CC} unusable: ${native.error?.message ?? native.stderr}`;
    return undefined;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A rustc with the wasm32-wasi standard library: $RUSTC, `rustc` on PATH, or Debian's /usr/bin/rustc (rustup's may lack the target). */
function findRustc(): { rustc?: string; problem?: string } {
  for (const rustc of [process.env.RUSTC, 'rustc', '/usr/bin/rustc']) {
    if (!rustc) continue;
    const r = spawnSync(rustc, ['--print', 'sysroot'], { encoding: 'utf8' });
    if (r.status === 0 && existsSync(join(r.stdout.trim(), 'lib/rustlib/wasm32-wasi'))) return { rustc };
  }
  return { problem: 'no rustc with the wasm32-wasi standard library (tried $RUSTC, rustc, /usr/bin/rustc)' };
}

function skipped(what: string, problem: string | undefined): void {
  if (!problem) return;
  const banner = '='.repeat(100);
  console.warn(`${banner}\nWASI ${what} CONFORMANCE TESTS SKIPPED: ${problem}\nInstall: ${INSTALL}\n${banner}`);
  if (process.env.CI === 'true') {
    describe(`WASI conformance (${what})`, () => {
      it(`has a wasm32-wasi ${what} toolchain (required under CI)`, async () => {
        expect.fail(`The ${what} toolchain is missing under CI=true: ${problem}`);
      });
    });
  }
}

const C_PROBLEM = cProblem();
const RUST = findRustc();
skipped('C', C_PROBLEM);
skipped('Rust', RUST.problem);

let work: string;
const wasm = new Map<Program, Uint8Array>();

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'lode-wasi-conformance-'));
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Runs compile jobs two at a time (the machine has two cores). */
async function compile(jobs: (() => Promise<unknown>)[]): Promise<void> {
  const worker = async () => {
    for (let job = jobs.shift(); job; job = jobs.shift()) await job();
  };
  await Promise.all([worker(), worker()]);
}

interface Case {
  args?: string[];
  env?: Record<string, string>;
  stdin?: Uint8Array;
  /** Input files, under /in. */
  files?: SandboxFile[];
  seed?: string;
  memoryMiB?: number;
}

/**
 * One worker with the pool's wall-time watchdog: a runaway program fails its test, not the run.
 * Every program also runs unmetered (`plain`): fuel metering must change nothing it does.
 */
const pool = createNodeSandbox({ workers: 1 });
const plain = createNodeSandbox({ workers: 1, metering: false });
afterAll(() => Promise.all([pool.close(), plain.close()]));

/** Everything a result says about what the program did, fuel aside. */
const outcome = (r: SandboxResult) => ({ ...r, durationMs: 0, fuelUsed: undefined, error: r.error && { code: r.error.code } });

/**
 * Runs the program's wasm in the sandbox, metered (as always in Lode) and unmetered, expects the
 * same result from both, and returns the metered one; argv is ["/in", "/out", ...args].
 */
async function sandbox(p: Program, c: Case = {}): Promise<SandboxResult> {
  const bin = wasm.get(p)!;
  const memoryMiB = c.memoryMiB ?? 32;
  inspectModule(bin); // what the gateway checks on upload
  for (const s of [pool, plain]) if (!s.hasModule(hashOf(bin))) await s.addModule(hashOf(bin), bin);
  const task: SandboxTask = makeTask(hashOf(bin), {
    args: ['/in', '/out', ...(c.args ?? [])],
    env: c.env ?? {},
    stdin: c.stdin ?? new Uint8Array(0),
    files: c.files ?? [],
    seed: c.seed ?? SEED_A,
    limits: { memoryMiB, wallMs: 10_000, maxOutputBytes: 4 << 20 },
  });
  const [metered, unmetered] = await Promise.all([pool.run(task), plain.run(task)]);
  expect(outcome(metered)).toEqual(outcome(unmetered));
  expect(metered.fuelUsed).toBeGreaterThan(0);
  expect(unmetered.fuelUsed).toBeUndefined();
  return metered;
}

interface NativeResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: Uint8Array;
  stderr: Uint8Array;
  /** The output directory's tree as the sandbox returns one (/out/... paths, sorted): files, symlinks, empty directories. */
  files: SandboxFile[];
}

/** Runs the native binary on fresh temp directories holding the same files; env is exactly `c.env`. */
function native(p: Program, c: Case = {}): NativeResult {
  const root = mkdtempSync(join(work, `${p}-`));
  const inDir = join(root, 'in');
  const outDir = join(root, 'out');
  mkdirSync(inDir);
  mkdirSync(outDir);
  for (const f of c.files ?? []) {
    const path = join(inDir, relative('/in', f.path));
    mkdirSync(dirname(path), { recursive: true });
    if (f.kind === 'dir') mkdirSync(path, { recursive: true });
    else if (f.kind === 'symlink') symlinkSync(text(f.data), path);
    else writeFileSync(path, f.data);
  }
  const r = spawnSync(join(work, p), [inDir, outDir, ...(c.args ?? [])], {
    input: c.stdin ?? new Uint8Array(0),
    env: c.env ?? {},
    timeout: 10_000,
  });
  if (r.error) throw r.error;
  const files: SandboxFile[] = [];
  const walk = (dir: string) => {
    const entries = readdirSync(dir, { withFileTypes: true });
    if (entries.length === 0 && dir !== outDir) files.push({ path: `/out/${relative(outDir, dir)}`, data: new Uint8Array(0), kind: 'dir' });
    for (const e of entries) {
      const path = join(dir, e.name);
      const guest = `/out/${relative(outDir, path)}`;
      if (e.isDirectory()) walk(path);
      else if (e.isSymbolicLink()) files.push({ path: guest, data: bytes(readlinkSync(path)), kind: 'symlink' });
      else files.push({ path: guest, data: new Uint8Array(readFileSync(path)) });
    }
  };
  walk(outDir);
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { exitCode: r.status, signal: r.signal, stdout: new Uint8Array(r.stdout), stderr: new Uint8Array(r.stderr), files };
}

const asText = (files: SandboxFile[]) => files.map((f) => [f.path, text(f.data)]);

/** Runs both and expects the same exit code, stdout, stderr and output files; returns the sandbox result. */
async function agree(p: Program, c: Case = {}): Promise<SandboxResult> {
  const s = await sandbox(p, c);
  const n = native(p, c);
  expect(s.error).toBeUndefined();
  expect(s.status).toBe('ok');
  expect(text(s.stdout)).toBe(text(n.stdout));
  expect(text(s.stderr)).toBe(text(n.stderr));
  expect(s.exitCode).toBe(n.exitCode);
  expect(s.files.map((f) => [f.path, f.kind])).toEqual(n.files.map((f) => [f.path, f.kind]));
  for (let i = 0; i < s.files.length; i++) expect(Buffer.from(s.files[i]!.data).equals(n.files[i]!.data), s.files[i]!.path).toBe(true);
  expect(s.deleted).toEqual([]);
  return s;
}

const pattern = (n: number) => new Uint8Array(n).map((_, i) => (i * 7 + (i >> 8)) & 0xff);
const INPUTS: SandboxFile[] = [
  { path: '/in/data.bin', data: pattern(4099) },
  { path: '/in/notes/lines.txt', data: bytes('first line\nsecond line\n\nfourth, after a blank\nno newline at the end') },
  { path: '/in/notes/more.txt', data: bytes('more') },
  { path: '/in/a/b/c/deep.txt', data: bytes('deep\n') },
  { path: '/in/empty.txt', data: new Uint8Array(0) },
];

/** INPUTS and three symlinks: to a file, to a directory, and to nothing. */
const LINKED_INPUTS: SandboxFile[] = [
  ...INPUTS,
  { path: '/in/link-to-data', data: bytes('data.bin'), kind: 'symlink' },
  { path: '/in/link-to-notes', data: bytes('notes'), kind: 'symlink' },
  { path: '/in/dangling', data: bytes('nowhere'), kind: 'symlink' },
];

describe.skipIf(C_PROBLEM !== undefined)('WASI conformance (C programs: sandbox vs native)', () => {
  beforeAll(async () => {
    await compile(
      PROGRAMS.flatMap((p) => [
        () => run(CLANG, [...WASM_FLAGS, '-o', join(work, `${p}.wasm`), join(SRC, `${p}.c`)]),
        () => run(CC, [...NATIVE_FLAGS, '-o', join(work, p), join(SRC, `${p}.c`)]),
      ]),
    );
    for (const p of PROGRAMS) wasm.set(p, new Uint8Array(readFileSync(join(work, `${p}.wasm`))));
  });

  it('hello: printf/puts/putchar to stdout, fputs/fprintf to stderr; captured stdio is not a tty', async () => {
    const s = await agree('hello');
    expect(text(s.stdout)).toMatch(/^hello from puts\nprintf: -42 42 beef -1234567 1099511627776 str c {2}3.14 6\.020000e\+23 0\.0001\|left {2}\|000077\n/);
    expect(text(s.stdout)).toContain('isatty(0)=0 isatty(1)=0 isatty(2)=0\n');
    expect(text(s.stderr)).toBe('to stderr via fputs\nfprintf to stderr: 7\n');
  });

  it('stdin: reads all of stdin in chunks, then sees EOF', async () => {
    const lines = Array.from({ length: 400 }, (_, i) => `line ${i}: ${'abcdefghij'.repeat(i % 7)}`).join('\n');
    const s = await agree('stdin', { stdin: bytes(lines) });
    expect(text(s.stdout)).toMatch(/^eof=1 error=0\nbytes=\d+ fnv1a=[0-9a-f]{8}\nLINE 0: \n/);
    expect(text(s.stdout)).toContain('read after eof: -1');
    await agree('stdin'); // empty stdin
    await agree('stdin', { stdin: pattern(70_000) }); // binary, with NULs
  });

  it('argsenv: argv and the environment (getenv, environ, setenv)', async () => {
    const s = await agree('argsenv', {
      args: ['plain', 'with spaces', '', 'ünïcødé ✓', '--flag=x=y'],
      env: { GREETING: 'hello there', ZED: 'last', ALPHA: '1', EMPTY: '', 'UTF8_✓': 'ja' },
    });
    expect(text(s.stdout)).toContain('argc=5 (past the directories)\nargv[1]=[plain] len=5\nargv[2]=[with spaces] len=11\nargv[3]=[] len=0\n');
    expect(text(s.stdout)).toContain('GREETING=hello there\nMISSING=(unset)\nenviron has 5 entries\n  ALPHA=1\n  EMPTY=\n');
    await agree('argsenv'); // no args, empty environment
  });

  it('files: fopen/fread/fwrite/fseek/ftell, append, r+, POSIX fds, and their errors', async () => {
    const s = await agree('files', { files: INPUTS });
    expect(s.files.map((f) => f.path)).toEqual(['/out/copy.txt', '/out/log.txt', '/out/posix.txt', '/out/result.bin']);
    expect(text(s.stdout)).toContain('data.bin size=4099\n');
    expect(text(s.stdout)).toContain('fwrite on read-only stream: wrote=0 ferror=1\n');
    expect(text(s.stdout)).toContain('lseek on stdin: -1 ESPIPE\n');
    expect(text(s.stdout)).toContain('fopen missing: NULL ENOENT\n');
  });

  it('dirs: readdir, mkdir/rename/unlink/rmdir/stat and the errno of each failure', async () => {
    const s = await agree('dirs', { files: INPUTS });
    const out = text(s.stdout);
    expect(out).toContain('in: 4 entries (+2 dot entries)\n  a/\n  data.bin (4099 bytes)\n  empty.txt (0 bytes)\n  notes/\n');
    expect(out).toContain('mkdir sub again: EEXIST\n');
    expect(out).toContain('rename missing: ENOENT\n');
    expect(out).toContain('unlink a directory: EISDIR\n');
    expect(out).toContain('rmdir non-empty: ENOTEMPTY\n');
    expect(out).toContain('rmdir a file: ENOTDIR\n');
    expect(out).toContain('open directory for writing: EISDIR\n');
    expect(asText(s.files)).toEqual([
      ['/out/moved/b.txt', 'bravo bravo\n'],
      ['/out/sub/new-name.txt', 'renamed content\n'],
      ['/out/victim.txt', 'alpha\n'],
    ]);
  });

  it('walk: big directories (readdir + unlink, rewinddir, scandir), chdir/getcwd and relative paths, a 1 MiB file', async () => {
    const s = await agree('walk', { files: INPUTS });
    const out = text(s.stdout);
    expect(out).toContain('many: 302 entries with dots\nrewinddir: 150 then 302\nremoved 200, left 102 with dots\n');
    expect(out).toContain('scandir notes/*.txt: 2: lines.txt more.txt\n');
    expect(out).toContain('cwd is out: 1\n');
    expect(out).toContain('chdir missing: ENOENT\nchdir to a file: ENOTDIR\n');
    expect(out).toMatch(/big\.bin 1048576 bytes/);
    expect(s.files.find((f) => f.path === '/out/rel/relative.txt')).toBeDefined();
    expect(s.files.filter((f) => f.path.startsWith('/out/many/'))).toHaveLength(100);
  });

  it('links: symlinks (read, followed, dangling, loops, to directories), hard links and nlink; the tree left comes back as a tree', async () => {
    const tree: SandboxFile[] = [...LINKED_INPUTS, { path: '/in/empty-dir', data: new Uint8Array(0), kind: 'dir' }];
    const s = await agree('links', { files: tree });
    const out = text(s.stdout);
    expect(out).toContain(
      'in/link-to-data: -> data.bin\nin/link-to-data: lstat link, stat file\nin/link-to-notes: lstat link, stat dir\nin/dangling: lstat link, stat ENOENT\n',
    );
    expect(out).toContain('in/empty-dir entries with dots: 2\n');
    expect(out).toContain('open link O_NOFOLLOW: ELOOP\nopen link O_CREAT|O_EXCL: EEXIST\n');
    expect(out).toContain('open a loop: ELOOP\n');
    expect(out).toContain('link a directory: EPERM\n');
    expect(out).toContain('target.txt nlink=2\n');
    expect(s.files.map((f) => [f.path, f.kind ?? 'file', f.kind === 'symlink' ? text(f.data) : ''])).toEqual([
      ['/out/created.txt', 'file', ''],
      ['/out/dangling', 'symlink', 'created.txt'],
      ['/out/dir-link', 'symlink', 'real-dir'],
      ['/out/hard.txt', 'file', ''],
      ['/out/left-empty', 'dir', ''],
      ['/out/real-dir/inside.txt', 'file', ''],
      ['/out/real-dir/up', 'symlink', '../target.txt'],
      ['/out/renamed-link', 'symlink', 'target.txt'],
    ]);
  });

  it('links: a symlink that leaves its mount is kept, but following it is NOTCAPABLE (as in wasmtime)', async () => {
    const s = await sandbox('links', {
      files: [
        ...INPUTS,
        { path: '/in/link-to-data', data: bytes('/etc/passwd'), kind: 'symlink' },
        { path: '/in/link-to-notes', data: bytes('../../etc'), kind: 'symlink' },
      ],
    });
    expect(text(s.stdout)).toContain(
      'in/link-to-data: -> /etc/passwd\nin/link-to-data: lstat link, stat ENOTCAPABLE\nin/link-to-notes: lstat link, stat ENOTCAPABLE\n',
    );
  });

  it('sockets: no descriptor is a socket (ENOTSOCK, EBADF when closed); poll finds files ready and sleeps on a timeout', async () => {
    const s = await agree('sockets', { files: INPUTS });
    expect(text(s.stdout)).toBe(
      [
        'open data.bin: OK',
        'shutdown a file: ENOTSOCK',
        'shutdown a closed fd: EBADF',
        'recv on a file: ENOTSOCK',
        'recv on a closed fd: EBADF',
        'send on a file: ENOTSOCK',
        'send on a closed fd: EBADF',
        'accept on a file: ENOTSOCK',
        'accept on a closed fd: EBADF',
        'poll a file for reading: 1 ready, in=1',
        'poll a file for writing: 1 ready, out=1',
        'poll nothing for 30 ms: 0',
        '',
      ].join('\n'),
    );
  });

  it('readonly: every change to /in fails with EROFS (EXDEV across mounts), reads still work, nothing outside the mounts is reachable', async () => {
    // Not compared natively: the suite may run as root, for whom a read-only directory is writable.
    // A read-only mount on Linux gives exactly these errnos; WASI's `rofs` is that errno.
    const s = await sandbox('readonly', { files: INPUTS });
    expect(s.status).toBe('ok');
    expect(s.exitCode).toBe(0);
    expect(text(s.stdout)).toBe(
      [
        'fopen new file w: EROFS',
        'fopen existing w: EROFS',
        'fopen existing a: EROFS',
        'fopen existing r+: EROFS',
        'open O_RDONLY|O_TRUNC: EROFS',
        'mkdir: EROFS',
        'unlink: EROFS',
        'rmdir: EROFS',
        'rename within in: EROFS',
        'rename in -> out: EXDEV',
        'truncate: EROFS',
        'fopen r (reading is fine): OK',
        // wasi-libc answers ENOTCAPABLE for a path under no preopen; the sandbox for `..` above a mount.
        'fopen /etc/passwd: ENOTCAPABLE',
        'fopen in/../../etc/passwd: ENOTCAPABLE',
        'fopen in/../out/x.txt for writing: ENOTCAPABLE',
        'opendir /: ENOTCAPABLE',
        'data.bin still 4099 bytes',
        '',
      ].join('\n'),
    );
    expect(s.files).toEqual([]);
  });

  it('timerand: clocks, sleep and randomness are the same for one seed, different for another', async () => {
    const a1 = await sandbox('timerand', { seed: SEED_A });
    const a2 = await sandbox('timerand', { seed: SEED_A });
    const b = await sandbox('timerand', { seed: SEED_B });
    for (const r of [a1, a2, b]) expect(r).toMatchObject({ status: 'ok', exitCode: 0 });
    expect(text(a2.stdout)).toBe(text(a1.stdout));
    expect(a2.resultHash).toBe(a1.resultHash);
    expect(a2.fuelUsed).toBe(a1.fuelUsed);

    const parse = (out: string) => {
      const m = out.match(
        /^realtime=(\d+)\.(\d{9}) time=(\d+) gettimeofday=(\d+)\.(\d{6})\nmonotonic=(\d+) then (\d+)\nclock_getres\(MONOTONIC\)=0\nslept_ms=(\d+)\ndate=(\S+)\ngetentropy=0 bytes=([0-9a-f]{64})\nrand=(\d+) (\d+) (\d+)\n$/,
      );
      expect(m, out).not.toBeNull();
      const [, rts, , time, tvs, , m1, m2, slept, date, entropy, ...rand] = m!;
      return { rts: +rts!, time: +time!, tvs: +tvs!, m1: BigInt(m1!), m2: BigInt(m2!), slept: +slept!, date, entropy, rand };
    };
    const pa = parse(text(a1.stdout));
    const pb = parse(text(b.stdout));
    // A plausible wall clock, consistent across clock_gettime, time() and gettimeofday.
    expect(pa.rts).toBeGreaterThan(1_700_000_000);
    expect(pa.time - pa.rts).toBeLessThanOrEqual(1);
    expect(pa.tvs - pa.time).toBeLessThanOrEqual(1);
    expect(pa.date).toBe(new Date(pa.time * 1000).toISOString().replace(/\.\d+Z$/, 'Z'));
    expect(pa.m2).toBeGreaterThan(pa.m1);
    // Sleeps advance virtual time by what was asked (270 ms), at no real cost.
    expect(pa.slept).toBeGreaterThanOrEqual(270);
    expect(pa.slept).toBeLessThan(275);
    // Another seed: another wall clock, other entropy, other rand() sequence (seeded from time and entropy).
    expect(pb.rts).not.toBe(pa.rts);
    expect(pb.entropy).not.toBe(pa.entropy);
    expect(pb.rand).not.toEqual(pa.rand);

    // The native build prints the same shape (real time, real entropy).
    const n = native('timerand');
    expect(n.exitCode).toBe(0);
    const pn = parse(text(n.stdout));
    expect(pn.slept).toBeGreaterThanOrEqual(270);
    expect(Math.abs(pn.time - Date.now() / 1000)).toBeLessThan(60);
  });

  it('exits: return 0, return 3, exit(7) flushing buffered stdout', async () => {
    expect(text((await agree('exits', { args: ['return0'] })).stdout)).toBe('returning 0');
    expect((await agree('exits', { args: ['return3'] })).exitCode).toBe(3);
    const s = await agree('exits', { args: ['exit7'] });
    expect(s.exitCode).toBe(7);
    expect(text(s.stdout)).toBe('exiting with 7, buffered');
    expect(text(s.stderr)).toBe('stderr before exit\n');
  });

  it('exits: __builtin_trap and abort() fail with SANDBOX_TRAP, keeping what was written (native: a signal)', async () => {
    for (const [mode, signal] of [
      ['trap', 'SIGILL'],
      ['abort', 'SIGABRT'],
    ] as const) {
      const s = await sandbox('exits', { args: [mode] });
      const n = native('exits', { args: [mode] });
      expect(n.signal).toBe(signal);
      expect(s).toMatchObject({ status: 'failed', exitCode: null, error: { code: 'SANDBOX_TRAP' } });
      expect(s.error?.message).toMatch(/unreachable/);
      // Unflushed stdio buffers are lost, as they are natively.
      expect(text(s.stdout)).toBe(text(n.stdout));
      expect(text(s.stderr)).toBe(text(n.stderr));
    }
  });

  it('exits: a huge malloc returns NULL (ENOMEM) under a small memory cap, and the program carries on', async () => {
    const s = await agree('exits', { args: ['huge-malloc'], memoryMiB: 4 });
    expect(text(s.stdout)).toBe('huge malloc: NULL ENOMEM\nsmall malloc after: ok\n');
  });

  it('exits: a task leaving more entries than a result may list (10,001 empty files) fails with SANDBOX_OUTPUT_LIMIT, saying what to do', async () => {
    const s = await sandbox('exits', { args: ['many-files'] });
    expect(s).toMatchObject({ status: 'failed', error: { code: 'SANDBOX_OUTPUT_LIMIT' } });
    expect(s.error?.message).toBe(
      'The task left 10001 changed entries (files, symlinks, empty directories); a result may list at most 10000. Write fewer, larger files (an archive, say).',
    );
    expect(s.files).toEqual([]);
  });

  it('exits: allocating until malloc gives up fails the task with SANDBOX_MEMORY_LIMIT', async () => {
    // Not run natively (it would exhaust the host). The cap is exact: past 4 MiB the task fails.
    const s = await sandbox('exits', { args: ['exhaust'], memoryMiB: 4 });
    expect(s).toMatchObject({ status: 'failed', exitCode: null, error: { code: 'SANDBOX_MEMORY_LIMIT' } });
    expect(s.error?.message).toMatch(/cap of 64 pages/);
  });

  it('extra mounts: a writable /scratch and a read-only /data work like /out and /in', async () => {
    const files = INPUTS.map((f) => ({ ...f, path: f.path.replace(/^\/in\//, '/data/') }));
    const mounts = [
      { guest: '/data', writable: false },
      { guest: '/scratch', writable: true },
    ];
    const bin = wasm.get('files')!;
    if (!pool.hasModule(hashOf(bin))) await pool.addModule(hashOf(bin), bin);
    const viaMounts = await pool.run(
      makeTask(hashOf(bin), { args: ['/data', '/scratch'], files, mounts, limits: { memoryMiB: 32, wallMs: 10_000, maxOutputBytes: 4 << 20 } }),
    );
    const viaInOut = await sandbox('files', { files: INPUTS });
    expect(viaMounts.status).toBe('ok');
    expect(text(viaMounts.stdout)).toBe(text(viaInOut.stdout));
    expect(asText(viaMounts.files)).toEqual(asText(viaInOut.files).map(([p, d]) => [p!.replace(/^\/out\//, '/scratch/'), d]));
  });
});

describe.skipIf(RUST.rustc === undefined)('WASI conformance (Rust std: sandbox vs native)', () => {
  beforeAll(async () => {
    const src = join(HERE, 'rust', 'conformance.rs');
    // Distinct output stems: rustc names its intermediate objects after the output file.
    await compile([
      () => run(RUST.rustc!, ['--target', 'wasm32-wasi', '-O', '-C', 'strip=debuginfo', '-o', join(work, 'rust-wasi.wasm'), src]),
      () => run(RUST.rustc!, ['-O', '-o', join(work, 'rust'), src]),
    ]);
    wasm.set('rust', new Uint8Array(readFileSync(join(work, 'rust-wasi.wasm'))));
  });

  const lines = 'the quick brown fox\njumps over\n\nthe lazy dog\n';

  it('args, env, stdin, fs reads/writes/renames/removals, error kinds, time and sleep, exit code', async () => {
    const c: Case = { args: ['exit9'], env: { GREETING: 'hi there', OTHER: 'x=y' }, stdin: bytes(lines), files: INPUTS };
    const s = await agree('rust', c);
    expect(s.exitCode).toBe(9);
    const out = text(s.stdout);
    expect(out).toContain('stdin: 45 bytes, 4 lines, 9 words\n');
    expect(out).toContain('open missing: No such file or directory\ncreate_dir existing: File exists\n');
    expect(out).toContain('remove_dir non-empty: Directory not empty\nread_dir of a file: Not a directory\n');
    expect(out).toContain('plausible time: true, slept >= 30ms: true\n');
    expect(s.files.map((f) => f.path)).toEqual(['/out/a/b/c/deep.txt', '/out/a/renamed.txt', '/out/log.txt', '/out/seek.bin']);
    await agree('rust', { files: INPUTS }); // exits 0, no stdin, empty environment
  });

  it('links: symlinks in the input read and followed, hard links, an empty directory left behind', async () => {
    const s = await agree('rust', { args: ['links'], files: LINKED_INPUTS });
    const out = text(s.stdout);
    expect(out).toContain('read_link link-to-data: Ok("data.bin")\nsymlink_metadata: symlink true, len 8\nmetadata through it: file true, len 4099\n');
    expect(out).toContain('read through a directory link: Ok("more")\n');
    expect(out).toContain('symlinks in the input: 3\nhard_link log.txt: ok\nhard_link a directory: Operation not permitted\n');
    expect(s.files.map((f) => [f.path, f.kind ?? 'file'])).toContainEqual(['/out/kept-empty', 'dir']);
    expect(text(s.files.find((f) => f.path === '/out/log-hard.txt')!.data)).toBe('round 0\nround 1\nround 2\nthrough the hard link\n');
  });

  it('a panic: SANDBOX_TRAP in the sandbox (wasm32-wasi std aborts on panic), exit 101 natively, same message', async () => {
    const s = await sandbox('rust', { args: ['panic'], files: INPUTS });
    const n = native('rust', { args: ['panic'], files: INPUTS });
    expect(n.exitCode).toBe(101);
    expect(s).toMatchObject({ status: 'failed', error: { code: 'SANDBOX_TRAP' } });
    expect(text(s.stdout)).toBe(text(n.stdout));
    for (const r of [s, n]) expect(text(r.stderr)).toMatch(/panicked at 'deliberate panic'/);
  });
});
