/**
 * Messages between the pool (main thread) and a sandbox worker, and the layout of the shared
 * control block the watchdog reads. One message carries a whole batch each way.
 */
import type { SandboxResult, SandboxTask } from '../types.js';

/** Main → worker: run these tasks in order. `modules` are those this worker has not seen yet. */
export interface BatchMessage {
  type: 'batch';
  id: number;
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
  /** `CONTROL_BYTES` of shared memory: see `Control`. */
  control: SharedArrayBuffer;
}

/**
 * The control block: the worker writes the start time of the task it is about to run, then its
 * 1-based position in the batch (0 = between tasks). The main thread's watchdog reads both to
 * enforce each task's wall time without a message per task.
 */
export const CONTROL_BYTES = 16;

export class Control {
  private readonly seq: Int32Array;
  private readonly start: Float64Array;
  constructor(readonly buffer: SharedArrayBuffer) {
    this.seq = new Int32Array(buffer, 0, 1);
    this.start = new Float64Array(buffer, 8, 1);
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
