/**
 * Counts primes p with lo ≤ p < hi with a segmented sieve of Eratosthenes — a different
 * algorithm from the module's trial division. Needs ⌊√hi⌋ bytes for the base primes plus one
 * segment; hi must be a safe integer.
 */
export function primesCount(lo: number, hi: number): number {
  if (!Number.isSafeInteger(lo) || !Number.isSafeInteger(hi) || lo < 0 || hi < lo) {
    throw new RangeError('need safe integers 0 <= lo <= hi');
  }
  const start = Math.max(lo, 2);
  if (hi <= start) return 0;
  const basePrimes = smallPrimes(Math.floor(Math.sqrt(hi - 1)));
  const SEGMENT = 1 << 20;
  const composite = new Uint8Array(SEGMENT);
  let count = 0;
  for (let segLo = start; segLo < hi; segLo += SEGMENT) {
    const segHi = Math.min(segLo + SEGMENT, hi);
    composite.fill(0);
    for (const p of basePrimes) {
      if (p * p >= segHi) break;
      // first multiple of p in [segLo, segHi) that is not p itself
      let m = Math.max(p * p, Math.ceil(segLo / p) * p);
      for (; m < segHi; m += p) composite[m - segLo] = 1;
    }
    for (let i = 0; i < segHi - segLo; i++) if (composite[i] === 0) count++;
  }
  return count;
}

/** All primes ≤ limit, by a plain sieve. */
function smallPrimes(limit: number): number[] {
  if (limit < 2) return [];
  const composite = new Uint8Array(limit + 1);
  const primes: number[] = [];
  for (let i = 2; i <= limit; i++) {
    if (composite[i] !== 0) continue;
    primes.push(i);
    for (let m = i * i; m <= limit; m += i) composite[m] = 1;
  }
  return primes;
}
