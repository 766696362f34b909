/**
 * A virtual clock: the only time a task can see. It starts at instants derived from the task
 * seed and moves forward by `CLOCK_STEP_NS` on every reading (and to the deadline of a clock
 * subscription in `poll_oneoff`), never with real time. So two runs of the same task read the
 * same sequence of times, and a task cannot measure the host (no timing side channel).
 */
import { ClockId } from './constants.js';

/** How far every `clock_time_get` moves the clock, and what `clock_res_get` reports. @default 1 µs */
export const CLOCK_STEP_NS = 1_000n;

/** Realtime starts at 2023-11-14T22:13:20Z plus up to ~388 days chosen by the seed. */
const REALTIME_EPOCH_NS = 1_700_000_000n * 1_000_000_000n;

export class VirtualClock {
  /** Nanoseconds elapsed since the task started (in virtual time). */
  private elapsed = 0n;
  private readonly realtimeBase: bigint;
  private readonly monotonicBase: bigint;

  /** `seed` is the task's 32-byte seed. */
  constructor(seed: Uint8Array) {
    const view = new DataView(seed.buffer, seed.byteOffset, seed.byteLength);
    // 2^45 ns ≈ 9.8 hours for the monotonic origin, 2^55 ns ≈ 417 days for the wall clock.
    this.monotonicBase = view.getBigUint64(0, true) & ((1n << 45n) - 1n);
    this.realtimeBase = REALTIME_EPOCH_NS + (view.getBigUint64(8, true) & ((1n << 55n) - 1n));
  }

  /** True for the four preview1 clock ids. */
  static isValid(id: number): boolean {
    return id >= ClockId.REALTIME && id <= ClockId.THREAD_CPUTIME;
  }

  /** Reads a clock, then advances virtual time by one step. */
  read(id: number): bigint {
    this.elapsed += CLOCK_STEP_NS;
    return this.base(id) + this.elapsed;
  }

  /** The current time of a clock without advancing (used for file timestamps). */
  peek(id: number): bigint {
    return this.base(id) + this.elapsed;
  }

  /** Absolute deadline on clock `id` → virtual elapsed time; relative → from now. */
  deadline(id: number, timeout: bigint, absolute: boolean): bigint {
    return absolute ? timeout - this.base(id) : this.elapsed + timeout;
  }

  /** Whether an elapsed-time deadline has passed. */
  reached(deadline: bigint): boolean {
    return this.elapsed >= deadline;
  }

  /** Moves virtual time forward to `deadline` (never backwards): a `poll_oneoff` sleep. */
  advanceTo(deadline: bigint): void {
    if (deadline > this.elapsed) this.elapsed = deadline;
  }

  private base(id: number): bigint {
    if (id === ClockId.REALTIME) return this.realtimeBase;
    if (id === ClockId.MONOTONIC) return this.monotonicBase;
    return 0n; // process and thread CPU time start at zero
  }
}
