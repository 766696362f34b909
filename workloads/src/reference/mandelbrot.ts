import type { MandelbrotImage, MandelbrotTile } from '../tasks/mandelbrot.js';
import { DEFAULT_VIEW } from '../tasks/mandelbrot.js';

/**
 * Computes a tile exactly as the `mandelbrot` module does, in plain JavaScript doubles: the
 * same operations in the same order (JavaScript numbers are IEEE doubles with round-to-nearest,
 * like WebAssembly f64), so the bytes must be identical.
 *
 * Pixel (px, py) of a width × height image samples c = x0 + i·y0 with
 *   step = span / width
 *   x0 = cx + ((2·px + 1 − width) · 0.5) · step
 *   y0 = cy − ((2·py + 1 − height) · 0.5) · step      (row 0 is the top)
 * and is shaded 0 if c does not escape within maxIter steps, else 1 + ⌊√⌊n·64516 / maxIter⌋⌋
 * where n is the escape step count (so 1..254).
 */
export function mandelbrotTile(image: MandelbrotImage, tile: MandelbrotTile): Uint8Array {
  const { width, height, maxIter } = image;
  const { cx, cy, span } = image.view ?? DEFAULT_VIEW;
  const step = span / width;
  const out = new Uint8Array(tile.w * tile.h);
  for (let ty = 0; ty < tile.h; ty++) {
    const py = tile.y + ty;
    const y0 = cy - (2 * py + 1 - height) * 0.5 * step;
    for (let tx = 0; tx < tile.w; tx++) {
      const px = tile.x + tx;
      const x0 = cx + (2 * px + 1 - width) * 0.5 * step;
      const n = escapeCount(x0, y0, maxIter);
      out[ty * tile.w + tx] = n >= maxIter ? 0 : 1 + integerSqrt(Math.floor((n * 64516) / maxIter));
    }
  }
  return out;
}

function escapeCount(x0: number, y0: number, maxIter: number): number {
  let zr = 0;
  let zi = 0;
  let n = 0;
  while (n < maxIter) {
    const zr2 = zr * zr;
    const zi2 = zi * zi;
    if (zr2 + zi2 > 4) break;
    zi = 2 * zr * zi + y0;
    zr = zr2 - zi2 + x0;
    n++;
  }
  return n;
}

/** ⌊√v⌋ for a non-negative integer v < 2^32, corrected so float rounding cannot matter. */
function integerSqrt(v: number): number {
  let r = Math.floor(Math.sqrt(v));
  while (r * r > v) r--;
  while ((r + 1) * (r + 1) <= v) r++;
  return r;
}
