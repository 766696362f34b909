/**
 * What `GET /v1/availability` shows of an epoch: the one in progress (from the service's memory)
 * and the ones a gateway scored (from the store's passes). Pure.
 */
import type { AvailabilityEpoch } from '../store/availabilityTypes.js';
import type { DeviceTally, EpochReward } from './plan.js';

/** One device's record of an epoch, for the API. */
export interface DeviceEpochView {
  node: string;
  challenges: number;
  passed: number;
  /** Proven throughput of the passed challenges over the declared one (1 = as declared). */
  speed: number;
  missed: number;
  capacity: number;
}

export interface EpochView {
  epoch: number;
  startsAt: number;
  endsAt: number;
  rate: number;
  pool: string;
  devices: DeviceEpochView[];
}

export interface SettledEpochView extends EpochView {
  rewards: Array<{ node: string; amount: string; score: number; speed: number }>;
  batch: number | null;
}

/** A device in the epoch in progress, as the service counts it. */
export interface LiveDevice {
  node: string;
  /** Moments reached so far. */
  next: number;
  passed: number;
  proven: number;
  declared: number;
  missed: number;
  capacity: number;
}

const speedOf = (d: { passed: number; proven: number; declared: number }) => (d.passed > 0 && d.declared > 0 ? d.proven / (d.passed * d.declared) : 0);

/** The epoch in progress. */
export function liveView(e: { epoch: number; startMs: number; lengthMs: number; rate: number; pool: bigint; devices: Iterable<LiveDevice> }): EpochView {
  return {
    epoch: e.epoch,
    startsAt: e.startMs,
    endsAt: e.startMs + e.lengthMs,
    rate: e.rate,
    pool: e.pool.toString(),
    devices: [...e.devices].map((d) => ({
      node: d.node,
      challenges: d.next,
      passed: d.passed,
      speed: speedOf(d),
      missed: d.missed,
      capacity: d.capacity,
    })),
  };
}

/** A scored epoch: every device that took part (`records`), what each passed, and the rewards. */
export function settledView(
  e: AvailabilityEpoch,
  tally: ReadonlyMap<string, DeviceTally>,
  records: ReadonlyArray<{ node: string; passed: number }>,
  rewards: readonly EpochReward[],
  batch: number | null,
): SettledEpochView {
  return {
    epoch: e.epoch,
    startsAt: e.startsAt,
    endsAt: e.startsAt + e.lengthMs,
    rate: e.rate,
    pool: e.pool.toString(),
    devices: records.map(({ node, passed }) => {
      const d = tally.get(node);
      return { node, challenges: e.rate, passed, speed: d ? speedOf(d) : 0, missed: e.rate - passed, capacity: d?.capacity ?? 0 };
    }),
    rewards: rewards.map((r) => ({ node: r.node, amount: r.amount.toString(), score: r.score, speed: r.speed })),
    batch,
  };
}
