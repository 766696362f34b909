#!/usr/bin/env node
/**
 * Fuel metering figures: what counting fuel inside the module costs, and how WebAssembly compares
 * with native code.
 *
 * 1. The AssemblyScript workloads (workloads/build) run inline with `runTask`, unmetered and
 *    metered (`instrumentModule`), alternately, `--reps` times each: median time, overhead,
 *    fuel used, fuel per second. Outputs are checked equal.
 * 2. The same kernels in C (bench/native/*.c: mandelbrot, primes, pi — byte-for-byte the
 *    workloads' output) built natively with `cc -O2` and for wasm32-wasi with clang, the wasm run
 *    unmetered and metered: the WASM/native ratio. Skipped, with a message, without a compiler.
 * 3. What instrumenting costs: time and size growth per module.
 * 4. What NaN canonicalization costs: the float workloads (mandelbrot, pi) metered with and
 *    without it (`instrument(bytes, { nan: false })`, for this measurement only — the sandbox
 *    always canonicalizes), alternately; outputs and fuel are checked equal.
 *
 * Times are CPU time (user + system) of the run, not wall time: on a machine shared with other
 * work, a descheduled run would otherwise look slow. The native kernels report their own CPU time
 * (CLOCK_PROCESS_CPUTIME_ID, on stderr); wasm runs are measured with process.cpuUsage(), which
 * also counts the engine's helper threads (compilation tier-up, GC) — a small bias against wasm.
 *
 * Prints tables and writes bench/results/fuel-<time>.json.
 *
 *   npx tsc -b packages/sandbox && node bench/fuel.bench.js [--reps 5] [--scale 1]
 *
 * `--scale` multiplies the work of every case (0.2 for a quick look).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { instrumentModule, pagesForMiB, prepareModule, runTask } from '@lode/sandbox';
// Not exported by the package: the strategy switch that turns NaN canonicalization off.
import { instrument } from '../packages/sandbox/dist/metering/instrument.js';

const here = dirname(fileURLToPath(import.meta.url));
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const REPS = arg('reps', 5);
const SCALE = arg('scale', 1);
const n = (x) => String(Math.max(1, Math.round(x * SCALE)));

const sha = (b) => createHash('sha256').update(b).digest('hex');
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const fmt = (x, d = 0) => x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
const pct = (x) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`;

function table(head, rows) {
  const cells = [head, ...rows].map((r) => r.map(String));
  const widths = head.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  const line = (r) => `| ${r.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  console.log([line(cells[0]), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.slice(1).map(line)].join('\n'));
}

const cpuMs = (since) => {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1000;
};

/** A compiled, prepared module and a task for it; `run()` returns [CPU ms, result]. */
function runner(bytes, { args = [], stdin = new Uint8Array(0), memoryMiB = 256 }) {
  const module = new WebAssembly.Module(prepareModule(bytes, pagesForMiB(memoryMiB)));
  const hash = sha(bytes);
  const task = {
    moduleHash: hash,
    args,
    env: {},
    stdin,
    files: [],
    mounts: [],
    seed: hash,
    limits: { memoryMiB, wallMs: 600_000, maxOutputBytes: 64 << 20, fuel: Number.MAX_SAFE_INTEGER },
  };
  return () => {
    const t0 = process.cpuUsage();
    const r = runTask(module, task);
    const ms = cpuMs(t0);
    if (r.status !== 'ok' || r.exitCode !== 0)
      throw new Error(`${args.join(' ')}: ${r.error?.message ?? `exit ${r.exitCode}`}: ${new TextDecoder().decode(r.stderr)}`);
    return [ms, r];
  };
}

/** Runs the given runners alternately, REPS times after one warm-up run each; median ms of each. */
function race(runners) {
  const times = runners.map(() => []);
  const last = runners.map((run) => run()[1]); // warm-up (and the engine's tier-up)
  for (let i = 0; i < REPS; i++) {
    const order = i % 2 ? [...runners.keys()].reverse() : [...runners.keys()];
    for (const k of order) {
      const [ms, r] = runners[k]();
      times[k].push(ms);
      last[k] = r;
    }
  }
  return { ms: times.map(median), min: times.map((t) => Math.min(...t)), results: last };
}

const workload = (name) => new Uint8Array(readFileSync(join(here, '../workloads/build', `${name}.wasm`)));
const words = () => {
  const vocab = ['the', 'quick', 'brown', "fox's", 'jumps', 'over', 'lazy', 'dog', 'Lode', 'fuel', 'meter', 'WASM'];
  const lines = [];
  for (let i = 0; i < Number(n(150_000)); i++) lines.push(`${vocab[i % 12]} ${vocab[(i * 7) % 12]} word${i % 20_011} ${vocab[(i * 5) % 12]}, ${i}!`);
  return new TextEncoder().encode(lines.join('\n'));
};

const CASES = [
  { name: 'mandelbrot', args: ['1024', '1024', '0', '0', '1024', '1024', n(1000)], native: ['1024', '1024', n(1000)], memoryMiB: 64 },
  { name: 'pi', args: ['7', n(40_000_000)], native: ['7', n(40_000_000)], memoryMiB: 16 },
  {
    name: 'primes',
    args: ['1000000000', String(1_000_000_000 + Number(n(150_000)))],
    native: ['1000000000', String(1_000_000_000 + Number(n(150_000)))],
    memoryMiB: 16,
  },
  { name: 'wordcount', args: [], stdin: words(), memoryMiB: 256 },
];

const started = new Date();
const load0 = loadavg();
console.log(
  `fuel.bench: ${cpus()[0]?.model ?? 'cpu'} × ${cpus().length}, Node ${process.version}, load ${load0.map((l) => l.toFixed(2)).join(' ')}, reps ${REPS}, scale ${SCALE}`,
);

// ---- 1. the workloads, metered vs unmetered
const metering = [];
const instrumenting = [];
for (const c of CASES) {
  const original = workload(c.name);
  const t0 = performance.now();
  const metered = instrumentModule(original);
  instrumenting.push({ module: c.name, bytes: original.length, meteredBytes: metered.length, ms: performance.now() - t0 });
  const { ms, min, results } = race([runner(original, c), runner(metered, c)]);
  const [plain, fueled] = results;
  if (plain.resultHash !== fueled.resultHash) throw new Error(`${c.name}: metered output differs`);
  c.outputHash = sha(fueled.stdout);
  metering.push({
    workload: c.name,
    args: c.args.join(' ') || `stdin ${fmt(c.stdin.length / 2 ** 20, 1)} MiB`,
    fuelUsed: fueled.fuelUsed,
    unmeteredMs: ms[0],
    meteredMs: ms[1],
    overhead: ms[1] / ms[0] - 1,
    overheadOfMin: min[1] / min[0] - 1,
    gigafuelPerSecond: fueled.fuelUsed / ms[1] / 1e6,
  });
}
console.log(`\nMetered vs unmetered (AssemblyScript workloads, runTask inline; CPU time, median of ${REPS} runs each, alternating)`);
table(
  ['workload', 'args', 'fuel used', 'unmetered', 'metered', 'overhead', '(of minima)', 'Gfuel/s'],
  metering.map((m) => [
    m.workload,
    m.args,
    fmt(m.fuelUsed),
    `${fmt(m.unmeteredMs, 1)} ms`,
    `${fmt(m.meteredMs, 1)} ms`,
    pct(m.overhead),
    pct(m.overheadOfMin),
    fmt(m.gigafuelPerSecond, 2),
  ]),
);
const mean = metering.reduce((s, m) => s + m.overhead, 0) / metering.length;
console.log(`mean overhead ${pct(mean)} (issue floor ≤ 30%, goal ≤ 15%)`);

// ---- 2. native C vs the same C as WebAssembly, and the AssemblyScript workload
const probe = (cmd, args) => spawnSync(cmd, args, { encoding: 'utf8' });
const CC = [process.env.CC, 'cc', 'gcc', 'clang'].find((c) => c && !probe(c, ['--version']).error);
const CLANG = process.env.CLANG ?? 'clang';
const SYSROOT = [process.env.WASI_SYSROOT, '/usr/share/wasi-sysroot', '/opt/wasi-sdk/share/wasi-sysroot'].find(
  (p) => p && spawnSync('test', ['-d', p]).status === 0,
);
const WASM_FLAGS = ['--target=wasm32-wasi', ...(SYSROOT ? [`--sysroot=${SYSROOT}`] : []), '-O2', '-ffp-contract=off'];
const native = [];
let nativeNote;
if (!CC) nativeNote = 'no C compiler (cc, gcc or clang): native comparison skipped';
else {
  const work = mkdtempSync(join(tmpdir(), 'lode-fuel-bench-'));
  try {
    const ccVersion = probe(CC, ['--version']).stdout.split('\n')[0];
    const wasmOk = probe(CLANG, [...WASM_FLAGS, '-o', join(work, 'probe.wasm'), join(here, 'native/pi.c')]).status === 0;
    nativeNote = `native: ${CC} -O2 (${ccVersion}); wasm: ${wasmOk ? `${CLANG} ${WASM_FLAGS.join(' ')}` : 'clang cannot build wasm32-wasi here: C→wasm skipped'}`;
    for (const c of CASES.filter((x) => x.native)) {
      const src = join(here, 'native', `${c.name}.c`);
      const exe = join(work, c.name);
      const built = spawnSync(CC, ['-O2', '-ffp-contract=off', '-o', exe, src, '-lm'], { encoding: 'utf8' });
      if (built.error) throw built.error;
      if (built.status !== 0) throw new Error(`${CC} ${src}: ${built.stderr}`);
      const nativeRun = () => {
        const r = spawnSync(exe, c.native, { maxBuffer: 256 << 20 });
        const ms = Number(/cpu_ms=([\d.]+)/.exec(r.stderr.toString())?.[1]);
        if (r.status !== 0 || !(ms >= 0)) throw new Error(`${exe}: exit ${r.status}: ${r.stderr}`);
        return [ms, { stdout: r.stdout }];
      };
      const runners = [nativeRun];
      let cWasm;
      if (wasmOk) {
        spawnSync(CLANG, [...WASM_FLAGS, '-o', join(work, `${c.name}.wasm`), src]);
        cWasm = new Uint8Array(readFileSync(join(work, `${c.name}.wasm`)));
        runners.push(runner(cWasm, { args: c.native, memoryMiB: c.memoryMiB }), runner(instrumentModule(cWasm), { args: c.native, memoryMiB: c.memoryMiB }));
      }
      const { ms, results } = race(runners);
      const hashes = results.map((r) => sha(r.stdout));
      const same = hashes.every((h) => h === c.outputHash);
      const as = metering.find((m) => m.workload === c.name);
      native.push({
        kernel: c.name,
        args: c.native.join(' '),
        nativeMs: ms[0],
        cWasmMs: ms[1],
        cWasmMeteredMs: ms[2],
        cWasmFuel: results[2]?.fuelUsed,
        asWasmMs: as.unmeteredMs,
        asWasmMeteredMs: as.meteredMs,
        sameOutput: same,
      });
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
console.log(`\nWebAssembly vs native, CPU time (${nativeNote})`);
if (native.length > 0) {
  const ratio = (x, y) => (x === undefined ? '—' : `${(x / y).toFixed(2)}×`);
  const ms = (x) => (x === undefined ? '—' : `${fmt(x, 1)} ms`);
  table(
    ['kernel', 'native', 'C→wasm', 'C→wasm metered', 'AS wasm', 'AS wasm metered', 'C wasm/native', 'metered/native', 'same output'],
    native.map((r) => [
      r.kernel,
      ms(r.nativeMs),
      ms(r.cWasmMs),
      ms(r.cWasmMeteredMs),
      ms(r.asWasmMs),
      ms(r.asWasmMeteredMs),
      ratio(r.cWasmMs, r.nativeMs),
      ratio(r.cWasmMeteredMs, r.nativeMs),
      r.sameOutput ? 'yes' : 'NO',
    ]),
  );
}

// ---- 3. instrumenting itself
console.log('\nInstrumenting (once per module hash)');
table(
  ['module', 'bytes', 'metered bytes', 'growth', 'time'],
  instrumenting.map((i) => [i.module, fmt(i.bytes), fmt(i.meteredBytes), pct(i.meteredBytes / i.bytes - 1), `${fmt(i.ms, 1)} ms`]),
);

// ---- 4. NaN canonicalization
const canonicalizing = [];
for (const c of CASES.filter((x) => x.name === 'mandelbrot' || x.name === 'pi')) {
  const original = workload(c.name);
  const { ms, min, results } = race([runner(instrument(original, { nan: false }), c), runner(instrument(original, {}), c)]);
  const [without, withIt] = results;
  if (without.resultHash !== withIt.resultHash) throw new Error(`${c.name}: canonicalization changed the output`);
  if (without.fuelUsed !== withIt.fuelUsed) throw new Error(`${c.name}: canonicalization changed the fuel`);
  canonicalizing.push({
    workload: c.name,
    args: c.args.join(' '),
    fuelUsed: withIt.fuelUsed,
    withoutMs: ms[0],
    withMs: ms[1],
    overhead: ms[1] / ms[0] - 1,
    overheadOfMin: min[1] / min[0] - 1,
  });
}
console.log(`\nNaN canonicalization (metered, without vs with; CPU time, median of ${REPS} runs each, alternating; same output and fuel)`);
table(
  ['workload', 'args', 'fuel used', 'without', 'with', 'overhead', '(of minima)'],
  canonicalizing.map((m) => [
    m.workload,
    m.args,
    fmt(m.fuelUsed),
    `${fmt(m.withoutMs, 1)} ms`,
    `${fmt(m.withMs, 1)} ms`,
    pct(m.overhead),
    pct(m.overheadOfMin),
  ]),
);

const load1 = loadavg();
console.log(`\nload average at the end: ${load1.map((l) => l.toFixed(2)).join(' ')}`);
const out = join(here, 'results', `fuel-${started.toISOString().replace(/[:.]/g, '-')}.json`);
mkdirSync(dirname(out), { recursive: true });
writeFileSync(
  out,
  JSON.stringify(
    {
      date: started.toISOString(),
      cpu: cpus()[0]?.model,
      cores: cpus().length,
      node: process.version,
      loadavg: { start: load0, end: load1 },
      reps: REPS,
      scale: SCALE,
      metering,
      meanOverhead: mean,
      native,
      nativeNote,
      instrumenting,
      canonicalizing,
    },
    null,
    2,
  ),
);
console.log(`written ${out}`);
