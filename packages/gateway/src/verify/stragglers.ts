/**
 * Stragglers: a lease that has taken much longer than the task times observed so far gets a
 * speculative copy on another node (MapReduce's backup tasks). The first valid result wins and
 * the other lease is cancelled at once; under replication the copy counts as a replica.
 *
 * What "expected" means: the larger of the node's and the job's average task run time (what
 * the gateway has seen of both), times the leases queued ahead of it on that node per slot,
 * plus one. Until a job has reported a task time nothing is speculated.
 */

export interface StragglerParams {
  /** A lease straggles when it has taken `factor` × its expected time… @default 4 */
  factor: number;
  /** …and at least `minLateMs` more than expected. @default 2000 */
  minLateMs: number;
}

export const DEFAULT_STRAGGLER_PARAMS: StragglerParams = { factor: 4, minLateMs: 2000 };

/** Expected ms from issue to result for a lease behind `ahead` others on a node with `slots` slots. */
export function expectedLeaseMs(avgTaskMs: number, ahead: number, slots: number): number {
  return avgTaskMs * (Math.floor(Math.max(0, ahead) / Math.max(1, slots)) + 1);
}

/** The time after which a lease issued at `issuedAt` with `expectedMs` straggles. */
export function stragglesAt(issuedAt: number, expectedMs: number, p: StragglerParams = DEFAULT_STRAGGLER_PARAMS): number {
  return issuedAt + Math.max(expectedMs * p.factor, expectedMs + p.minLateMs);
}

/** An exponentially weighted moving average of task run times (ms). */
export class RunTimeAverage {
  private avg: number | undefined;
  constructor(private readonly weight = 0.1) {}

  get value(): number | undefined {
    return this.avg;
  }

  observe(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    this.avg = this.avg === undefined ? ms : this.avg * (1 - this.weight) + ms * this.weight;
  }
}
