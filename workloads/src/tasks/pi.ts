import { splitmix64 } from '../reference/pi.js';

export interface PiTasksParameters {
  /** Base seed (unsigned 64-bit); task seeds are derived from it. */
  seed: bigint | number | string;
  /** Total samples, split as evenly as possible. */
  samples: number;
  tasks: number;
}

export interface PiTask {
  /** argv[1..] for the `pi` module: seed, samples. */
  args: string[];
  seed: bigint;
  samples: number;
}

/**
 * Splits a Monte Carlo π estimate into tasks. Task i is seeded with the i-th splitmix64 output
 * of the base seed, so tasks draw from unrelated streams and the whole job is reproducible.
 * Sum the tasks' `inside` and `samples`; π ≈ 4 · inside / samples.
 */
export function piTasks(params: PiTasksParameters): PiTask[] {
  const { samples, tasks } = params;
  if (!Number.isSafeInteger(samples) || samples < 0) throw new RangeError('samples must be a non-negative safe integer');
  if (!Number.isInteger(tasks) || tasks < 1) throw new RangeError('tasks must be a positive integer');
  const seeds = splitmix64(BigInt(params.seed));
  const base = Math.floor(samples / tasks);
  const extra = samples % tasks;
  return Array.from({ length: tasks }, (_, i) => {
    const seed = seeds.next().value;
    const n = base + (i < extra ? 1 : 0);
    return { seed, samples: n, args: [seed.toString(), String(n)] };
  });
}
