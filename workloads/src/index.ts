/**
 * @lode/workloads — example Lode workloads: WASI preview1 command modules compiled from
 * AssemblyScript (assembly/) at build time, task builders that split a job into tasks, and
 * independent TypeScript reference implementations to check what the modules return.
 *
 * @example
 * ```ts
 * import { mandelbrotTasks, readWorkload, reference, assembleMandelbrot } from '@lode/workloads';
 *
 * const { geometry, tasks } = mandelbrotTasks({ width: 640, height: 480, tiles: 12, maxIter: 500 });
 * const wasm = readWorkload('mandelbrot');
 * // …run each task's args with `wasm`, collect stdout per task as `tiles`…
 * const tiles = tasks.map((t) => reference.mandelbrotTile(geometry, t.tile));
 * const png = assembleMandelbrot(geometry, tiles);
 * ```
 *
 * Formats and exact definitions: workloads/README.md.
 */
export { WORKLOADS, BAD_WORKLOADS, workloadPath, readWorkload, type WorkloadName, type BadWorkloadName } from './modules.js';
export {
  mandelbrotTasks,
  DEFAULT_VIEW,
  type MandelbrotView,
  type MandelbrotImage,
  type MandelbrotTile,
  type MandelbrotGeometry,
  type MandelbrotTask,
  type MandelbrotTasksParameters,
  type MandelbrotTasksReturnType,
} from './tasks/mandelbrot.js';
export { piTasks, type PiTask, type PiTasksParameters } from './tasks/pi.js';
export { primesTasks, type PrimesTask, type PrimesTasksParameters } from './tasks/primes.js';
export { assembleMandelbrot } from './png.js';
export { isExactDecimal, formatExactDecimal } from './decimal.js';
export * as reference from './reference/index.js';
export {
  readMnist,
  parseIdx,
  modelSize,
  modelFromBytes,
  modelBytes,
  initModel,
  averageModels,
  predict,
  parseArch,
  archWords,
  MnistFormatError,
  MNIST_PIXELS,
  MNIST_CLASSES,
  type MnistSet,
  type MnistArch,
} from './mnist.js';
