/**
 * `executeTask`: one well-formed task, start to finish, in the current thread. Portable (Node
 * worker, browser Web Worker, inline); wall time is not enforced here — whoever runs it must be
 * able to stop the thread (the Node pool terminates its worker). Sandbox workers load this file,
 * not `run.ts`, so they never load @lode/protocol's runtime (zod, viem).
 */
import { hexToBytes } from '@noble/hashes/utils';
import { digestResult, MAX_RESULT_ENTRIES, type Sha256Hex } from './digest.js';
import { checkFuel, FUEL_EXHAUSTED, FUEL_EXPORT, fuelExhaustedMessage, fuelLimit, LIMIT_EXPORT, LIMIT_MEMORY, START_EXPORT } from './metering/fuel.js';
import type { SandboxFailureCode, SandboxResult, SandboxTask } from './types.js';
import { importedMemoryOf, MEMORY_IMPORT, pagesForMiB } from './prepared.js';
import { MemoryPool } from './memoryPool.js';
import { OutputLimitExceeded } from './wasi/meter.js';
import { MemoryLimitExceeded, Preview1, ProcExit } from './wasi/preview1.js';

/** Mounts every task has, before `task.mounts`. */
export const DEFAULT_MOUNTS = [
  { guest: '/in', writable: false },
  { guest: '/out', writable: true },
] as const;

const SEED_RE = /^[0-9a-f]{64}$/i;

/**
 * Checks what the module cannot be blamed for: a 64-hex-digit seed and every input file under a
 * mount. Returns a description of the first problem, or undefined if the task is well formed.
 */
export function checkTask(task: SandboxTask): string | undefined {
  if (!SEED_RE.test(task.seed)) return `seed must be 64 hex digits, got ${JSON.stringify(task.seed)}`;
  const fuel = checkFuel(task.limits.fuel);
  if (fuel) return fuel;
  const mounts = [...DEFAULT_MOUNTS, ...task.mounts].map((m) => m.guest);
  for (const f of task.files) {
    if (!mounts.some((m) => m === '/' || f.path.startsWith(`${m}/`))) {
      return `input file ${f.path} lies under no mount (mounts: ${mounts.join(', ')})`;
    }
  }
  return undefined;
}

/** argv[0] as the task sees it: the module hash's first 12 digits + `.wasm`. */
export function argv0(moduleHash: string): string {
  return `${moduleHash.slice(0, 12)}.wasm`;
}

/** A failed result carrying whatever output was captured before the task was stopped. */
export function failedResult(
  code: SandboxFailureCode,
  message: string,
  durationMs: number,
  stdout: Uint8Array = new Uint8Array(0),
  stderr: Uint8Array = new Uint8Array(0),
  hash?: Sha256Hex,
): SandboxResult {
  const content = { exitCode: null, stdout, stderr, files: [], deleted: [] };
  return { status: 'failed', ...content, resultHash: digestResult(content, hash), error: { code, message }, durationMs };
}

export interface RunTaskOptions {
  /** sha256 as hex for the result digest. @default the portable sha256 from @lode/protocol */
  sha256Hex?: Sha256Hex;
  /** Where memories for prepared modules come from. @default one pool per thread */
  memoryPool?: MemoryPool;
}

const threadPool = new MemoryPool();

/** What the runner needs to know about a compiled module, found once per module. */
interface Plan {
  /** The preview1 functions it imports (all it may import, after `inspectModule`). */
  wasi: string[];
  /** The memory it imports (a module from `prepareModule`), or null. */
  memory: ReturnType<typeof importedMemoryOf>;
  /** It exports the fuel counter: a module from `instrumentModule`. */
  metered: boolean;
  /** It exports its former start function, to run once the counter is set (`instrumentModule`). */
  start: boolean;
}
const plans = new WeakMap<WebAssembly.Module, Plan>();
function planOf(module: WebAssembly.Module): Plan {
  let plan = plans.get(module);
  if (!plan) {
    const imports = WebAssembly.Module.imports(module);
    const exports = WebAssembly.Module.exports(module);
    plan = {
      wasi: imports.filter((i) => i.module === 'wasi_snapshot_preview1' && i.kind === 'function').map((i) => i.name),
      memory: importedMemoryOf(module),
      metered: exports.some((e) => e.name === FUEL_EXPORT && e.kind === 'global'),
      start: exports.some((e) => e.name === START_EXPORT && e.kind === 'function'),
    };
    plans.set(module, plan);
  }
  return plan;
}

/**
 * Runs `task` on a compiled module: one from `prepareModule` (memory capped and supplied by the
 * runner, reused between tasks) or, at least, from `capMemory`.
 *
 * Guarantees: never throws for anything the module does — traps, proc_exit, the output cap,
 * memory exhaustion all come back as a `SandboxResult`. The same module and task give the same
 * result (and `resultHash`) on every run.
 *
 * The task must be well formed (`checkTask`); `runTask` checks that first.
 */
export function executeTask(module: WebAssembly.Module, task: SandboxTask, options: RunTaskOptions = {}): SandboxResult {
  const t0 = performance.now();
  const wasi = new Preview1({
    args: [argv0(task.moduleHash), ...task.args],
    env: task.env,
    stdin: task.stdin,
    seed: hexToBytes(task.seed),
    mounts: [...DEFAULT_MOUNTS, ...task.mounts],
    files: task.files,
    maxOutputBytes: task.limits.maxOutputBytes,
    memoryCapPages: pagesForMiB(task.limits.memoryMiB),
  });
  const fail = (code: SandboxFailureCode, message: string) =>
    failedResult(code, message, performance.now() - t0, wasi.stdout.bytes(), wasi.stderr.bytes(), options.sha256Hex);

  // A module from `prepareModule` imports its memory; give it a (possibly reused) one.
  const plan = planOf(module);
  const pool = options.memoryPool ?? threadPool;
  const memory = plan.memory ? pool.acquire(plan.memory.initial, plan.memory.maximum) : undefined;
  try {
    return instantiateAndRun(module, plan, task, wasi, memory, options, fail, t0);
  } finally {
    if (memory) pool.release(memory, plan.memory!.initial, plan.memory!.maximum);
  }
}

function instantiateAndRun(
  module: WebAssembly.Module,
  plan: Plan,
  task: SandboxTask,
  wasi: Preview1,
  memory: WebAssembly.Memory | undefined,
  options: RunTaskOptions,
  fail: (code: SandboxFailureCode, message: string) => SandboxResult,
  t0: number,
): SandboxResult {
  const imports: WebAssembly.Imports = { wasi_snapshot_preview1: wasi.imports(plan.wasi) };
  if (memory) imports[MEMORY_IMPORT.module] = { [MEMORY_IMPORT.name]: memory };
  let instance: WebAssembly.Instance;
  try {
    instance = new WebAssembly.Instance(module, imports);
  } catch (e) {
    if (e instanceof WebAssembly.LinkError || e instanceof WebAssembly.CompileError) {
      return fail('SANDBOX_INVALID_MODULE', `The module could not be instantiated: ${(e as Error).message}`);
    }
    if (e instanceof WebAssembly.RuntimeError) return fail('SANDBOX_TRAP', `The module trapped in its start function: ${e.message}`);
    if (isStackOverflow(e)) return fail('SANDBOX_TRAP', `The module's start function overflowed the stack (${(e as Error).message}).`);
    return fail('SANDBOX_MEMORY_LIMIT', `The module's memory could not be allocated: ${(e as Error).message}`);
  }
  const exports = instance.exports;
  wasi.memory.attach(exports.memory instanceof WebAssembly.Memory ? exports.memory : undefined);
  const start = exports._start;
  if (typeof start !== 'function') return fail('SANDBOX_INVALID_MODULE', 'The module exports no _start function.');
  if (!plan.metered) return run(exports, plan, start as () => void, task, wasi, fail, options, t0).result;

  // A metered module counts its fuel down in this global (see metering/instrument.ts).
  const meter = exports[FUEL_EXPORT] as WebAssembly.Global;
  const limit = fuelLimit(task.limits.fuel);
  meter.value = limit;
  const { result, depthDependent } = run(exports, plan, start as () => void, task, wasi, fail, options, t0);
  // The fuel rule: a counter below zero when the task stops, however it stopped, is fuel exhaustion.
  const left = meter.value as bigint;
  if (left < 0n) {
    const exhausted = fail(FUEL_EXHAUSTED, fuelExhaustedMessage(limit));
    exhausted.fuelUsed = Number(limit);
    return exhausted;
  }
  // A module stopped by its own check of a cap (metering/instrument.ts: memory.grow, table.grow).
  const flag = exports[LIMIT_EXPORT] instanceof WebAssembly.Global ? (exports[LIMIT_EXPORT].value as number) : 0;
  if (flag !== 0) {
    const limited = fail(
      'SANDBOX_MEMORY_LIMIT',
      flag === LIMIT_MEMORY
        ? `The task asked to grow its memory past its cap of ${pagesForMiB(task.limits.memoryMiB)} pages (64 KiB each), and memory.grow was refused. ` +
            'Raise resources.memoryMiB or use less memory.'
        : `The task grew its tables past ${flag} elements in all, the most a module's tables may hold (LIMITS.module.maxTableElements). ` +
            'Use smaller tables (table.grow asks for fewer elements).',
    );
    limited.fuelUsed = Number(limit - left);
    return limited;
  }
  if (!depthDependent) result.fuelUsed = Number(limit - left);
  return result;
}

/**
 * Runs the module's former start function (metered modules, see metering/instrument.ts), then
 * `_start`, and classifies how it ended. `depthDependent`: it ended on a stack overflow, so where
 * it stopped depends on the engine's stack size.
 */
function run(
  exports: WebAssembly.Exports,
  plan: Plan,
  start: () => void,
  task: SandboxTask,
  wasi: Preview1,
  fail: (code: SandboxFailureCode, message: string) => SandboxResult,
  options: RunTaskOptions,
  t0: number,
): { result: SandboxResult; depthDependent: boolean } {
  const ended = (result: SandboxResult) => ({ result, depthDependent: false });
  const capPages = pagesForMiB(task.limits.memoryMiB);
  let exitCode = 0;
  try {
    if (plan.start) (exports[START_EXPORT] as () => void)();
    start();
  } catch (e) {
    if (e instanceof ProcExit) exitCode = e.code;
    else if (e instanceof OutputLimitExceeded) return ended(fail('SANDBOX_OUTPUT_LIMIT', e.message));
    else if (e instanceof MemoryLimitExceeded) return ended(memoryLimit(fail, e.pages, capPages));
    else if (wasi.memory.pages > capPages) return ended(memoryLimit(fail, wasi.memory.pages, capPages, e));
    else if (isStackOverflow(e)) return { result: fail('SANDBOX_TRAP', `The module trapped: stack overflow (${(e as Error).message}).`), depthDependent: true };
    else return ended(classifyTrap(e, fail));
  }
  // The cap holds for the whole run: memory above it at exit fails the task too.
  if (wasi.memory.pages > capPages) return ended(memoryLimit(fail, wasi.memory.pages, capPages));

  let files;
  try {
    files = wasi.fs.changedEntries();
  } catch (e) {
    return ended(fail('SANDBOX_TRAP', `Collecting output files failed: ${(e as Error).message}`));
  }
  const deleted = wasi.deletedInputs();
  // Every entry travels in the node's result message, which holds at most this many.
  const entries = Math.max(files.length, deleted.length);
  if (entries > MAX_RESULT_ENTRIES) {
    const what =
      files.length > MAX_RESULT_ENTRIES
        ? `left ${files.length} changed entries (files, symlinks, empty directories)`
        : `deleted ${deleted.length} input entries`;
    return ended(
      fail('SANDBOX_OUTPUT_LIMIT', `The task ${what}; a result may list at most ${MAX_RESULT_ENTRIES}. Write fewer, larger files (an archive, say).`),
    );
  }
  const content = { exitCode, stdout: wasi.stdout.bytes(), stderr: wasi.stderr.bytes(), files, deleted };
  return ended({ status: 'ok', ...content, resultHash: digestResult(content, options.sha256Hex), durationMs: performance.now() - t0 });
}

/**
 * The memory rule, exact and deterministic: a task fails with SANDBOX_MEMORY_LIMIT when its
 * memory is above the cap at any host call or when it ends (trap or exit). Modules are prepared
 * with headroom above the cap (`physicalPagesFor`), so a module that grows past the cap is seen
 * doing so, instead of merely failing a grow and then trapping or exiting for its own reasons.
 */
function memoryLimit(fail: (code: SandboxFailureCode, message: string) => SandboxResult, pages: number, capPages: number, cause?: unknown): SandboxResult {
  const after = cause instanceof Error ? ` (then: ${cause.message})` : '';
  return fail(
    'SANDBOX_MEMORY_LIMIT',
    `The task grew its memory to ${pages} pages (64 KiB each), past its cap of ${capPages} pages${after}. ` + 'Raise resources.memoryMiB or use less memory.',
  );
}

function isStackOverflow(e: unknown): boolean {
  return e instanceof RangeError && /call stack/i.test(e.message);
}

function classifyTrap(e: unknown, fail: (code: SandboxFailureCode, message: string) => SandboxResult): SandboxResult {
  const what = e instanceof Error ? e.message : String(e);
  if (!(e instanceof WebAssembly.RuntimeError)) {
    return fail('SANDBOX_TRAP', `The module stopped on a host error: ${what}`);
  }
  return fail('SANDBOX_TRAP', `The module trapped: ${what}.`);
}
