/**
 * pi — Monte Carlo estimate of π with an exactly reproducible count.
 *
 *   pi seed samples
 *
 * Draws `samples` points from splitmix64 seeded with `seed` (both unsigned 64-bit decimals).
 * A point is two consecutive outputs, each cut to its top 31 bits: x = a >> 33, y = b >> 33.
 * It is inside the quarter circle if x² + y² < 2^62. Integer arithmetic only, so the count is
 * the same on every engine. Prints {"inside":N,"samples":M} and a newline; π ≈ 4·N/M.
 */
import { args, fail, STDOUT, writeString } from "./lib/io";
import { parseU64 } from "./lib/parse";

const argv = args();
if (argv.length != 2) fail("usage: pi seed samples");
let state = parseU64(argv[0], "seed");
const samples = parseU64(argv[1], "samples");

/** splitmix64 (Steele, Lea, Flood 2014): advance the state by the golden gamma, then mix. */
// @ts-ignore: decorator
@inline function next(): u64 {
  state += 0x9e3779b97f4a7c15;
  let z = state;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
  z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
  return z ^ (z >> 31);
}

const RADIUS_SQUARED: u64 = 1 << 62;
let inside: u64 = 0;
for (let i: u64 = 0; i < samples; i++) {
  const x = next() >> 33;
  const y = next() >> 33;
  if (x * x + y * y < RADIUS_SQUARED) inside++;
}

writeString(STDOUT, '{"inside":' + inside.toString() + ',"samples":' + samples.toString() + "}\n");
