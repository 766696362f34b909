/**
 * The benchmark every provider reports in its capabilities: a fixed WASM kernel run on the same
 * engine tasks use, so `lode node` and browser figures compare.
 */

// run(n, x) applies n xorshift32 steps to x and returns x.
//   (func (export "run") (param $n i32) (param $x i32) (result i32)
//     (loop $l  x ^= x << 13; x ^= x >>> 17; x ^= x << 5; n -= 1; (br_if $l (n > 0)))  x)
// Built inline so the benchmark needs no file.
const KERNEL = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 7, 1, 96, 2, 127, 127, 1, 127, 3, 2, 1, 0, 7, 7, 1, 3, 114, 117, 110, 0, 0, 10, 53, 1, 51, 0, 3, 64, 32, 1, 32, 1, 65, 13,
  116, 115, 33, 1, 32, 1, 32, 1, 65, 17, 118, 115, 33, 1, 32, 1, 32, 1, 65, 5, 116, 115, 33, 1, 32, 0, 65, 1, 107, 33, 0, 32, 0, 65, 0, 74, 13, 0, 11, 32, 1,
  11,
]);

export interface BenchmarkOptions {
  /** How long to run the kernel. @default 150 */
  durationMs?: number;
}

/**
 * Runs the kernel for about `durationMs` (after a short warm-up) and returns kernel iterations
 * per millisecond, rounded to an integer. Blocks the thread meanwhile: call it once, at start.
 */
export async function benchmark(options: BenchmarkOptions = {}): Promise<number> {
  const durationMs = options.durationMs ?? 150;
  const { instance } = await WebAssembly.instantiate(KERNEL);
  const run = instance.exports.run as (n: number, x: number) => number;
  const chunk = 50_000;
  let x = 1;
  // Warm-up so the tier-up compiler has run before we measure.
  for (let i = 0; i < 5; i++) x = run(chunk, x);
  let iterations = 0;
  const start = performance.now();
  let elapsed = 0;
  do {
    x = run(chunk, x);
    iterations += chunk;
    elapsed = performance.now() - start;
  } while (elapsed < durationMs);
  if (x === 0) throw new Error('benchmark kernel degenerated'); // xorshift never reaches 0 from 1; keeps x live
  return Math.round(iterations / elapsed);
}
