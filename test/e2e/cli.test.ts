/**
 * The `lode` CLI end to end on a real network: one gateway and two nodes started with the CLI,
 * every command run as a user would run it (a child process, real sockets), and every answer
 * checked against an independent computation (the reference implementations in
 * @lode/workloads, pngjs to decode images) — never against the CLI's own helpers.
 */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reference } from '@lode/workloads';
import { Cluster, ROOT, lode, lodeRun, waitFor, type Proc } from '../support/cluster.js';
import { pidsWithArg } from '../support/procs.js';
import { COPY_DATA_A_TO_B, watToWasm } from '../support/wat.js';
import { MODULES } from '../../packages/sandbox/test/helpers.js';

const wasm = (name: string) => join(ROOT, 'workloads/build', `${name}.wasm`);

let cluster: Cluster;
let tmp: string;
/** The requester's keystore for every `lode run` in this file (created on first use). */
let requesterDir: string;
/** Jobs this file submitted, by what they ran, for the `lode job` checks. */
const jobs: Record<string, string> = {};

beforeAll(async () => {
  cluster = await new Cluster({ nodes: 2 }).start();
  tmp = await mkdtemp(join(tmpdir(), 'lode-cli-e2e-'));
  requesterDir = join(tmp, 'requester');
});
afterAll(async () => {
  await cluster?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/** `lode --gateway <cluster> --data-dir <requester> ...args` (global flags first: after `--` they would be module args). */
function cli(args: string[], opts: { dataDir?: string; gateway?: string } = {}) {
  return lodeRun(['--gateway', opts.gateway ?? cluster.url, '--data-dir', opts.dataDir ?? requesterDir, ...args]);
}

/** A fresh directory under the test's temp dir. */
async function dir(name: string): Promise<string> {
  const path = join(tmp, name);
  await mkdir(path, { recursive: true });
  return path;
}

/** What a `--json` command printed on stdout, parsed (with the output in the error if it is not JSON). */
function jsonOf<T = Record<string, unknown>>(run: { stdout: string; stderr: string }): T {
  try {
    return JSON.parse(run.stdout) as T;
  } catch {
    throw new Error(`stdout is not JSON:\n${run.stdout}\nstderr:\n${run.stderr}`);
  }
}

interface RunJson {
  jobId: string;
  status: string;
  counts: { queued: number; leased: number; done: number; failed: number; cancelled: number };
  durationMs: number;
  outputs: string[];
  answer?: unknown;
  results?: Array<{
    index: number;
    status: string;
    exitCode: number | null;
    stdout: string;
    stdoutEncoding?: 'base64';
    stderr: string;
    stderrEncoding?: 'base64';
    files: { path: string; size: number }[];
  }>;
}

describe('lode run: built-in workloads', () => {
  it('renders mandelbrot in 16 tiles into a PNG whose pixels equal a single-pass reference render', async () => {
    // A non-square size that the 4×4 grid does not divide evenly, so a tiling mistake shows.
    const [width, height, maxIter] = [301, 157, 200];
    const out = join(tmp, 'mandelbrot');
    const run = await cli(['run', 'mandelbrot', '--tasks', '16', '--out', out, '--', String(width), String(height), String(maxIter)]);
    expect(run.code, run.stderr).toBe(0);
    const path = join(out, 'mandelbrot.png');
    expect(run.stdout).toContain(path);
    expect(run.stderr).toMatch(/job [0-9a-f]{32}: 16 task\(s\) of mandelbrot/);
    jobs.mandelbrot = /job ([0-9a-f]{32})/.exec(run.stderr)![1]!;

    const png = PNG.sync.read(await readFile(path));
    expect([png.width, png.height]).toEqual([width, height]);
    // The whole image as one tile: independent of how the CLI split and stitched it.
    const expected = reference.mandelbrotTile({ width, height, maxIter }, { x: 0, y: 0, w: width, h: height });
    const gray = new Uint8Array(width * height);
    for (let i = 0; i < gray.length; i++) gray[i] = png.data[i * 4]!; // pngjs decodes to RGBA; gray → r = g = b
    let firstDiff = -1;
    for (let i = 0; i < gray.length && firstDiff < 0; i++) if (gray[i] !== expected[i]) firstDiff = i;
    expect(firstDiff, `first differing pixel at (${firstDiff % width}, ${Math.floor(firstDiff / width)})`).toBe(-1);
    expect(new Set(gray).size).toBeGreaterThan(20); // a real picture, not a blank one
  });

  it('counts primes in [0, 100000) over 8 tasks; the --json summary says completed and matches a sieve', async () => {
    // Flags go before `--`: everything after it is passed to the module.
    const run = await cli(['run', 'primes', '--tasks', '8', '--json', '--', '0', '100000']);
    expect(run.code, run.stderr).toBe(0);
    const summary = jsonOf<RunJson>(run);
    expect(summary.status).toBe('completed');
    expect(summary.counts).toMatchObject({ done: 8, failed: 0, queued: 0, leased: 0 });
    expect(summary.answer).toEqual({ count: String(reference.primesCount(0, 100_000)), lo: '0', hi: '100000' });
    expect(summary.jobId).toMatch(/^[0-9a-f]{32}$/);
    jobs.primes = summary.jobId;

    const human = await cli(['run', 'primes', '--tasks', '8', '--', '0', '100000']);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toBe(`${reference.primesCount(0, 100_000)} primes in [0, 100000)\n`);
  });
});

describe('lode run: a module file', () => {
  it('runs wordcount.wasm once per --input file, each task counting exactly its own file', async () => {
    const a = join(tmp, 'a.txt');
    const b = join(tmp, 'b.txt');
    const textA = "It's the 2nd test: naïve words, 'quoted' ones, numbers 42 and 042. The END.\n";
    // Larger than the 64 KiB inline-stdin limit, so this input travels as a blob.
    const textB = Array.from({ length: 6000 }, (_, i) => `line ${i % 97} of b, don't stop ${i % 13}\n`).join('');
    await writeFile(a, textA);
    await writeFile(b, textB);
    expect(Buffer.byteLength(textB)).toBeGreaterThan(64 * 1024);

    const run = await cli(['run', wasm('wordcount'), '--input', a, '--input', b, '--json']);
    expect(run.code, run.stderr).toBe(0);
    const summary = jsonOf<RunJson>(run);
    expect(summary.status).toBe('completed');
    expect(summary.counts.done).toBe(2);
    jobs.wordcount = summary.jobId;
    const byIndex = [...summary.results!].sort((x, y) => x.index - y.index);
    expect(byIndex.map((r) => r.index)).toEqual([0, 1]);
    for (const [i, text] of [textA, textB].entries()) {
      expect(byIndex[i]!.status).toBe('done');
      expect(byIndex[i]!.exitCode).toBe(0);
      expect(byIndex[i]!.stdout, `task ${i}`).toBe(reference.formatWordcount(reference.wordcount(new TextEncoder().encode(text))));
    }
  });

  it("behaves like wasmtime for one task: the module's stdout, stderr and exit code become the CLI's", async () => {
    const run = await cli(['run', wasm('bad-exit3')]);
    expect(run.code).toBe(3);
    expect(run.stdout).toBe('exiting with code 3\n');
    expect(run.stderr).toContain('exit3: failing on purpose\n');
  });

  it('passes the arguments after -- to the module', async () => {
    const run = await cli(['run', wasm('echo'), '--', 'hello', 'world']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe('hello world'); // echo adds no newline
    expect(run.stderr).toBe('');
  });

  it('passes --env to the module (mandelbrot writes its tile to the file MANDELBROT_OUT names) and saves files under --out', async () => {
    const out = join(tmp, 'env-out');
    const [w, h, maxIter] = [64, 48, 100];
    const run = await cli([
      'run',
      wasm('mandelbrot'),
      '--env',
      'MANDELBROT_OUT=/out/tile.raw',
      '--out',
      out,
      '--',
      String(w),
      String(h),
      '0',
      '0',
      String(w),
      String(h),
      String(maxIter),
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe(''); // the tile went to the file, not to stdout
    const tile = new Uint8Array(await readFile(join(out, 'out/tile.raw')));
    expect(tile).toEqual(reference.mandelbrotTile({ width: w, height: h, maxIter }, { x: 0, y: 0, w, h }));
  });

  it('gives binary stdout in --json as base64 with stdoutEncoding, byte for byte (mandelbrot writes its raw tile)', async () => {
    const [w, h, maxIter] = [64, 48, 100];
    const run = await cli(['run', wasm('mandelbrot'), '--json', '--', String(w), String(h), '0', '0', String(w), String(h), String(maxIter)]);
    expect(run.code, run.stderr).toBe(0);
    const [result] = jsonOf<RunJson>(run).results!;
    const expected = reference.mandelbrotTile({ width: w, height: h, maxIter }, { x: 0, y: 0, w, h });
    expect(() => new TextDecoder('utf-8', { fatal: true }).decode(expected)).toThrow(); // really not text
    expect(result!.stdoutEncoding).toBe('base64');
    expect(new Uint8Array(Buffer.from(result!.stdout, 'base64'))).toEqual(expected);
    expect(result!.stderrEncoding).toBeUndefined(); // empty stderr is (empty) text
  });

  it('passes arguments after -- and --env values exactly as given: spaces, quotes, newlines, =, empty', async () => {
    const module = join(tmp, 'args-env.wasm');
    await writeFile(module, await watToWasm(MODULES.argsEnv, 'args-env.wat'));
    const value = `x y "double" 'single'\nsecond line = more`;
    const run = await cli(['run', module, '--env', `V=${value}`, '--env', 'EMPTY=', '--', 'a b', '--not-a-flag', '', 'x=y']);
    expect(run.code, run.stderr).toBe(0);
    // The module writes argv, then the environment, each string NUL-terminated.
    const strings = run.stdout.split('\0');
    expect(strings.slice(1, 5)).toEqual(['a b', '--not-a-flag', '', 'x=y']); // argv[0] is the module's name
    expect(strings.slice(5, 7).sort()).toEqual(['EMPTY=', `V=${value}`]);
  });

  it('uploads a --dir to a writable mount and brings back the files the module changed', async () => {
    const module = join(tmp, 'copy.wasm');
    await writeFile(module, await watToWasm(COPY_DATA_A_TO_B, 'copy.wat'));
    const data = await dir('data');
    const content = `copied by a module on a Lode node: ${'x'.repeat(5000)}\n`;
    await writeFile(join(data, 'a.txt'), content);
    const out = join(tmp, 'dir-out');

    const run = await cli(['run', module, '--dir', `${data}::/data`, '--out', out]);
    expect(run.code, `exit ${run.code}; stderr: ${run.stderr}`).toBe(0);
    expect(await readFile(join(out, 'data/b.txt'), 'utf8')).toBe(content);
    expect(existsSync(join(out, 'data/a.txt'))).toBe(false); // unchanged inputs are not written back
    expect(existsSync(join(data, 'b.txt'))).toBe(false); // the host directory itself is left alone

    // Without --out the CLI lists what changed instead.
    const listed = await cli(['run', module, '--dir', `${data}::/data`]);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stderr).toContain('/data/b.txt');
    expect(listed.stderr).toContain('--out');
  });
});

/**
 * Real C programs — the sandbox conformance suite's, which compare the sandbox with native builds
 * — run unchanged through `lode run` as wasmtime's users run them: the host tree mounted at the
 * guest root (`--dir HOST::/`), arguments after `--`. Each must print what its native build
 * prints on a copy of the same tree, and leave the same tree (files, symlinks, empty
 * directories) — which comes back under --out.
 */
describe('lode run: real programs unchanged, against their native builds', () => {
  const SRC = join(ROOT, 'packages/sandbox/test/conformance/c');
  const sysroot = ['/usr/share/wasi-sysroot', process.env.WASI_SYSROOT].find((p) => p && existsSync(p));
  const clang = spawnSync(process.env.CLANG ?? 'clang', ['--version']).status === 0;
  if (!clang) console.warn('lode run real-program tests need clang for wasm32-wasi (apt-get install clang lld wasi-libc libclang-rt-dev-wasm32)');
  const build = promisify(execFile);
  /** A rustc with the wasm32-wasi std (Debian's; rustup's may lack the target). */
  const rustc = [process.env.RUSTC, 'rustc', '/usr/bin/rustc'].find((r) => {
    const sysroot = r && spawnSync(r, ['--print', 'sysroot'], { encoding: 'utf8' });
    return sysroot && sysroot.status === 0 && existsSync(join(sysroot.stdout.trim(), 'lib/rustlib/wasm32-wasi'));
  });

  /** Builds `name` (a C program, or `rust`: the Rust conformance program) for wasm32-wasi and natively. */
  async function compile(name: string, work: string): Promise<void> {
    if (name === 'rust') {
      if (!rustc) throw new Error('no rustc with the wasm32-wasi std (apt-get install rustc libstd-rust-dev-wasm32)');
      const src = join(SRC, '../rust/conformance.rs');
      await build(rustc, ['--target', 'wasm32-wasi', '-O', '-o', join(work, 'rust.wasm'), src]);
      await build(rustc, ['-O', '-o', join(work, 'rust'), src]);
      return;
    }
    const flags = ['-O2', '-Wall', '-Wno-unused-parameter'];
    await build(process.env.CLANG ?? 'clang', [
      '--target=wasm32-wasi',
      ...(sysroot ? [`--sysroot=${sysroot}`] : []),
      ...flags,
      '-o',
      join(work, `${name}.wasm`),
      join(SRC, `${name}.c`),
    ]);
    await build(process.env.CC ?? 'cc', [...flags, '-o', join(work, name), join(SRC, `${name}.c`)]);
  }

  /** A tree like the conformance suite's inputs, with symlinks and an empty directory, under `<root>/work/in`; `<root>/work/out` empty. */
  async function tree(root: string): Promise<void> {
    const inDir = join(root, 'work/in');
    await mkdir(join(inDir, 'notes'), { recursive: true });
    await mkdir(join(inDir, 'a/b/c'), { recursive: true });
    await mkdir(join(inDir, 'empty-dir'));
    await mkdir(join(root, 'work/out'));
    await writeFile(
      join(inDir, 'data.bin'),
      new Uint8Array(4099).map((_, i) => (i * 7 + (i >> 8)) & 0xff),
    );
    await writeFile(join(inDir, 'notes/lines.txt'), 'first line\nsecond line\n');
    await writeFile(join(inDir, 'notes/more.txt'), 'more');
    await writeFile(join(inDir, 'a/b/c/deep.txt'), 'deep\n');
    await writeFile(join(inDir, 'empty.txt'), '');
    await symlink('data.bin', join(inDir, 'link-to-data'));
    await symlink('notes', join(inDir, 'link-to-notes'));
    await symlink('nowhere', join(inDir, 'dangling'));
  }

  /** A directory's tree by lstat: files with their bytes, symlinks with their target, empty directories. */
  async function listing(dir: string, at = ''): Promise<string[]> {
    const out: string[] = [];
    // Nothing came back at all (the program wrote nothing): an empty listing, as for an empty directory.
    const names = (await readdir(join(dir, at)).catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' && !at ? [] : Promise.reject(e)))).sort();
    if (names.length === 0 && at) out.push(`${at}/ (empty directory)`);
    for (const name of names) {
      const path = at ? `${at}/${name}` : name;
      const info = await lstat(join(dir, path));
      if (info.isSymbolicLink()) out.push(`${path} -> ${await readlink(join(dir, path))}`);
      else if (info.isDirectory()) out.push(...(await listing(dir, path)));
      else out.push(`${path}: ${(await readFile(join(dir, path))).toString('base64')}`);
    }
    return out;
  }

  // One program per preview1 family: args/environ, fd_*, path_*, symlinks and links, sockets and poll, proc_exit.
  // Skipped only outside CI on a machine without clang (the warning above says what to install);
  // under CI=true they always run, and fail if .ci/run could not install the toolchain.
  it.skipIf(!clang && process.env.CI !== 'true').each([
    ['hello', []],
    ['argsenv', ['plain', 'with spaces', '', '--flag=x=y']],
    ['files', []],
    ['dirs', []],
    ['links', []],
    ['sockets', []],
    ['exits', ['exit7']],
    ['rust', ['links']],
  ])('%s %j: the same output, exit code and tree as natively', async (name, args) => {
    const work = await dir(`real-${name}`);
    await compile(name, work);
    const [host, native, pristine, out] = ['host', 'native', 'pristine', 'out'].map((d) => join(work, d)) as [string, string, string, string];
    for (const root of [host, native, pristine]) await tree(root);

    const run = await cli(['run', join(work, `${name}.wasm`), '--dir', `${host}::/`, '--out', out, '--', '/work/in', '/work/out', ...args]);
    const want = spawnSync(join(work, name), [join(native, 'work/in'), join(native, 'work/out'), ...args], { encoding: 'utf8', env: {} });
    expect(run.stdout).toBe(want.stdout);
    expect(run.stderr.startsWith(want.stderr), run.stderr).toBe(true); // the CLI may add its own lines after the module's
    expect(run.code, run.stderr).toBe(want.status);
    expect(await listing(join(out, 'work/out'))).toEqual(await listing(join(native, 'work/out')));
    expect(await listing(host)).toEqual(await listing(pristine)); // the host tree itself is left alone
  });
});

describe('lode run: bad input', () => {
  it('refuses a file that is not WebAssembly with INVALID_MODULE and says what to upload', async () => {
    const notWasm = join(tmp, 'not-a-module.wasm');
    await writeFile(notWasm, '(module) ;; text format, not a binary\n');
    const run = await cli(['run', notWasm]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^error \[INVALID_MODULE\]: /m);
    expect(run.stderr).toMatch(/Upload the compiled \.wasm file/);
    expect(run.stderr).not.toMatch(/at .*\.js:\d+/); // no stack trace
  });

  it('reports a trapping module with SANDBOX_TRAP and exit 1, after the output it wrote', async () => {
    const run = await cli(['run', wasm('bad-trap')]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('about to trap\n');
    expect(run.stderr).toMatch(/error \[SANDBOX_TRAP\]: /);
    const id = /lode job show ([0-9a-f]{32}) --tasks/.exec(run.stderr)?.[1];
    expect(id, run.stderr).toBeDefined();
    jobs.trap = id!;
  });

  it('reports an unknown job id with NOT_FOUND and exit 1 (as JSON on stdout under --json)', async () => {
    const run = await cli(['job', 'show', '0123456789abcdef0123456789abcdef']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^error \[NOT_FOUND\]: .*0123456789abcdef0123456789abcdef/m);
    const json = await cli(['job', 'show', '0123456789abcdef0123456789abcdef', '--json']);
    expect(json.code).toBe(1);
    expect(jsonOf<{ error: { code: string } }>(json).error.code).toBe('NOT_FOUND');
  });

  it('reports an unreachable gateway with GATEWAY_UNAVAILABLE and a hint to start `lode up`', async () => {
    const run = await cli(['run', 'echo', '--', 'hi'], { gateway: 'http://127.0.0.1:1' });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^error \[GATEWAY_UNAVAILABLE\]: .*127\.0\.0\.1:1/m);
    expect(run.stderr).toContain('lode up');
  });
});

describe('lode job and lode nodes on the jobs just run', () => {
  it('lists every job this file submitted, newest first', async () => {
    const run = await cli(['job', 'ls', '--json']);
    expect(run.code, run.stderr).toBe(0);
    const { jobs: listed } = jsonOf<{ jobs: Array<{ id: string; status: string; createdAt: number; taskCount: number }> }>(run);
    const ids = listed.map((j) => j.id);
    for (const [what, id] of Object.entries(jobs)) expect(ids, what).toContain(id);
    const created = listed.map((j) => j.createdAt);
    expect(created).toEqual([...created].sort((x, y) => y - x));
    expect(listed.find((j) => j.id === jobs.trap)?.status).toBe('failed');
    expect(listed.find((j) => j.id === jobs.mandelbrot)).toMatchObject({ status: 'completed', taskCount: 16 });

    const failed = jsonOf<{ jobs: Array<{ id: string; status: string }> }>(await cli(['job', 'ls', '--status', 'failed', '--json']));
    expect(failed.jobs.map((j) => j.id)).toContain(jobs.trap);
    expect(failed.jobs.every((j) => j.status === 'failed')).toBe(true);
  });

  it('shows one job and its tasks', async () => {
    const run = await cli(['job', 'show', jobs.wordcount!, '--tasks', '--json']);
    expect(run.code, run.stderr).toBe(0);
    const { job, tasks } = jsonOf<{ job: Record<string, unknown>; tasks: Array<{ index: number; status: string; attempts: number; node: string | null }> }>(
      run,
    );
    expect(job).toMatchObject({ id: jobs.wordcount, name: 'wordcount', status: 'completed', taskCount: 2, counts: { done: 2, failed: 0 } });
    expect(tasks.map((t) => [t.index, t.status])).toEqual([
      [0, 'done'],
      [1, 'done'],
    ]);
    for (const t of tasks) expect(t.node).toMatch(/^0x[0-9a-f]{40}$/);

    const trap = jsonOf<{ tasks: Array<{ status: string; error: { code: string } | null }> }>(await cli(['job', 'show', jobs.trap!, '--tasks', '--json']));
    expect(trap.tasks[0]).toMatchObject({ status: 'failed', error: { code: 'SANDBOX_TRAP' } });
  });

  it("writes a job's results per task under --out, each equal to the reference for its input", async () => {
    const out = join(tmp, 'results');
    const run = await cli(['job', 'results', jobs.wordcount!, '--out', out]);
    expect(run.code, run.stderr).toBe(0);
    for (const [i, file] of ['a.txt', 'b.txt'].entries()) {
      const expected = reference.formatWordcount(reference.wordcount(new Uint8Array(await readFile(join(tmp, file)))));
      expect(await readFile(join(out, String(i), 'stdout'), 'utf8')).toBe(expected);
    }
    // Primes: the per-task counts add up to the reference total.
    const primes = jsonOf<{ results: Array<{ stdout: string }> }>(await cli(['job', 'results', jobs.primes!, '--json']));
    const total = primes.results.reduce((sum, r) => sum + (JSON.parse(r.stdout) as { count: number }).count, 0);
    expect(total).toBe(reference.primesCount(0, 100_000));
  });

  it('stops quietly with exit 0 when the reader of its output goes away (`lode job results --json | head -c 0`)', async () => {
    const p = lode(['--gateway', cluster.url, '--data-dir', requesterDir, 'job', 'results', jobs.wordcount!, '--json']);
    p.child.stdout!.destroy();
    expect(await p.exited, p.output()).toBe(0);
    expect(p.output()).not.toContain('EPIPE');
  });

  it('lists both nodes online with the work they did', async () => {
    const run = await cli(['nodes', '--json']);
    expect(run.code, run.stderr).toBe(0);
    const { nodes } = jsonOf<{ nodes: Array<{ address: string; online: boolean; completed: number; failed: number; capabilities: { slots: number } }> }>(run);
    expect(nodes).toHaveLength(2);
    for (const n of nodes) {
      expect(n.online).toBe(true);
      expect(n.address).toMatch(/^0x[0-9a-fA-F]{40}$/);
      expect(n.capabilities.slots).toBeGreaterThan(0);
    }
    // This file ran 16 + 8 + 8 + 2 + 1 + 1 + 1 + 2 tasks that completed, and one that trapped.
    const completed = nodes.reduce((sum, n) => sum + n.completed, 0);
    expect(completed).toBeGreaterThanOrEqual(39);
    expect(nodes.reduce((sum, n) => sum + n.failed, 0)).toBeGreaterThanOrEqual(1);
  });
});

describe('lode gateway', () => {
  it('says PORT_IN_USE and exits 1 when another gateway has the port', async () => {
    const run = await lodeRun(['gateway', '--port', String(cluster.port), '--data-dir', await dir('second-gateway'), '--ledger', 'off']);
    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(run.stderr).toMatch(new RegExp(`^error \\[PORT_IN_USE\\]: Port ${cluster.port} on 127\\.0\\.0\\.1 is already in use`));
    expect(run.stderr).not.toContain('INTERNAL');
  });
});

describe('lode up', () => {
  let up: Proc | undefined;
  afterAll(async () => {
    if (up && up.child.exitCode === null && up.child.signalCode === null) {
      up.child.kill('SIGKILL');
      await up.exited;
    }
  });

  it('starts a network that runs jobs, and stops cleanly on Ctrl-C leaving no node running', async () => {
    const dataDir = await dir('up');
    up = lode(['up', '--nodes', '2', '--port', '0', '--data-dir', dataDir]);
    const p = up;
    await waitFor(
      '`lode up` to say ready',
      async () => {
        if (p.child.exitCode !== null) throw new Error(`lode up exited ${p.child.exitCode}: ${p.output()}`);
        return /^ready\b/m.test(p.output());
      },
      90_000,
      100,
    );
    const url = /gateway:\s+(http:\/\/\S+)/.exec(p.output())?.[1];
    expect(url, p.output()).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(pidsWithArg(join(dataDir, 'nodes'))).toHaveLength(2);
    // Its nodes are devices owned by its --data-dir account.
    const devices = jsonOf<{ total: number; devices: Array<{ node: string; owner: string }> }>(
      await cli(['device', 'ls', '--mine', '--json'], { gateway: url, dataDir }),
    );
    expect(devices.total).toBe(2);
    const owner = JSON.parse(await readFile(join(dataDir, 'keystore.json'), 'utf8')).address as string;
    expect(new Set(devices.devices.map((d) => d.owner.toLowerCase()))).toEqual(new Set([owner.toLowerCase()]));

    const run = await cli(['run', 'echo', '--', 'hi'], { gateway: url, dataDir: join(tmp, 'up-requester') });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe('hi');

    p.child.kill('SIGINT');
    const code = await Promise.race([p.exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 15_000))]);
    expect(code, p.output()).toBe(0);
    // Its nodes drained and exited before it did.
    expect(pidsWithArg(join(dataDir, 'nodes'))).toEqual([]);
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  });
});

// Last: it takes the cluster's nodes away.
describe('a job no node can take', () => {
  let priced: Proc | undefined;
  afterAll(async () => {
    if (priced && priced.child.exitCode === null) {
      priced.child.kill('SIGKILL');
      await priced.exited;
    }
  });

  it('says why it waits (no node, then a node asking more than it pays), and --max-price lets the priced node take it', async () => {
    for (const n of cluster.nodes) n.child.kill('SIGKILL');
    await Promise.all(cluster.nodes.map((n) => n.exited));
    await waitFor('no node online', async () => (await cluster.onlineNodes()) === 0);

    const stuck = lode(['--gateway', cluster.url, '--data-dir', requesterDir, 'run', 'echo', '--tasks', '2', '--', 'hi']);
    await waitFor('`lode run` to say no node is connected', async () => /is waiting: No node is connected/.test(stuck.output()));
    const id = /job ([0-9a-f]{32}): 2 task\(s\)/.exec(stuck.output())?.[1];
    expect(id, stuck.output()).toBeDefined();

    priced = lode(['node', '--gateway', cluster.wsUrl, '--data-dir', await dir('priced-node'), '--price', '5']);
    await cluster.waitForNodes(1);
    const price = /is waiting: No connected node can take these tasks — 0x[0-9a-f]{40}: price: node asks 5 per task, job pays at most 0/;
    await waitFor('`lode run` to say the node asks more than the job pays', async () => price.test(stuck.output()), 15_000);

    const show = await cli(['job', 'show', id!]);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toMatch(/\n {2}waiting: {3}No connected node can take these tasks — .*node asks 5 per task, job pays at most 0/);
    expect((await cli(['job', 'cancel', id!])).code).toBe(0);
    expect(await stuck.exited).toBe(1); // its job was cancelled

    const paid = await cli(['run', 'echo', '--max-price', '5', '--', 'paid']);
    expect(paid.code, paid.stderr).toBe(0);
    expect(paid.stdout).toBe('paid');
    expect(paid.stderr).toBe('');
  });
});
