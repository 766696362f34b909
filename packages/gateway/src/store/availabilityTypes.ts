/**
 * The availability side of the store (availability/): epochs, passed challenges and device
 * records. Implemented over SQL by sqlAvailabilityStore.ts.
 */
import type { BatchPlan, SettlementBatch } from './types.js';

/** An availability epoch as stored: its terms, and once scored, when and its batch. */
export interface AvailabilityEpoch {
  epoch: number;
  /** ms */
  startsAt: number;
  lengthMs: number;
  /** Challenges per device. */
  rate: number;
  /** The most it pays (wei). */
  pool: bigint;
  settledAt: number | null;
  batchId: number | null;
}

/** A challenge a device passed: moment `k` of its epoch. */
export interface ChallengePass {
  epoch: number;
  /** Lower-case node address. */
  node: string;
  k: number;
  /** Candidates per second it proved (at most `declared`). */
  proven: number;
  /** Candidates per second it declared. */
  declared: number;
  /** Slots it declared (capped). */
  capacity: number;
  /** ms */
  at: number;
}

/** A device's record over the epochs scored. */
export interface AvailabilityRecord {
  epochs: number;
  passed: number;
  challenges: number;
}

/**
 * Guarantees (one gateway or several on one database):
 * - An epoch's terms are set once, by the first `openEpoch`; later calls get those terms.
 * - A pass is kept once per (epoch, node, k), and only while its epoch is not scored.
 * - `settleEpoch` scores an epoch once, ever: in ONE transaction it marks the epoch scored, records
 *   its reward batch, adds each device's epoch to its record and drops the epoch's passes.
 */
export interface AvailabilityStore {
  /** Records the epoch with these terms unless it is recorded already; returns the terms it has. */
  openEpoch(epoch: Omit<AvailabilityEpoch, 'settledAt' | 'batchId'>): Promise<AvailabilityEpoch>;
  /** Keeps passes; those of a scored (or unopened) epoch and repeats are dropped. Returns how many were kept. */
  recordPasses(passes: readonly ChallengePass[]): Promise<number>;
  /** An epoch's passes, by node then k. */
  passesOf(epoch: number): Promise<ChallengePass[]>;
  /** Epochs not scored yet that ended by `endedBy` (ms), oldest first. */
  unsettledEpochs(endedBy: number, limit: number): Promise<AvailabilityEpoch[]>;
  /**
   * Scores an epoch: `rewards` (when it pays anyone) becomes its reward batch, and each of
   * `records` adds one epoch, its passes and `rate` challenges to the device's record. Null when
   * the epoch is scored already (by this gateway or another) or was never opened.
   */
  settleEpoch(
    epoch: number,
    rewards: Pick<BatchPlan, 'root' | 'tree' | 'payouts'> | null,
    records: ReadonlyArray<{ node: string; passed: number }>,
    now: number,
  ): Promise<{ batch: SettlementBatch | null } | null>;
  /** A device's record, or null when it was never scored. */
  recordOf(node: string): Promise<AvailabilityRecord | null>;
}
