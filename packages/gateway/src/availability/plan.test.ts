import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { reference } from '@lode/workloads';
import {
  CANDIDATES_PER_BENCH_MS,
  CAPACITY_CAP,
  TARGET_MS,
  challengeFor,
  challengeOffsets,
  declaredThroughput,
  epochRewards,
  provenThroughput,
  tallyPasses,
  type DeviceEpoch,
} from './plan.js';

const secret = new Uint8Array(32).fill(7);

describe('challengeOffsets', () => {
  it('gives every device of one address the same moments, inside the epoch, and another address others', () => {
    const a = challengeOffsets(secret, 5n, '10.0.0.1', 3, 60_000);
    expect(challengeOffsets(secret, 5n, '10.0.0.1', 3, 60_000)).toEqual(a);
    expect(challengeOffsets(secret, 5n, '10.0.0.2', 3, 60_000)).not.toEqual(a);
    expect(challengeOffsets(secret, 6n, '10.0.0.1', 3, 60_000)).not.toEqual(a);
    expect(challengeOffsets(new Uint8Array(32).fill(8), 5n, '10.0.0.1', 3, 60_000)).not.toEqual(a);
    for (const t of a) expect(t >= 3_000 && t < 51_000).toBe(true);
    expect([...a].sort((x, y) => x - y)).toEqual(a);
  });
});

describe('challengeFor', () => {
  it('sizes one task per declared slot (capped) to TARGET_MS at the declared speed, answered by the sieve', () => {
    const c = challengeFor(secret, 1n, '0xabc', 0, { slots: 3, benchmark: 10_000 }, reference.primesCount);
    expect(c.tasks).toHaveLength(3);
    for (const t of c.tasks) {
      expect(t.hi - t.lo).toBe(Math.round(TARGET_MS * 10_000 * CANDIDATES_PER_BENCH_MS));
      expect(t.lo).toBeGreaterThanOrEqual(2 ** 30);
      expect(t.hi).toBeLessThan(2 ** 32);
      expect(t.count).toBe(reference.primesCount(t.lo, t.hi));
    }
    expect(new Set(c.tasks.map((t) => t.lo)).size).toBe(3);
    expect(challengeFor(secret, 1n, '0xabc', 0, { slots: 10_000, benchmark: 1 }, () => 0).tasks).toHaveLength(CAPACITY_CAP);
    expect(c.deadlineMs).toBeGreaterThan(TARGET_MS * 2);
  });
});

describe('epochRewards', () => {
  /** A device of `capacity` slots (1,000 candidates/s each) that proved `speed` of that in each passed challenge. */
  const d = (node: string, passed: number, capacity: number, eligible = true, speed = 1): DeviceEpoch => ({
    node,
    passed,
    proven: Math.round(passed * speed * capacity * 1000),
    declared: capacity * 1000,
    eligible,
  });

  it('pays only eligible devices that answered, by score × capacity, never above the pool', () => {
    const rewards = epochRewards([d('0xa', 3, 2), d('0xb', 0, 8), d('0xc', 3, 1, false), d('0xd', 1, 2)], 80n, 3);
    expect(rewards).toEqual([
      { node: '0xa', amount: 60n, score: 1, speed: 1 }, // weight 6 of 8
      { node: '0xd', amount: 20n, score: 1 / 3, speed: 1 }, // weight 2 of 8
    ]);
  });

  it('gives a machine posing as k devices, each proving 1/k of the speed, what one device of its real slots earns', () => {
    const honest = d('0xh', 3, 2);
    for (const k of [1, 2, 4, 8]) {
      const fakes = Array.from({ length: k }, (_, i) => d(`0xf${i}`, 3, 2, true, 1 / k));
      const rewards = epochRewards([honest, ...fakes], 1_000_000n, 3);
      const cheater = rewards.filter((r) => r.node.startsWith('0xf')).reduce((s, r) => s + r.amount, 0n);
      expect(Number(cheater)).toBeCloseTo(500_000, -2); // half the pool, whatever k
    }
    // What a challenge proves: the work over the time it took, never above what was declared.
    const c = challengeFor(secret, 1n, '0xabc', 0, { slots: 2, benchmark: 10_000 }, () => 0);
    const work = c.tasks.reduce((s, t) => s + t.hi - t.lo, 0);
    expect(c.declaredPerSecond).toBe(declaredThroughput({ slots: 2, benchmark: 10_000 }));
    expect(provenThroughput(c, TARGET_MS)).toBe(c.declaredPerSecond);
    expect(provenThroughput(c, TARGET_MS / 4)).toBe(c.declaredPerSecond); // faster than declared: no more
    expect(provenThroughput(c, 4 * TARGET_MS)).toBe(Math.floor((work * 1000) / (4 * TARGET_MS)));
  });

  it('sums to at most the pool, leaving less than one wei per device (property)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            passed: fc.nat(5),
            capacity: fc.integer({ min: 1, max: 200 }),
            eligible: fc.boolean(),
            speed: fc.double({ min: 0.01, max: 1, noNaN: true }),
          }),
          {
            maxLength: 30,
          },
        ),
        fc.bigInt({ min: 0n, max: 10n ** 24n }),
        (devices, pool) => {
          const rewards = epochRewards(
            devices.map((x, i) => d(`0x${i}`, x.passed, x.capacity, x.eligible, x.speed)),
            pool,
            5,
          );
          const total = rewards.reduce((s, r) => s + r.amount, 0n);
          expect(total <= pool).toBe(true);
          const paying = devices.filter((x) => x.eligible && x.passed > 0).length;
          if (paying > 0) expect(pool - total < BigInt(paying)).toBe(true);
          for (const r of rewards) expect(r.amount > 0n).toBe(true);
        },
      ),
    );
  });
});

describe('tallyPasses', () => {
  it('sums each device over the passes inside the epoch, one per moment below the rate', () => {
    const e = { startsAt: 1_000, lengthMs: 100, rate: 3 };
    const p = (node: string, k: number, at: number, proven = 10, declared = 20, capacity = 1) => ({ node, k, at, proven, declared, capacity });
    expect(
      tallyPasses(e, [
        p('0xa', 0, 1_010),
        p('0xa', 1, 1_050, 20, 25, 2), // another gateway saw it declare more
        p('0xa', 1, 1_060), // the same moment twice: counted once
        p('0xa', 3, 1_070), // beyond the rate
        p('0xb', 2, 1_100), // at the end: counts
        p('0xb', 0, 1_101), // after it: does not
      ]),
    ).toEqual([
      { node: '0xa', passed: 2, proven: 30, declared: 25, capacity: 2 },
      { node: '0xb', passed: 1, proven: 10, declared: 20, capacity: 1 },
    ]);
  });
});
