/**
 * Proof of availability, decided in pure functions (the service in availability.ts applies them):
 *
 * - **When** a device is challenged: `challengeOffsets` — `rate` moments in an epoch, drawn from
 *   an HMAC of the gateway's secret, the epoch and the device's *group* (its IP address), so a
 *   node cannot predict them, and every device behind one address is challenged at the same
 *   moments: one machine posing as many devices must answer all their challenges at once.
 * - **What**: `challengeTasks` — one known-answer task per slot the device declares, each
 *   counting the primes in a fresh range sized to take `TARGET_MS` at the speed the device
 *   declares (its benchmark). A device declaring more slots or speed than it has runs them
 *   slower than declared and misses `deadlineMs`. The answer is computed here by a sieve — a
 *   different algorithm from the module's trial division.
 * - **Who earns what**: `epochRewards` — a device's score is the share of its `rate` challenges
 *   it answered right in time (an offline device answers none); each answer weighs what it
 *   proved: the primes candidates its tasks tested per second (`provenThroughput`), at most
 *   what the device declares (slots, capped at `CAPACITY_CAP`, × its benchmark). The pool is
 *   split by the sum, floor division, the dust left unspent. A machine posing as k devices (or
 *   declaring k times its slots or speed) answers k times slower: it proves what it has, and the
 *   extra devices earn nothing — whatever slack the deadline leaves.
 */
import { createHmac } from 'node:crypto';

/** How long one challenge task should take on the device as it declares itself. */
export const TARGET_MS = 500;
/** Primes candidates (near 2^30..2^32) one benchmark point tests per millisecond (measured: see docs). */
export const CANDIDATES_PER_BENCH_MS = 0.0016;
/** A challenge is answered in time within max(MIN_DEADLINE_MS, DEADLINE_FACTOR × TARGET_MS) + NETWORK_MS. */
export const DEADLINE_FACTOR = 4;
export const MIN_DEADLINE_MS = 2_000;
export const NETWORK_MS = 1_000;
/** The most slots a device is challenged on (and rewarded for). */
export const CAPACITY_CAP = 64;
/** Challenges fall in [5 %, 85 %] of the epoch, so each one's deadline passes before it ends. */
const WINDOW = [0.05, 0.85] as const;
/** Ranges start in [2^30, 3·2^30): 32-bit trial division, all well below 2^32. */
const RANGE_BASE = 2 ** 30;

/** The moments (ms from the epoch's start, ascending) at which a group is challenged. */
export function challengeOffsets(secret: Uint8Array, epoch: bigint, group: string, rate: number, epochMs: number): number[] {
  const offsets: number[] = [];
  const [from, to] = WINDOW;
  for (let k = 0; k < rate; k++) {
    const u = uniform(secret, `offset:${epoch}:${group}:${k}`);
    offsets.push(Math.floor(epochMs * (from + (to - from) * u)));
  }
  return offsets.sort((a, b) => a - b);
}

/** What a device declares that a challenge is sized by. */
export interface DeclaredCapacity {
  slots: number;
  /** Iterations per ms of the fixed benchmark kernel (protocol Capabilities.benchmark). */
  benchmark: number;
}

export interface ChallengeTask {
  lo: number;
  hi: number;
  /** The primes in [lo, hi): the known answer. */
  count: number;
}

export interface Challenge {
  tasks: ChallengeTask[];
  /** The answer must be in within this many ms of sending. */
  deadlineMs: number;
  /** Candidates per second the device declares it tests over all its slots (what it is paid on, at most). */
  declaredPerSecond: number;
}

/** The slots a device is challenged and rewarded on. */
export function capacityOf(declared: DeclaredCapacity): number {
  return Math.max(1, Math.min(CAPACITY_CAP, Math.floor(declared.slots)));
}

/**
 * The `k`-th challenge of a device in an epoch: one primes range per declared slot, of the length
 * the declared benchmark tests in TARGET_MS, at a secret place; `count` answers each (by `countPrimes`).
 */
export function challengeFor(
  secret: Uint8Array,
  epoch: bigint,
  node: string,
  k: number,
  declared: DeclaredCapacity,
  countPrimes: (lo: number, hi: number) => number,
): Challenge {
  const length = taskLength(declared);
  const tasks = Array.from({ length: capacityOf(declared) }, (_, unit) => {
    const lo = RANGE_BASE + Math.floor(uniform(secret, `range:${epoch}:${node}:${k}:${unit}`) * RANGE_BASE);
    return { lo, hi: lo + length, count: countPrimes(lo, lo + length) };
  });
  return { tasks, deadlineMs: Math.max(MIN_DEADLINE_MS, DEADLINE_FACTOR * TARGET_MS) + NETWORK_MS, declaredPerSecond: declaredThroughput(declared) };
}

/** Candidates in one challenge task: what the declared benchmark tests in TARGET_MS. */
function taskLength(declared: DeclaredCapacity): number {
  return Math.max(1_000, Math.round(TARGET_MS * Math.max(1, declared.benchmark) * CANDIDATES_PER_BENCH_MS));
}

/** Candidates per second a device declares it tests, all slots together (capped at CAPACITY_CAP slots). */
export function declaredThroughput(declared: DeclaredCapacity): number {
  return Math.round((capacityOf(declared) * taskLength(declared) * 1000) / TARGET_MS);
}

/**
 * What an answered challenge proves: the candidates its tasks tested per second, from sending
 * to the last answer — at most what the device declares (being faster than declared earns no more).
 */
export function provenThroughput(challenge: Challenge, elapsedMs: number): number {
  const work = challenge.tasks.reduce((s, t) => s + (t.hi - t.lo), 0);
  return Math.min(challenge.declaredPerSecond, Math.floor((work * 1000) / Math.max(1, elapsedMs)));
}

/** One device's epoch, as the service recorded it. */
export interface DeviceEpoch {
  node: string;
  /** Challenges answered right and in time (at most `rate`). */
  passed: number;
  /** Σ provenThroughput over the passed challenges (candidates per second). */
  proven: number;
  /** declaredThroughput: what one passed challenge may prove at most. */
  declared: number;
  /** Registered, and its own stake reaches the minimum at the epoch's end. */
  eligible: boolean;
}

/** One device's passes in an epoch, summed. */
export interface DeviceTally {
  node: string;
  passed: number;
  /** Σ proven throughput of its passes. */
  proven: number;
  /** The most it declared. */
  declared: number;
  capacity: number;
}

/**
 * Sums an epoch's passes per device (from every gateway that challenged it), counting only those
 * inside the epoch: at or before its end, one per moment below `rate`.
 */
export function tallyPasses(
  e: { startsAt: number; lengthMs: number; rate: number },
  passes: ReadonlyArray<{ node: string; k: number; proven: number; declared: number; capacity: number; at: number }>,
): DeviceTally[] {
  const byNode = new Map<string, DeviceTally>();
  const seen = new Set<string>();
  for (const p of passes) {
    if (p.at > e.startsAt + e.lengthMs || p.k < 0 || p.k >= e.rate || seen.has(`${p.node}/${p.k}`)) continue;
    seen.add(`${p.node}/${p.k}`);
    const d = byNode.get(p.node) ?? { node: p.node, passed: 0, proven: 0, declared: 0, capacity: 0 };
    d.passed++;
    d.proven += p.proven;
    d.declared = Math.max(d.declared, p.declared);
    d.capacity = Math.max(d.capacity, p.capacity);
    byNode.set(p.node, d);
  }
  return [...byNode.values()];
}

export interface EpochReward {
  node: string;
  amount: bigint;
  /** passed / rate. */
  score: number;
  /** Mean proven throughput of the passed challenges over the declared one, 0..1. */
  speed: number;
}

/**
 * Splits `pool` among eligible devices by the throughput their passed challenges proved (each at
 * most what the device declares): floor(pool × proven / Σ proven) each. The sum is at most
 * `pool`; what rounding leaves stays unallocated (it funds a later epoch). Devices that earn
 * nothing are left out.
 */
export function epochRewards(devices: readonly DeviceEpoch[], pool: bigint, rate: number): EpochReward[] {
  if (rate <= 0 || pool <= 0n) return [];
  const weighted = devices
    .filter((d) => d.eligible && d.passed > 0)
    .map((d) => {
      const passed = Math.min(d.passed, rate);
      return { d, passed, weight: BigInt(Math.max(0, Math.min(Math.floor(d.proven), passed * d.declared))) };
    });
  const total = weighted.reduce((s, w) => s + w.weight, 0n);
  if (total === 0n) return [];
  return weighted
    .map(({ d, passed, weight }) => ({
      node: d.node.toLowerCase(),
      amount: (pool * weight) / total,
      score: passed / rate,
      speed: d.declared > 0 ? Number(weight) / (passed * d.declared) : 0,
    }))
    .filter((r) => r.amount > 0n)
    .sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
}

/** A number in [0, 1) from HMAC-SHA256(secret, label): unpredictable without the secret. */
function uniform(secret: Uint8Array, label: string): number {
  const mac = createHmac('sha256', secret).update(label).digest();
  return mac.readUIntBE(0, 6) / 2 ** 48;
}
