import { formatExactDecimal } from '../decimal.js';

/** The part of the complex plane shown: centre (cx, cy) and the image's width in plane units. */
export interface MandelbrotView {
  cx: number;
  cy: number;
  span: number;
}

/** The module's view when none is given: the whole set, centred at −0.5 + 0i, 3 units wide. */
export const DEFAULT_VIEW: Readonly<MandelbrotView> = Object.freeze({ cx: -0.5, cy: 0, span: 3 });

/** The whole image a job renders. */
export interface MandelbrotImage {
  width: number;
  height: number;
  maxIter: number;
  /** @default DEFAULT_VIEW */
  view?: MandelbrotView;
}

/** A rectangle of the image, in pixels; one task renders one tile. */
export interface MandelbrotTile {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** The image plus its tiles, in task order; what `assembleMandelbrot` needs. */
export interface MandelbrotGeometry extends MandelbrotImage {
  tiles: MandelbrotTile[];
}

export interface MandelbrotTask {
  /** argv[1..] for the `mandelbrot` module. */
  args: string[];
  tile: MandelbrotTile;
}

export interface MandelbrotTasksParameters extends MandelbrotImage {
  /** Number of tiles (arranged in the most nearly square grid with exactly that many cells), or the grid. */
  tiles: number | { cols: number; rows: number };
}

export interface MandelbrotTasksReturnType {
  geometry: MandelbrotGeometry;
  tasks: MandelbrotTask[];
}

/**
 * Splits a Mandelbrot image into tiles, one task each. Tiles cover the image exactly, row by
 * row, with sizes differing by at most one pixel. The view, if given, must be expressible in
 * the modules' exact decimal format (at most 15 significant digits) — otherwise this throws,
 * because the module and the reference would then sample slightly different points.
 */
export function mandelbrotTasks(params: MandelbrotTasksParameters): MandelbrotTasksReturnType {
  const { width, height, maxIter, view } = params;
  for (const [name, v, max] of [
    ['width', width, 1 << 20],
    ['height', height, 1 << 20],
    ['maxIter', maxIter, 0x7fffffff],
  ] as const) {
    if (!Number.isInteger(v) || v < 1 || v > max) throw new RangeError(`${name} must be an integer in [1, ${max}]`);
  }
  const { cols, rows } = typeof params.tiles === 'number' ? squarestGrid(params.tiles) : params.tiles;
  if (!Number.isInteger(cols) || !Number.isInteger(rows) || cols < 1 || rows < 1 || cols > width || rows > height) {
    throw new RangeError(`a ${cols}×${rows} grid does not fit a ${width}×${height} image`);
  }
  const viewArgs = view ? [formatExactDecimal(view.cx, 'view.cx'), formatExactDecimal(view.cy, 'view.cy'), formatExactDecimal(view.span, 'view.span')] : [];
  if (view && !(view.span > 0)) throw new RangeError('view.span must be greater than 0');
  const tiles: MandelbrotTile[] = [];
  const tasks: MandelbrotTask[] = [];
  for (let r = 0; r < rows; r++) {
    const y = Math.floor((r * height) / rows);
    const h = Math.floor(((r + 1) * height) / rows) - y;
    for (let c = 0; c < cols; c++) {
      const x = Math.floor((c * width) / cols);
      const w = Math.floor(((c + 1) * width) / cols) - x;
      const tile = { x, y, w, h };
      tiles.push(tile);
      tasks.push({ tile, args: [width, height, x, y, w, h, maxIter].map(String).concat(viewArgs) });
    }
  }
  const geometry: MandelbrotGeometry = { width, height, maxIter, tiles, ...(view ? { view: { ...view } } : {}) };
  return { geometry, tasks };
}

/** cols × rows = n with rows the largest divisor of n not above √n. */
function squarestGrid(n: number): { cols: number; rows: number } {
  if (!Number.isInteger(n) || n < 1) throw new RangeError('tiles must be a positive integer');
  let rows = Math.floor(Math.sqrt(n));
  while (n % rows !== 0) rows--;
  return { cols: n / rows, rows };
}
