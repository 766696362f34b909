const MASK64 = (1n << 64n) - 1n;
const GAMMA = 0x9e3779b97f4a7c15n;

/**
 * splitmix64 as a generator of unsigned 64-bit BigInts: the state starts at `seed`; each output
 * adds 0x9E3779B97F4A7C15 to the state, then mixes it
 * (z ^= z >> 30; z *= 0xBF58476D1CE4E5B9; z ^= z >> 27; z *= 0x94D049BB133111EB; z ^= z >> 31).
 */
export function* splitmix64(seed: bigint): Generator<bigint, never> {
  let state = BigInt.asUintN(64, seed);
  while (true) {
    state = (state + GAMMA) & MASK64;
    let z = state;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
    yield z ^ (z >> 31n);
  }
}

/** Result of the `pi` workload; π ≈ 4 · inside / samples. */
export interface PiResult {
  inside: number;
  samples: number;
}

/**
 * Counts, like the `pi` module, how many of `samples` points fall inside the quarter circle:
 * each point takes two splitmix64 outputs a, b; x = a >> 33, y = b >> 33 (31-bit integers);
 * inside iff x² + y² < 2^62. BigInt arithmetic, independent of the module's u64 code; about a
 * million samples per second, so use it on small sample counts or spot checks.
 */
export function pi(seed: bigint | number | string, samples: number): PiResult {
  if (!Number.isSafeInteger(samples) || samples < 0) throw new RangeError('samples must be a non-negative safe integer');
  const rng = splitmix64(BigInt(seed));
  const radiusSquared = 1n << 62n;
  let inside = 0;
  for (let i = 0; i < samples; i++) {
    const x = rng.next().value >> 33n;
    const y = rng.next().value >> 33n;
    if (x * x + y * y < radiusSquared) inside++;
  }
  return { inside, samples };
}
