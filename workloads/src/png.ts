import { PNG } from 'pngjs';
import type { MandelbrotGeometry } from './tasks/mandelbrot.js';

/**
 * Stitches tile outputs (8-bit grayscale, row-major, in `geometry.tiles` order) into one
 * grayscale PNG. Throws if a tile's byte count does not match its size.
 */
export function assembleMandelbrot(geometry: MandelbrotGeometry, tiles: Uint8Array[]): Uint8Array {
  const { width, height } = geometry;
  if (tiles.length !== geometry.tiles.length) {
    throw new Error(`expected ${geometry.tiles.length} tiles, got ${tiles.length}`);
  }
  const gray = new Uint8Array(width * height);
  geometry.tiles.forEach((tile, i) => {
    const data = tiles[i]!;
    if (data.length !== tile.w * tile.h) {
      throw new Error(`tile ${i} (${tile.w}×${tile.h}) has ${data.length} bytes, expected ${tile.w * tile.h}`);
    }
    for (let row = 0; row < tile.h; row++) {
      gray.set(data.subarray(row * tile.w, (row + 1) * tile.w), (tile.y + row) * width + tile.x);
    }
  });
  const png = new PNG({ width, height, colorType: 0, inputColorType: 0, inputHasAlpha: false, bitDepth: 8 });
  png.data = Buffer.from(gray.buffer, gray.byteOffset, gray.byteLength);
  const bytes = PNG.sync.write(png, { colorType: 0, inputColorType: 0, inputHasAlpha: false, bitDepth: 8 });
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
