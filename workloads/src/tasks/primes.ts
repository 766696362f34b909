export interface PrimesTasksParameters {
  lo: number;
  hi: number;
  tasks: number;
}

export interface PrimesTask {
  /** argv[1..] for the `primes` module: lo, hi. */
  args: string[];
  lo: number;
  hi: number;
}

/**
 * Splits [lo, hi) into `tasks` adjacent ranges of nearly equal length (trial division costs
 * grow slowly with n, so equal lengths are close to equal work). The counts add up.
 */
export function primesTasks(params: PrimesTasksParameters): PrimesTask[] {
  const { lo, hi, tasks } = params;
  if (!Number.isSafeInteger(lo) || !Number.isSafeInteger(hi) || lo < 0 || hi < lo) {
    throw new RangeError('need safe integers 0 <= lo <= hi');
  }
  if (!Number.isInteger(tasks) || tasks < 1) throw new RangeError('tasks must be a positive integer');
  const length = hi - lo;
  return Array.from({ length: tasks }, (_, i) => {
    const a = lo + Math.floor((length * i) / tasks);
    const b = lo + Math.floor((length * (i + 1)) / tasks);
    return { lo: a, hi: b, args: [String(a), String(b)] };
  });
}
