import { describe, expect, it } from 'vitest';
import { piTasks, primesTasks, reference } from '../src/index.js';
import { runWasi } from './harness.js';

describe('pi', () => {
  it('counts exactly what the reference splitmix64 counts, task by task', () => {
    const tasks = piTasks({ seed: 42n, samples: 100_001, tasks: 4 });
    expect(tasks.map((t) => t.samples)).toEqual([25_001, 25_000, 25_000, 25_000]);
    let inside = 0;
    for (const task of tasks) {
      const run = runWasi('pi', { args: task.args });
      expect(run.exitCode).toBe(0);
      expect(run.stdout.toString()).toBe(`${JSON.stringify(reference.pi(task.seed, task.samples))}\n`);
      inside += JSON.parse(run.stdout.toString()).inside;
    }
    expect((4 * inside) / 100_001).toBeCloseTo(Math.PI, 1);
  });

  it('accepts the full unsigned 64-bit seed range', () => {
    const run = runWasi('pi', { args: ['18446744073709551615', '1000'] });
    expect(JSON.parse(run.stdout.toString())).toEqual(reference.pi(2n ** 64n - 1n, 1000));
    expect(runWasi('pi', { args: ['18446744073709551616', '1'] }).exitCode).toBe(2);
    expect(runWasi('pi', { args: ['-1', '1'] }).exitCode).toBe(2);
  });
});

describe('primes', () => {
  it('agrees with the sieve on small, 32-bit-boundary and large ranges', () => {
    expect(reference.primesCount(0, 100_000)).toBe(9592); // π(10^5), a known value, checks the reference itself
    const ranges: Array<[number, number]> = [
      [0, 0],
      [0, 2],
      [0, 3],
      [2, 3],
      [0, 100_000],
      [4_294_966_000, 4_294_968_000],
      [1e12, 1e12 + 3_000],
    ];
    for (const [lo, hi] of ranges) {
      const run = runWasi('primes', { args: [String(lo), String(hi)] });
      expect(run.exitCode).toBe(0);
      expect(JSON.parse(run.stdout.toString())).toEqual({ lo, hi, count: reference.primesCount(lo, hi) });
    }
  });

  it('splits a range into tasks whose counts add up', () => {
    const tasks = primesTasks({ lo: 1_000, hi: 50_000, tasks: 7 });
    expect(tasks[0]!.lo).toBe(1_000);
    expect(tasks.at(-1)!.hi).toBe(50_000);
    let total = 0;
    for (const task of tasks) total += JSON.parse(runWasi('primes', { args: task.args }).stdout.toString()).count;
    expect(total).toBe(reference.primesCount(1_000, 50_000));
  });

  it('rejects hi < lo', () => {
    expect(runWasi('primes', { args: ['10', '5'] }).exitCode).toBe(2);
  });
});
