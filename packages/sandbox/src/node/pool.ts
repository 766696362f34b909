/**
 * Long because it owns the worker lifecycle end to end (preparation, warm workers, batches,
 * watchdogs, caches); each part depends on the others' state.
 *
 * The Node implementation of `Sandbox`: a pool of warm `worker_threads`.
 *
 * - Modules are checked (`inspectModule`), instrumented for fuel metering once per hash, and
 *   compiled once per (hash, memory cap) in a preparation worker (../preparer.ts), never on the main
 *   thread, each within `prepareMs`; the compiled `WebAssembly.Module` is posted to each run
 *   worker once and cached there. A module refused (by a cap, by metering, or by the time budget)
 *   is remembered by hash, so its next tasks are answered at once without preparing it again.
 * - Every worker has a heap limit (`resourceLimits`): one that passes it dies alone, the process
 *   stays. (Heap limits do not cover WebAssembly memories, which the memory cap bounds, nor the
 *   engine's compiler, which `LIMITS.module` bounds.)
 * - Tasks queue in the main thread; a free worker takes a whole batch in one message and answers
 *   with all results in one message. `run` calls made together are coalesced the same way.
 * - Wall time is enforced per task: the worker writes which task it runs and since when into
 *   shared memory, and a watchdog here terminates a worker whose task overruns. That task fails
 *   with SANDBOX_TIMEOUT; the rest of its batch is run again on a fresh worker (tasks are
 *   deterministic, so re-running one that had finished gives the same result).
 * - A worker that dies fails the task it was running with SANDBOX_WORKER_CRASHED; the rest of its
 *   batch is retried. A task caught in two crashes fails instead of being retried forever.
 * - Cancelling (`cancel(task)` or an aborted signal) resolves the task at once with SANDBOX_CANCELLED
 *   (cheap: a map entry per task, one abort listener per call with a signal). A queued task
 *   is dropped; a task waiting in a worker's batch is flagged in the control block and skipped by
 *   the worker; a running task's worker is ended the same way as on a wall-time overrun (the rest
 *   of its batch runs again on a fresh worker).
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { DEFAULTS, InvalidRequestError, SandboxErrorCode } from '@lode/protocol';
import { SandboxClosedError } from '../errors.js';
import { checkTask, failedResult } from '../execute.js';
import { pagesForMiB } from '../prepared.js';
import { ModuleStore, type Compiled } from '../modules.js';
import { Preparer } from '../preparer.js';
import type { Sandbox, SandboxBatchOptions, SandboxResult, SandboxRunOptions, SandboxTask } from '../types.js';
import { Control, controlBytes, nowMs, type BatchMessage, type DoneMessage } from './messages.js';

export interface NodeSandboxOptions {
  /** Worker threads, i.e. tasks that run at once. @default os.availableParallelism() */
  workers?: number;
  /** Most tasks sent to a worker in one message. @default 256 */
  maxBatch?: number;
  /** How often the watchdog checks running tasks, in ms. @default 10 */
  watchdogMs?: number;
  /**
   * Meter fuel: modules are instrumented once per hash (`instrumentModule`) when added, and
   * results carry `fuelUsed`. Turn off only to measure what metering costs. @default true
   */
  metering?: boolean;
  /**
   * Wall time to check, meter and compile one module (in the preparation worker); past it the
   * worker is stopped and the module's tasks fail with SANDBOX_TIMEOUT. A 32 MiB module takes
   * ~5 s on the project's 2-core machine. @default 60_000
   */
  prepareMs?: number;
  /** Heap (V8 old generation) of the preparation worker, in MiB. @default 256 */
  prepareHeapMiB?: number;
  /** Heap (V8 old generation) of each run worker, in MiB (WebAssembly memories are not in it). @default 512 */
  workerHeapMiB?: number;
  /** Modules kept prepared; past it the least recently used are dropped (and added again when needed). @default 256 */
  maxModules?: number;
  /**
   * Workers are ended after the pool has had nothing to run for this long, and started again
   * (~30 ms, cold: their compiled code is gone) by the next task: an idle provider then holds no
   * worker threads (docs/benchmarks.md, footprint). 0 keeps them. @default 60_000
   */
  idleMs?: number;
}

/** @default values of `NodeSandboxOptions`. */
export const NODE_SANDBOX_DEFAULTS = { prepareMs: 60_000, prepareHeapMiB: 256, workerHeapMiB: 512 } as const;

/**
 * Young generation of each run worker, in MiB. Tasks' garbage is short-lived and small (their
 * memories and outputs live outside the V8 heap); left to grow, V8 sizes it up under the
 * warm-up's allocation rate and keeps it for good. Capped at 4 MiB, a warmed-up pool of 2 held
 * ~196 MiB instead of ~248 MiB, with the same warm-up time (docs/benchmarks.md, footprint).
 */
const WORKER_YOUNG_GENERATION_MIB = 4;

/** The largest number of times a task is put back in the queue after its worker died. */
const MAX_ATTEMPTS = 2;
/** Workers that die before coming online, in a row, before the pool gives up respawning. */
const MAX_START_FAILURES = 3;

interface Pending {
  task: SandboxTask;
  key: string;
  /** Set when it is queued (compiled); undefined while its module compiles. */
  module: WebAssembly.Module | undefined;
  attempts: number;
  /** Where it is while a worker holds it: the slot and its position in that slot's batch. */
  at: { slot: Slot; index: number } | undefined;
  /** Resolved or rejected (done, failed, cancelled, closed): never run again, never answered again. */
  settled: boolean;
  /** The `run`/`runBatch` call it belongs to, when that call has a signal. */
  call: Call | undefined;
  resolve: (r: SandboxResult) => void;
  reject: (e: unknown) => void;
}

/** A `run`/`runBatch` call with a signal: one abort listener for all its tasks, removed when they are all answered. */
interface Call {
  members: Pending[];
  /** Members not yet answered, plus one while the call is still starting its tasks. */
  open: number;
  release: () => void;
}

interface Slot {
  worker: Worker;
  control: Control;
  /** Module keys this worker already holds. */
  modules: Set<string>;
  /** Keys it holds that the pool evicted: forgotten with its next batch. */
  drop: string[];
  batch: { id: number; entries: Pending[] } | undefined;
  dead: boolean;
  online: boolean;
  /** Some task of the current batch was flagged as cancelled in the control block. */
  flagged: boolean;
}

/** Where a compiled worker entry is: beside this file when built, in dist/ when run from source (tests). */
function workerUrl(name = 'worker.js'): URL {
  const here = new URL(`./${name}`, import.meta.url);
  if (import.meta.url.endsWith('.js')) return here;
  const built = new URL(`../../dist/node/${name}`, import.meta.url);
  if (!existsSync(fileURLToPath(built))) {
    throw new Error(`@lode/sandbox: ${fileURLToPath(built)} is missing; build first (npx tsc -b packages/sandbox).`);
  }
  return built;
}

/**
 * Creates a warm worker pool that implements `Sandbox`. Workers start at once (~30 ms each);
 * `close()` terminates them.
 */
export function createNodeSandbox(options: NodeSandboxOptions = {}): Sandbox {
  return new NodeSandbox(options);
}

class NodeSandbox implements Sandbox {
  readonly concurrency: number;
  private readonly maxBatch: number;
  private readonly watchdogMs: number;
  private readonly metering: boolean;
  private readonly workerHeapMiB: number;
  private readonly url = workerUrl();
  /** Prepared modules (../modules.ts): metered once per hash, compiled once per (hash, memory cap). */
  private readonly modules: ModuleStore;
  private readonly slots: Slot[] = [];
  /** Unanswered runs by task object, for `cancel(task)` (an array only if one object runs twice at once). */
  private readonly active = new Map<SandboxTask, Pending | Pending[]>();
  private queue: Pending[] = [];
  /** Cancelled entries still in `queue` (removed lazily, at the next dispatch). */
  private cancelledInQueue = 0;
  private nextBatchId = 1;
  private dispatchScheduled = false;
  private watchdog: ReturnType<typeof setInterval> | undefined;
  private closed = false;
  private startFailures = 0;
  private readonly idleMs: number;
  private idleTimer: ReturnType<typeof setTimeout> | undefined;
  /** The workers were ended for idleness: the next dispatch starts fresh ones. */
  private parked = false;
  /** Set when workers cannot start at all; every task then fails with this message. */
  private broken: string | undefined;

  constructor(options: NodeSandboxOptions) {
    this.concurrency = Math.max(1, options.workers ?? availableParallelism());
    this.maxBatch = Math.max(1, options.maxBatch ?? 256);
    this.watchdogMs = Math.max(1, options.watchdogMs ?? 10);
    this.metering = options.metering ?? true;
    this.workerHeapMiB = options.workerHeapMiB ?? NODE_SANDBOX_DEFAULTS.workerHeapMiB;
    this.idleMs = options.idleMs ?? 60_000;
    const prepareUrl = workerUrl('prepare.worker.js');
    const heapMiB = options.prepareHeapMiB ?? NODE_SANDBOX_DEFAULTS.prepareHeapMiB;
    const preparer = new Preparer({
      budgetMs: Math.max(1, options.prepareMs ?? NODE_SANDBOX_DEFAULTS.prepareMs),
      heapNote: `heap limit of ${heapMiB} MiB`,
      spawn: (events) => {
        const worker = new Worker(prepareUrl, { resourceLimits: { maxOldGenerationSizeMb: heapMiB } });
        worker.on('message', events.message);
        worker.on('error', (e) => events.gone(e.message));
        worker.on('exit', (code) => events.gone(`it exited with code ${code}`));
        return {
          post: (msg) => worker.postMessage(msg),
          terminate: () => void worker.terminate().catch(() => {}),
          hold: (busy) => (busy ? worker.ref() : worker.unref()),
        };
      },
    });
    // The common cap compiles with the first preparation; a larger one compiles again.
    this.modules = new ModuleStore({
      preparer,
      metering: this.metering,
      firstPages: pagesForMiB(DEFAULTS.memoryMiB),
      maxModules: options.maxModules,
      onEvict: (_hash, keys) => {
        for (const slot of this.slots) {
          for (const key of keys) if (slot.modules.delete(key)) slot.drop.push(key);
        }
      },
    });
    for (let i = 0; i < this.concurrency; i++) this.slots.push(this.spawn());
  }

  /**
   * Hashes, checks, meters and compiles the module in the preparation worker. Throws
   * BlobHashMismatchError, InvalidModuleError (a cap or a feature; remembered for good),
   * SandboxError(SANDBOX_TIMEOUT) past `prepareMs` or SandboxError(SANDBOX_WORKER_CRASHED)
   * (remembered for a while), SandboxClosedError.
   */
  addModule(hash: string, bytes: Uint8Array): Promise<void> {
    if (this.closed) return Promise.reject(new SandboxClosedError());
    return this.modules.add(hash, bytes);
  }

  hasModule(hash: string): boolean {
    return this.modules.has(hash);
  }

  run(task: SandboxTask, options: SandboxRunOptions = {}): Promise<SandboxResult> {
    return this.start([task], options.signal)[0]!;
  }

  async runBatch(tasks: SandboxTask[], options: SandboxBatchOptions = {}): Promise<SandboxResult[]> {
    if (this.closed) throw new SandboxClosedError();
    return Promise.all(this.start(tasks, options.signal));
  }

  cancel(task: SandboxTask): boolean {
    const runs = this.active.get(task);
    if (!runs) return false;
    this.cancelAll(Array.isArray(runs) ? [...runs] : [runs]);
    return true;
  }

  /** Starts each task. With a signal, one abort listener covers the whole call. */
  private start(tasks: SandboxTask[], signal: AbortSignal | undefined): Promise<SandboxResult>[] {
    if (!signal) return tasks.map((t) => this.runOne(t, undefined));
    if (signal.aborted) return tasks.map((t) => this.runOne(t, 'aborted'));
    const call: Call = { members: [], open: 1, release: noop };
    const onAbort = (): void => this.cancelAll(call.members);
    signal.addEventListener('abort', onAbort, { once: true });
    call.release = () => signal.removeEventListener('abort', onAbort);
    const results = tasks.map((t) => this.runOne(t, call));
    if (--call.open === 0) call.release();
    return results;
  }

  private runOne(task: SandboxTask, call: Call | 'aborted' | undefined): Promise<SandboxResult> {
    if (this.closed) return Promise.reject(new SandboxClosedError());
    const problem = checkTask(task);
    if (problem) return Promise.reject(new InvalidRequestError(`Malformed sandbox task: ${problem}`));
    if (call === 'aborted') return Promise.resolve(cancelledResult(0));
    if (!this.modules.has(task.moduleHash)) {
      return Promise.resolve(failedResult(SandboxErrorCode.BlobUnavailable, `Module ${task.moduleHash} was not added to the sandbox (addModule).`, 0));
    }
    const pages = pagesForMiB(task.limits.memoryMiB);
    const key = `${task.moduleHash}/${pages}`;
    return new Promise((resolve, reject) => {
      const p: Pending = { task, key, module: undefined, attempts: 0, at: undefined, settled: false, call, resolve, reject };
      this.track(p);
      const ready = this.modules.compiled(task.moduleHash, pages);
      if (ready) this.enqueue(p, ready);
      else void this.modules.compile(task.moduleHash, pages).then((c) => this.enqueue(p, c)); // compile() never rejects
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.watchdog) clearInterval(this.watchdog);
    clearTimeout(this.idleTimer);
    this.modules.close();
    const error = new SandboxClosedError();
    for (const p of this.queue) this.abandon(p, error);
    this.queue = [];
    const stopping: Promise<number>[] = [];
    for (const slot of this.slots) {
      slot.dead = true;
      for (const p of slot.batch?.entries ?? []) this.abandon(p, error);
      slot.batch = undefined;
      stopping.push(slot.worker.terminate());
    }
    await Promise.all(stopping);
  }

  // ---- queue and dispatch ----

  /** Queues a task once its module is compiled (unless it was cancelled meanwhile). */
  private enqueue(p: Pending, compiled: Compiled): void {
    if (p.settled) return;
    if ('error' in compiled) {
      const { code, shortMessage, details } = compiled.error;
      return this.settle(p, failedResult(code, details ? `${shortMessage} (${details})` : shortMessage, 0));
    }
    if (this.closed) return this.abandon(p, new SandboxClosedError());
    if (this.broken) return this.settle(p, failedResult(SandboxErrorCode.WorkerCrashed, this.broken, 0));
    p.module = compiled.module;
    this.queue.push(p);
    this.scheduleDispatch();
  }

  // ---- answering and cancelling ----

  private track(p: Pending): void {
    const runs = this.active.get(p.task);
    if (!runs) this.active.set(p.task, p);
    else if (Array.isArray(runs)) runs.push(p);
    else this.active.set(p.task, [runs, p]);
    if (p.call) {
      p.call.members.push(p);
      p.call.open++;
    }
  }

  private untrack(p: Pending): void {
    p.settled = true;
    p.at = undefined;
    const runs = this.active.get(p.task);
    if (runs === p) this.active.delete(p.task);
    else if (Array.isArray(runs)) {
      const i = runs.indexOf(p);
      if (i >= 0) runs.splice(i, 1);
      if (runs.length === 0) this.active.delete(p.task);
    }
    if (p.call && --p.call.open === 0) p.call.release();
  }

  /** Resolves a task once; later results for it (a worker's, a retry's) are ignored. */
  private settle(p: Pending, result: SandboxResult): void {
    if (p.settled) return;
    this.untrack(p);
    p.resolve(result);
  }

  private abandon(p: Pending, error: unknown): void {
    if (p.settled) return;
    this.untrack(p);
    p.reject(error);
  }

  /**
   * Cancels tasks: first those not running (so none of them is sent again when a worker is ended),
   * then the running ones, each of which ends its worker.
   */
  private cancelAll(tasks: Pending[]): void {
    const running: Pending[] = [];
    for (const p of tasks) if (!this.cancelUnlessRunning(p)) running.push(p);
    for (const p of running) this.cancelRunning(p);
  }

  /** Cancels a task that no worker is running; returns false, doing nothing, if one is. */
  private cancelUnlessRunning(p: Pending): boolean {
    if (p.settled || this.closed) return true;
    const at = p.at;
    if (!at || at.slot.dead || at.slot.batch?.entries[at.index] !== p) {
      // Compiling or queued (dropped from the queue at the next dispatch).
      if (p.module) this.cancelledInQueue++;
      this.settle(p, cancelledResult(0));
      return true;
    }
    // Flag first, then look at what runs (see `Control`): the worker skips it, or it is running.
    at.slot.control.cancel(at.index);
    at.slot.flagged = true;
    if (at.slot.control.running()?.index === at.index) return false;
    this.settle(p, cancelledResult(0));
    return true;
  }

  /** Cancels a task that may be running: ends its worker, as on a wall-time overrun. */
  private cancelRunning(p: Pending): void {
    if (this.cancelUnlessRunning(p)) return;
    const { slot, index } = p.at!;
    const running = slot.control.running();
    const message = 'The task was cancelled while it ran; its worker was stopped.';
    this.fail(slot, index, SandboxErrorCode.Cancelled, message, running ? nowMs() - running.since : 0);
  }

  private scheduleDispatch(): void {
    if (this.dispatchScheduled) return;
    this.dispatchScheduled = true;
    queueMicrotask(() => {
      this.dispatchScheduled = false;
      this.dispatch();
    });
  }

  /** Shares the queue among idle workers, one message each. */
  private dispatch(): void {
    if (this.closed) return;
    if (this.cancelledInQueue > 0) {
      this.queue = this.queue.filter((p) => !p.settled);
      this.cancelledInQueue = 0;
    }
    if (this.queue.length > 0) {
      clearTimeout(this.idleTimer);
      if (this.parked) this.unpark();
    }
    const idle = this.slots.filter((s) => !s.batch && !s.dead);
    while (this.queue.length > 0 && idle.length > 0) {
      const slot = idle.shift()!;
      const n = Math.min(this.maxBatch, Math.ceil(this.queue.length / (idle.length + 1)));
      this.send(slot, this.queue.splice(0, n));
    }
    if (this.slots.some((s) => s.batch) && !this.watchdog) {
      this.watchdog = setInterval(() => this.checkWallTime(), this.watchdogMs);
      this.watchdog.unref();
    }
  }

  private send(slot: Slot, entries: Pending[]): void {
    const msg: BatchMessage = { type: 'batch', id: this.nextBatchId++, modules: [], tasks: [] };
    if (slot.drop.length > 0) {
      msg.drop = slot.drop;
      slot.drop = [];
    }
    if (slot.flagged) {
      slot.control.reset(entries.length);
      slot.flagged = false;
    }
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      e.at = { slot, index: i };
      if (!slot.modules.has(e.key)) {
        slot.modules.add(e.key);
        msg.modules.push([e.key, e.module!]);
      }
      msg.tasks.push({ key: e.key, task: e.task });
    }
    slot.batch = { id: msg.id, entries };
    slot.worker.ref(); // a batch in flight keeps the process alive; an idle pool does not
    slot.worker.postMessage(msg);
  }

  private onDone(slot: Slot, msg: DoneMessage): void {
    const batch = slot.batch;
    if (slot.dead || !batch || batch.id !== msg.id) return;
    slot.batch = undefined;
    slot.worker.unref();
    for (let i = 0; i < batch.entries.length; i++) this.settle(batch.entries[i]!, msg.results[i]!);
    if (this.queue.length > 0) this.dispatch();
    else if (!this.slots.some((s) => s.batch)) {
      if (this.watchdog) clearInterval(this.watchdog);
      this.watchdog = undefined;
      this.parkWhenIdle();
    }
  }

  /** Ends every worker once the pool has been idle for `idleMs` (see NodeSandboxOptions.idleMs). */
  private parkWhenIdle(): void {
    if (this.idleMs <= 0 || this.closed) return;
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      if (this.closed || this.queue.length > 0 || this.slots.some((s) => s.batch)) return;
      for (const slot of this.slots) {
        slot.dead = true; // its exit is not a crash
        void slot.worker.terminate();
      }
      this.parked = true;
    }, this.idleMs);
    this.idleTimer.unref();
  }

  /** Fresh workers for the slots ended by `parkWhenIdle`. */
  private unpark(): void {
    this.parked = false;
    if (this.broken) return; // workers cannot start: queued tasks fail with that reason
    for (let i = 0; i < this.slots.length; i++) if (this.slots[i]!.dead) this.slots[i] = this.spawn();
  }

  // ---- wall time and crashes ----

  private checkWallTime(): void {
    const now = nowMs();
    for (const slot of this.slots) {
      if (!slot.batch || slot.dead) continue;
      const running = slot.control.running();
      if (!running) continue;
      const entry = slot.batch.entries[running.index];
      if (entry && now - running.since > entry.task.limits.wallMs) {
        this.fail(
          slot,
          running.index,
          SandboxErrorCode.Timeout,
          `The task ran past its wall-time limit of ${entry.task.limits.wallMs} ms and was stopped.`,
          now - running.since,
        );
      }
    }
  }

  /** A worker died: `ended` is the running task's index (if known), whose result is `code`. */
  private onWorkerGone(slot: Slot, why: string): void {
    if (slot.dead || this.closed) return;
    const running = slot.control.running();
    this.fail(slot, running?.index, SandboxErrorCode.WorkerCrashed, `The sandbox worker died: ${why}`, running ? nowMs() - running.since : 0);
  }

  /**
   * Ends a worker: the task at `index` gets a failed result, the rest of its batch goes back to the
   * front of the queue, and a fresh worker takes the slot.
   */
  private fail(slot: Slot, index: number | undefined, code: SandboxErrorCode, message: string, durationMs: number): void {
    slot.dead = true;
    void slot.worker.terminate();
    const entries = slot.batch?.entries ?? [];
    slot.batch = undefined;
    const retry: Pending[] = [];
    entries.forEach((e, i) => {
      e.at = undefined;
      if (e.settled) return; // cancelled: not run again
      if (i === index) this.settle(e, failedResult(code, message, durationMs));
      else if (code === SandboxErrorCode.WorkerCrashed && ++e.attempts > MAX_ATTEMPTS) {
        this.settle(e, failedResult(code, `${message} (after ${MAX_ATTEMPTS} retries)`, 0));
      } else retry.push(e);
    });
    this.queue.unshift(...retry);
    this.startFailures = slot.online ? 0 : this.startFailures + 1;
    if (this.startFailures >= MAX_START_FAILURES) {
      // Workers die before starting (a broken install): stop respawning and fail what is queued.
      this.broken = `${message} (${this.startFailures} workers in a row failed to start)`;
      for (const p of this.queue.splice(0)) this.settle(p, failedResult(SandboxErrorCode.WorkerCrashed, this.broken, 0));
      this.cancelledInQueue = 0;
      return;
    }
    const at = this.slots.indexOf(slot);
    if (!this.closed && at >= 0) this.slots[at] = this.spawn();
    this.dispatch();
  }

  private spawn(): Slot {
    const control = new SharedArrayBuffer(controlBytes(this.maxBatch));
    const worker = new Worker(this.url, {
      workerData: { control },
      resourceLimits: { maxOldGenerationSizeMb: this.workerHeapMiB, maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MIB },
    });
    const slot: Slot = { worker, control: new Control(control), modules: new Set(), drop: [], batch: undefined, dead: false, online: false, flagged: false };
    worker.on('online', () => (slot.online = true));
    worker.on('message', (msg: DoneMessage) => this.onDone(slot, msg));
    worker.on('error', (e) => this.onWorkerGone(slot, e.message));
    worker.on('exit', (code) => this.onWorkerGone(slot, `exited with code ${code}`));
    worker.unref();
    return slot;
  }
}

const noop = (): void => {};

function cancelledResult(durationMs: number): SandboxResult {
  return failedResult(SandboxErrorCode.Cancelled, 'The task was cancelled.', durationMs);
}
