/**
 * The example workloads `lode run` knows by name, from @lode/workloads: how `--tasks N` splits
 * each one's work (the package's task builders) and how the task outputs combine.
 *
 * - echo, wordcount: ordinary modules (args, `--input` files as stdin, `--dir`); wordcount's
 *   counts from several tasks are summed into one table.
 * - pi `[-- TOTAL_SAMPLES [SEED]]`: Monte Carlo samples split over N tasks → π estimate.
 * - primes `[-- LO HI]`: [LO, HI) split into N ranges → the count of primes.
 * - mandelbrot `[-- WIDTH HEIGHT MAX_ITER]`: N tiles → `<out>/mandelbrot.png`.
 */
import { DEFAULTS, fromUtf8, type TaskInputInit } from '@lode/protocol';
import type { TaskResult } from '@lode/sdk';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EXIT, UsageError } from '../errors.js';
import { loadWorkloads } from '../peers.js';
import type { GenericFlags, GenericPlan } from './generic.js';

export const BUILTIN_NAMES = ['mandelbrot', 'pi', 'primes', 'wordcount', 'echo'] as const;
export type BuiltinName = (typeof BUILTIN_NAMES)[number];
type Workloads = Awaited<ReturnType<typeof loadWorkloads>>;

export interface FinishContext {
  out?: string;
  json: boolean;
  /** Tasks in the job; a combined answer needs all of them. */
  taskCount: number;
}

export interface BuiltinOutcome {
  outputs: string[];
  answer?: unknown;
  exitCode: number;
}

/** The tasks of a run and, for workloads with a combined answer, how to combine. */
export interface RunPlan {
  tasks: TaskInputInit[];
  /** Guest path → sha256 of files placed by --dir (generic runs). */
  placed?: Map<string, string>;
  finish?(results: TaskResult[], ctx: FinishContext): Promise<BuiltinOutcome>;
}

export interface Builtin {
  name: BuiltinName;
  module: Uint8Array;
  /** Plans the run; `generic` plans it as an ordinary module would be. */
  prepare(flags: GenericFlags, generic: () => Promise<GenericPlan>): Promise<RunPlan>;
}

/** The built-in workload of that name, or undefined. */
export async function builtinWorkload(name: string): Promise<Builtin | undefined> {
  if (!(BUILTIN_NAMES as readonly string[]).includes(name)) return undefined;
  const wl = await loadWorkloads();
  const builtin = name as BuiltinName;
  let module: Uint8Array;
  try {
    module = wl.readWorkload(builtin);
  } catch (err) {
    throw new UsageError(`The ${name} workload is not built.`, 'Build it with `npm run build --workspace workloads`.', { cause: err });
  }
  return { name: builtin, module, prepare: (flags, generic) => PREPARE[builtin](flags, generic, wl) };
}

type Prepare = (flags: GenericFlags, generic: () => Promise<GenericPlan>, wl: Workloads) => Promise<RunPlan>;

const PREPARE: Record<BuiltinName, Prepare> = {
  echo: (_flags, generic) => generic(),
  wordcount: async (_flags, generic) => ({ ...(await generic()), finish: finishWordcount }),
  pi: async (flags, _generic, wl) => planPi(flags, wl),
  primes: async (flags, _generic, wl) => planPrimes(flags, wl),
  mandelbrot: async (flags, _generic, wl) => planMandelbrot(flags, wl),
};

// ---- pi

/** @default 16 tasks, 1,000,000 samples per task, seed 1 */
const PI_DEFAULTS = { tasks: 16, samplesPerTask: 1_000_000, seed: 1n };

function planPi(flags: GenericFlags, wl: Workloads): RunPlan {
  noInputs('pi', flags);
  const tasks = flags.tasks ?? PI_DEFAULTS.tasks;
  const samples = Number(bigArg(flags.args[0], 'TOTAL_SAMPLES', BigInt(tasks * PI_DEFAULTS.samplesPerTask)));
  const seed = bigArg(flags.args[1], 'SEED', PI_DEFAULTS.seed);
  const built = usage('pi', () => wl.piTasks({ seed, samples, tasks }));
  return { tasks: built.map((t) => ({ args: t.args })), finish: finishPi };
}

async function finishPi(results: TaskResult[], ctx: FinishContext): Promise<BuiltinOutcome> {
  if (!allOk('pi', results, ctx)) return { outputs: [], exitCode: EXIT.failure };
  let inside = 0n;
  let samples = 0n;
  for (const r of okResults(results)) {
    const line = JSON.parse(fromUtf8(r.stdout)) as { inside: number | string; samples: number | string };
    inside += BigInt(line.inside);
    samples += BigInt(line.samples);
  }
  const pi = samples > 0n ? (4 * Number(inside)) / Number(samples) : null;
  if (!ctx.json) process.stdout.write(`π ≈ ${pi ?? '?'}  (${inside} of ${samples} samples inside the quarter circle)\n`);
  return { outputs: [], answer: { pi, inside: inside.toString(), samples: samples.toString() }, exitCode: EXIT.ok };
}

// ---- primes

/** @default 8 tasks over [0, 10,000,000) */
const PRIMES_DEFAULTS = { tasks: 8, lo: 0n, hi: 10_000_000n };

function planPrimes(flags: GenericFlags, wl: Workloads): RunPlan {
  noInputs('primes', flags);
  const lo = Number(bigArg(flags.args[0], 'LO', PRIMES_DEFAULTS.lo));
  const hi = Number(bigArg(flags.args[1], 'HI', PRIMES_DEFAULTS.hi));
  const built = usage('primes', () => wl.primesTasks({ lo, hi, tasks: flags.tasks ?? PRIMES_DEFAULTS.tasks }));
  return { tasks: built.map((t) => ({ args: t.args })), finish: finishPrimes };
}

async function finishPrimes(results: TaskResult[], ctx: FinishContext): Promise<BuiltinOutcome> {
  if (!allOk('primes', results, ctx)) return { outputs: [], exitCode: EXIT.failure };
  let count = 0n;
  let lo: bigint | undefined;
  let hi: bigint | undefined;
  for (const r of okResults(results)) {
    const line = JSON.parse(fromUtf8(r.stdout)) as { lo: number | string; hi: number | string; count: number | string };
    count += BigInt(line.count);
    if (lo === undefined || BigInt(line.lo) < lo) lo = BigInt(line.lo);
    if (hi === undefined || BigInt(line.hi) > hi) hi = BigInt(line.hi);
  }
  if (!ctx.json) process.stdout.write(`${count} primes in [${lo ?? '?'}, ${hi ?? '?'})\n`);
  return { outputs: [], answer: { count: count.toString(), lo: lo?.toString(), hi: hi?.toString() }, exitCode: EXIT.ok };
}

// ---- mandelbrot

/** @default 64 tiles of a 1024×1024 image, 256 iterations */
const MANDELBROT_DEFAULTS = { tasks: 64, width: 1024n, height: 1024n, maxIter: 256n };

function planMandelbrot(flags: GenericFlags, wl: Workloads): RunPlan {
  noInputs('mandelbrot', flags);
  const width = Number(bigArg(flags.args[0], 'WIDTH', MANDELBROT_DEFAULTS.width));
  const height = Number(bigArg(flags.args[1], 'HEIGHT', MANDELBROT_DEFAULTS.height));
  const maxIter = Number(bigArg(flags.args[2], 'MAX_ITER', MANDELBROT_DEFAULTS.maxIter));
  const tiles = flags.tasks ?? MANDELBROT_DEFAULTS.tasks;
  const { geometry, tasks } = usage('mandelbrot', () => wl.mandelbrotTasks({ width, height, maxIter, tiles }));
  const largest = Math.max(...geometry.tiles.map((t) => t.w * t.h));
  if (largest > DEFAULTS.maxOutputBytes) {
    throw new UsageError(
      `mandelbrot: a tile of ${largest} pixels is more output than one task may write.`,
      `Use more tasks, e.g. --tasks ${Math.ceil((width * height * 2) / DEFAULTS.maxOutputBytes)}.`,
    );
  }
  return {
    tasks: tasks.map((t) => ({ args: t.args })),
    async finish(results, ctx) {
      if (!allOk('mandelbrot', results, ctx)) return { outputs: [], exitCode: EXIT.failure };
      const byIndex = [...results].sort((a, b) => a.index - b.index).map((r) => r.stdout);
      const dir = ctx.out ?? '.';
      const path = join(dir, 'mandelbrot.png');
      await mkdir(dir, { recursive: true });
      await writeFile(path, wl.assembleMandelbrot(geometry, byIndex));
      if (!ctx.json) process.stdout.write(`wrote ${path} (${width}×${height}, ${tasks.length} tiles)\n`);
      return { outputs: [path], answer: { width, height, maxIter, tiles: tasks.length }, exitCode: EXIT.ok };
    },
  };
}

// ---- wordcount

async function finishWordcount(results: TaskResult[], ctx: FinishContext): Promise<BuiltinOutcome> {
  if (!allOk('wordcount', results, ctx)) return { outputs: [], exitCode: EXIT.failure };
  const total = new Map<string, number>();
  for (const r of okResults(results)) {
    for (const [word, n] of Object.entries(JSON.parse(fromUtf8(r.stdout)) as Record<string, number>)) total.set(word, (total.get(word) ?? 0) + n);
  }
  const sorted = [...total.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  if (!ctx.json) {
    for (const [word, n] of sorted.slice(0, 20)) process.stdout.write(`${String(n).padStart(8)}  ${word}\n`);
    if (sorted.length > 20) process.stdout.write(`   … ${sorted.length - 20} more words (--json prints them all)\n`);
  }
  return { outputs: [], answer: Object.fromEntries(sorted), exitCode: EXIT.ok };
}

// ---- helpers

function okResults(results: TaskResult[]): TaskResult[] {
  return results.filter((r) => r.status === 'done' && r.exitCode === 0);
}

/** A combined answer needs every task; otherwise say so (on stderr) instead of a wrong total. */
function allOk(name: string, results: TaskResult[], ctx: FinishContext): boolean {
  const ok = okResults(results).length;
  if (ok === ctx.taskCount && ok > 0) return true;
  if (!ctx.json) process.stderr.write(`${name}: ${ok} of ${ctx.taskCount} task(s) succeeded, so there is no combined result.\n`);
  return false;
}

function noInputs(name: string, flags: GenericFlags): void {
  if (flags.input.length || flags.dir.length)
    throw new UsageError(`${name} takes no --input or --dir; it splits its own work over --tasks.`, `Example: lode run ${name} --tasks 16`);
}

function bigArg(value: string | undefined, name: string, fallback: bigint): bigint {
  if (value === undefined) return fallback;
  if (!/^[0-9]+$/.test(value)) throw new UsageError(`${name} must be a whole number, got "${value}".`);
  return BigInt(value);
}

/** Runs a task builder, reporting its range errors as usage errors. */
function usage<T>(name: string, build: () => T): T {
  try {
    return build();
  } catch (err) {
    if (err instanceof RangeError) throw new UsageError(`${name}: ${err.message}.`, `See \`lode run --help\` for ${name}'s arguments.`);
    throw err;
  }
}
