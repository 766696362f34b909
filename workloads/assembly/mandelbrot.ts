/**
 * mandelbrot — renders one rectangular tile of a larger Mandelbrot image as 8-bit grayscale.
 *
 *   mandelbrot width height tileX tileY tileW tileH maxIter [cx cy span]
 *
 * Output: tileW × tileH bytes, rows top to bottom, to stdout — or, if the environment variable
 * MANDELBROT_OUT names a path under a preopened directory (e.g. /out/tile.raw), to that file.
 * Only f64 add, subtract, multiply, divide and compare are used (all exactly rounded in IEEE 754
 * and WebAssembly), plus integer arithmetic, so every engine produces the same bytes.
 * See workloads/README.md for the exact pixel formula.
 */
import { args, fail, getEnv, STDOUT, writeAll, writeFile } from "./lib/io";
import { parseDecimal, parseU64In } from "./lib/parse";

/** Largest accepted image side; keeps pixel indices and 2·px+1 exact in 32 bits. */
const MAX_SIDE: u64 = 1 << 20;
/** Largest tile in pixels (bytes); the module's memory maximum leaves room for this. */
const MAX_TILE_PIXELS: u64 = 32 << 20;

const argv = args();
if (argv.length != 7 && argv.length != 10) {
  fail("usage: mandelbrot width height tileX tileY tileW tileH maxIter [cx cy span]");
}
const width = <i32>parseU64In(argv[0], "width", 1, MAX_SIDE);
const height = <i32>parseU64In(argv[1], "height", 1, MAX_SIDE);
const tileX = <i32>parseU64In(argv[2], "tileX", 0, <u64>width - 1);
const tileY = <i32>parseU64In(argv[3], "tileY", 0, <u64>height - 1);
const tileW = <i32>parseU64In(argv[4], "tileW", 1, <u64>(width - tileX));
const tileH = <i32>parseU64In(argv[5], "tileH", 1, <u64>(height - tileY));
const maxIter = <u32>parseU64In(argv[6], "maxIter", 1, 0x7fffffff);
let cx: f64 = -0.5;
let cy: f64 = 0.0;
let span: f64 = 3.0;
if (argv.length == 10) {
  cx = parseDecimal(argv[7], "cx");
  cy = parseDecimal(argv[8], "cy");
  span = parseDecimal(argv[9], "span");
  if (!(span > 0)) fail("invalid span: must be greater than 0");
}
if (<u64>tileW * <u64>tileH > MAX_TILE_PIXELS) fail("tile too large: at most 33554432 pixels");

/** Largest r with r·r ≤ v, exactly, whatever the engine's sqrt rounding. */
function isqrt(v: u32): u32 {
  let r = <u32>Math.sqrt(<f64>v);
  while (<u64>r * r > v) r--;
  while (<u64>(r + 1) * (r + 1) <= v) r++;
  return r;
}

/**
 * Escape-time iteration count for c = x0 + i·y0: the number of steps (0..maxIter) taken before
 * |z|² > 4, where z₀ = 0 and z ← z² + c. maxIter means "did not escape".
 */
function iterations(x0: f64, y0: f64, maxIter: u32): u32 {
  let zr: f64 = 0;
  let zi: f64 = 0;
  let zr2: f64 = 0;
  let zi2: f64 = 0;
  let n: u32 = 0;
  while (n < maxIter) {
    zr2 = zr * zr;
    zi2 = zi * zi;
    if (zr2 + zi2 > 4.0) break;
    zi = 2.0 * zr * zi + y0;
    zr = zr2 - zi2 + x0;
    n++;
  }
  return n;
}

const step = span / <f64>width;
const pixels = new Uint8Array(tileW * tileH);
for (let ty = 0; ty < tileH; ty++) {
  const py = tileY + ty;
  const y0 = cy - <f64>(2 * py + 1 - height) * 0.5 * step;
  const row = ty * tileW;
  for (let tx = 0; tx < tileW; tx++) {
    const px = tileX + tx;
    const x0 = cx + <f64>(2 * px + 1 - width) * 0.5 * step;
    const n = iterations(x0, y0, maxIter);
    // Inside the set: black. Outside: 1..254, brighter the longer the point took to escape,
    // on a square-root curve so that the many quickly escaping points are not all near-black.
    const shade: u32 = n >= maxIter ? 0 : 1 + isqrt(<u32>((<u64>n * 64516) / <u64>maxIter));
    unchecked((pixels[row + tx] = <u8>shade));
  }
}

const target = getEnv("MANDELBROT_OUT");
if (target.length > 0) {
  writeFile(target, pixels.dataStart, <usize>pixels.length);
} else {
  writeAll(STDOUT, pixels.dataStart, <usize>pixels.length);
}
