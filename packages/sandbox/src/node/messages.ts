/**
 * Messages between the pool (main thread) and a sandbox worker, and the layout of the shared
 * control block the watchdog reads. One message carries a whole batch each way.
 */
import type { SandboxResult, SandboxTask } from '../types.js';

/**
 * Main → worker: run these tasks in order. `modules` are those this worker has not seen yet;
 * `drop`, modules to forget first (evicted from the pool's cache).
 */
export interface BatchMessage {
  type: 'batch';
  id: number;
  drop?: string[];
  modules: [key: string, module: WebAssembly.Module][];
  tasks: { key: string; task: SandboxTask }[];
}

/** Worker → main: the results of a batch, in task order. */
export interface DoneMessage {
  type: 'done';
  id: number;
  results: SandboxResult[];
}

export interface WorkerInit {
  /** `controlBytes(maxBatch)` of shared memory: see `Control`. */
  control: SharedArrayBuffer;
}

/** Size of the header: the running task's 1-based index (Int32) and its start time (Float64). */
const HEADER_BYTES = 16;

/** Bytes of shared memory for the control block of a worker that takes batches of up to `maxBatch`. */
export function controlBytes(maxBatch: number): number {
  return HEADER_BYTES + Math.ceil(maxBatch / 4) * 4;
}

/**
 * The control block: the worker writes the start time of the task it is about to run, then its
 * 1-based position in the batch (0 = between tasks). The main thread's watchdog reads both to
 * enforce each task's wall time without a message per task.
 *
 * After the header, one byte per batch position: the main thread sets it when that task is
 * cancelled, and the worker skips a flagged task instead of starting it. The worker publishes
 * the index first and reads the flag after (`begin` then `isCancelled`); the main thread sets the
 * flag first and reads the index after. So for a task being cancelled as it starts, at least one
 * side sees the other: the worker skips it, or the main thread sees it running and ends the worker.
 */
export class Control {
  private readonly seq: Int32Array;
  private readonly start: Float64Array;
  private readonly cancelled: Uint8Array;
  constructor(readonly buffer: SharedArrayBuffer) {
    this.seq = new Int32Array(buffer, 0, 1);
    this.start = new Float64Array(buffer, 8, 1);
    this.cancelled = new Uint8Array(buffer, HEADER_BYTES);
  }

  /** Worker side: task `index` of the batch starts now. */
  begin(index: number, now: number): void {
    this.start[0] = now;
    Atomics.store(this.seq, 0, index + 1);
  }

  /** Worker side: the batch is over. */
  idle(): void {
    Atomics.store(this.seq, 0, 0);
  }

  /** Worker side, after `begin(index)`: whether the main thread cancelled that task. */
  isCancelled(index: number): boolean {
    return index < this.cancelled.length && Atomics.load(this.cancelled, index) !== 0;
  }

  /** Main side: a new batch of `size` tasks is about to be sent; no task of it is cancelled. */
  reset(size: number): void {
    for (let i = 0; i < Math.min(size, this.cancelled.length); i++) Atomics.store(this.cancelled, i, 0);
  }

  /** Main side: task `index` of the current batch must not start. */
  cancel(index: number): void {
    if (index < this.cancelled.length) Atomics.store(this.cancelled, index, 1);
  }

  /**
   * Main side: the running task's index and start time, or undefined between tasks. The start
   * time is never older than the task's true start, so a watchdog never kills a task early.
   */
  running(): { index: number; since: number } | undefined {
    const seq = Atomics.load(this.seq, 0);
    if (seq === 0) return undefined;
    const since = this.start[0]!;
    return Atomics.load(this.seq, 0) === seq ? { index: seq - 1, since } : undefined;
  }
}

/** Milliseconds on a clock all threads of the process agree on. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}
