/**
 * The Node implementation of `Sandbox`: a pool of warm `worker_threads`.
 *
 * - Modules are compiled once per (hash, memory cap) in the main thread; the compiled
 *   `WebAssembly.Module` is posted to each worker once and cached there.
 * - Tasks queue in the main thread; a free worker takes a whole batch in one message and answers
 *   with all results in one message. `run` calls made together are coalesced the same way.
 * - Wall time is enforced per task: the worker writes which task it runs and since when into
 *   shared memory, and a watchdog here terminates a worker whose task overruns. That task fails
 *   with SANDBOX_TIMEOUT; the rest of its batch is run again on a fresh worker (tasks are
 *   deterministic, so re-running one that had finished gives the same result).
 * - A worker that dies fails the task it was running with SANDBOX_WORKER_CRASHED; the rest of its
 *   batch is retried. A task caught in two crashes fails instead of being retried forever.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { BlobHashMismatchError, DEFAULTS, InvalidRequestError, SandboxError, SandboxErrorCode } from '@lode/protocol';
import { SandboxClosedError } from '../errors.js';
import { checkTask, failedResult } from '../execute.js';
import { inspectModule, pagesForMiB, prepareModule } from '../module.js';
import type { Sandbox, SandboxResult, SandboxTask } from '../types.js';
import { Control, CONTROL_BYTES, nowMs, type BatchMessage, type DoneMessage } from './messages.js';

export interface NodeSandboxOptions {
  /** Worker threads, i.e. tasks that run at once. @default os.availableParallelism() */
  workers?: number;
  /** Most tasks sent to a worker in one message. @default 256 */
  maxBatch?: number;
  /** How often the watchdog checks running tasks, in ms. @default 10 */
  watchdogMs?: number;
}

/** The largest number of times a task is put back in the queue after its worker died. */
const MAX_ATTEMPTS = 2;
/** Workers that die before coming online, in a row, before the pool gives up respawning. */
const MAX_START_FAILURES = 3;

interface Pending {
  task: SandboxTask;
  key: string;
  module: WebAssembly.Module;
  attempts: number;
  resolve: (r: SandboxResult) => void;
  reject: (e: unknown) => void;
}

interface Slot {
  worker: Worker;
  control: Control;
  /** Module keys this worker already holds. */
  modules: Set<string>;
  batch: { id: number; entries: Pending[] } | undefined;
  dead: boolean;
  online: boolean;
}

type Compiled = { module: WebAssembly.Module } | { error: SandboxError };

/** Where the compiled worker entry is: beside this file when built, in dist/ when run from source (tests). */
function workerUrl(): URL {
  const here = new URL('./worker.js', import.meta.url);
  if (import.meta.url.endsWith('.js')) return here;
  const built = new URL('../../dist/node/worker.js', import.meta.url);
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
  private readonly url = workerUrl();
  private readonly sources = new Map<string, Uint8Array>();
  private readonly compiling = new Map<string, Promise<Compiled>>();
  private readonly compiled = new Map<string, Compiled>();
  private readonly slots: Slot[] = [];
  private queue: Pending[] = [];
  private nextBatchId = 1;
  private dispatchScheduled = false;
  private watchdog: ReturnType<typeof setInterval> | undefined;
  private closed = false;
  private startFailures = 0;
  /** Set when workers cannot start at all; every task then fails with this message. */
  private broken: string | undefined;

  constructor(options: NodeSandboxOptions) {
    this.concurrency = Math.max(1, options.workers ?? availableParallelism());
    this.maxBatch = Math.max(1, options.maxBatch ?? 256);
    this.watchdogMs = Math.max(1, options.watchdogMs ?? 10);
    for (let i = 0; i < this.concurrency; i++) this.slots.push(this.spawn());
  }

  async addModule(hash: string, bytes: Uint8Array): Promise<void> {
    if (this.closed) throw new SandboxClosedError();
    const actual = createHash('sha256').update(bytes).digest('hex');
    if (actual !== hash) {
      throw new BlobHashMismatchError(`The module bytes hash to ${actual}, not ${hash}.`, { meta: { expected: hash, actual } });
    }
    if (this.sources.has(hash)) return;
    inspectModule(bytes);
    this.sources.set(hash, bytes);
    // Warm the common case; a module too big for the default cap may still run with a larger one.
    await this.compile(hash, pagesForMiB(DEFAULTS.memoryMiB));
  }

  hasModule(hash: string): boolean {
    return this.sources.has(hash);
  }

  run(task: SandboxTask): Promise<SandboxResult> {
    if (this.closed) return Promise.reject(new SandboxClosedError());
    const problem = checkTask(task);
    if (problem) return Promise.reject(new InvalidRequestError(`Malformed sandbox task: ${problem}`));
    if (!this.sources.has(task.moduleHash)) {
      return Promise.resolve(
        failedResult(SandboxErrorCode.BlobUnavailable, `Module ${task.moduleHash} was not added to the sandbox (addModule).`, 0),
      );
    }
    const pages = pagesForMiB(task.limits.memoryMiB);
    const key = `${task.moduleHash}/${pages}`;
    const ready = this.compiled.get(key);
    if (ready) return this.enqueue(task, key, ready);
    return this.compile(task.moduleHash, pages).then((c) => this.enqueue(task, key, c));
  }

  async runBatch(tasks: SandboxTask[]): Promise<SandboxResult[]> {
    if (this.closed) throw new SandboxClosedError();
    return Promise.all(tasks.map((t) => this.run(t)));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.watchdog) clearInterval(this.watchdog);
    const error = new SandboxClosedError();
    for (const p of this.queue) p.reject(error);
    this.queue = [];
    const stopping: Promise<number>[] = [];
    for (const slot of this.slots) {
      slot.dead = true;
      for (const p of slot.batch?.entries ?? []) p.reject(error);
      slot.batch = undefined;
      stopping.push(slot.worker.terminate());
    }
    await Promise.all(stopping);
  }

  // ---- compilation ----

  private compile(hash: string, pages: number): Promise<Compiled> {
    const key = `${hash}/${pages}`;
    let p = this.compiling.get(key);
    if (!p) {
      p = (async (): Promise<Compiled> => {
        try {
          return { module: await WebAssembly.compile(prepareModule(this.sources.get(hash)!, pages) as BufferSource) };
        } catch (e) {
          const error = e instanceof SandboxError ? e : new SandboxError(SandboxErrorCode.InvalidModule, (e as Error).message, e);
          return { error };
        }
      })().then((c) => {
        this.compiled.set(key, c);
        return c;
      });
      this.compiling.set(key, p);
    }
    return p;
  }

  // ---- queue and dispatch ----

  private enqueue(task: SandboxTask, key: string, compiled: Compiled): Promise<SandboxResult> {
    if ('error' in compiled) {
      const { code, shortMessage, details } = compiled.error;
      return Promise.resolve(failedResult(code, details ? `${shortMessage} (${details})` : shortMessage, 0));
    }
    if (this.closed) return Promise.reject(new SandboxClosedError());
    if (this.broken) return Promise.resolve(failedResult(SandboxErrorCode.WorkerCrashed, this.broken, 0));
    return new Promise((resolve, reject) => {
      this.queue.push({ task, key, module: compiled.module, attempts: 0, resolve, reject });
      this.scheduleDispatch();
    });
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
    let idle = this.slots.filter((s) => !s.batch && !s.dead);
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
    for (const e of entries) {
      if (!slot.modules.has(e.key)) {
        slot.modules.add(e.key);
        msg.modules.push([e.key, e.module]);
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
    for (let i = 0; i < batch.entries.length; i++) batch.entries[i]!.resolve(msg.results[i]!);
    if (this.queue.length > 0) this.dispatch();
    else if (!this.slots.some((s) => s.batch) && this.watchdog) {
      clearInterval(this.watchdog);
      this.watchdog = undefined;
    }
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
        this.fail(slot, running.index, SandboxErrorCode.Timeout, `The task ran past its wall-time limit of ${entry.task.limits.wallMs} ms and was stopped.`, now - running.since);
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
      if (i === index) e.resolve(failedResult(code, message, durationMs));
      else if (code === SandboxErrorCode.WorkerCrashed && ++e.attempts > MAX_ATTEMPTS) {
        e.resolve(failedResult(code, `${message} (after ${MAX_ATTEMPTS} retries)`, 0));
      } else retry.push(e);
    });
    this.queue.unshift(...retry);
    this.startFailures = slot.online ? 0 : this.startFailures + 1;
    if (this.startFailures >= MAX_START_FAILURES) {
      // Workers die before starting (a broken install): stop respawning and fail what is queued.
      this.broken = `${message} (${this.startFailures} workers in a row failed to start)`;
      for (const p of this.queue.splice(0)) p.resolve(failedResult(SandboxErrorCode.WorkerCrashed, this.broken, 0));
      return;
    }
    const at = this.slots.indexOf(slot);
    if (!this.closed && at >= 0) this.slots[at] = this.spawn();
    this.dispatch();
  }

  private spawn(): Slot {
    const control = new SharedArrayBuffer(CONTROL_BYTES);
    const worker = new Worker(this.url, { workerData: { control } });
    const slot: Slot = { worker, control: new Control(control), modules: new Set(), batch: undefined, dead: false, online: false };
    worker.on('online', () => (slot.online = true));
    worker.on('message', (msg: DoneMessage) => this.onDone(slot, msg));
    worker.on('error', (e) => this.onWorkerGone(slot, e.message));
    worker.on('exit', (code) => this.onWorkerGone(slot, `exited with code ${code}`));
    worker.unref();
    return slot;
  }
}
