/**
 * primes — counts the primes p with lo ≤ p < hi by trial division.
 *
 *   primes lo hi        (0 ≤ lo ≤ hi ≤ 2^63)
 *
 * Prints {"lo":L,"hi":H,"count":C} and a newline. Deliberately CPU-bound and memory-light:
 * each candidate is tested on its own (6k ± 1 divisors up to √n), so the work of a range grows
 * with both its length and the size of its numbers. The TypeScript reference uses a segmented
 * sieve instead, so the two agree only if both are right.
 */
import { args, fail, STDOUT, writeString } from "./lib/io";
import { parseU64In } from "./lib/parse";

const argv = args();
if (argv.length != 2) fail("usage: primes lo hi");
const LIMIT: u64 = 1 << 63;
const lo = parseU64In(argv[0], "lo", 0, LIMIT);
const hi = parseU64In(argv[1], "hi", lo, LIMIT);

/** Primality of n < 2^32 using 32-bit division, much cheaper than 64-bit. */
function isPrime32(n: u32): bool {
  if (n < 4) return n >= 2;
  if (n % 2 == 0 || n % 3 == 0) return false;
  for (let d: u32 = 5; <u64>d * d <= <u64>n; d += 6) {
    if (n % d == 0 || n % (d + 2) == 0) return false;
  }
  return true;
}

/** Primality of n < 2^63; d·d cannot overflow because d stays below √(2^63) + 6. */
function isPrime64(n: u64): bool {
  if (n < 0x100000000) return isPrime32(<u32>n);
  if (n % 2 == 0 || n % 3 == 0) return false;
  for (let d: u64 = 5; d * d <= n; d += 6) {
    if (n % d == 0 || n % (d + 2) == 0) return false;
  }
  return true;
}

let count: u64 = 0;
for (let n = lo; n < hi; n++) {
  if (isPrime64(n)) count++;
}

writeString(STDOUT, '{"lo":' + lo.toString() + ',"hi":' + hi.toString() + ',"count":' + count.toString() + "}\n");
