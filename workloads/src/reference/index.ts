/**
 * Independent TypeScript implementations of the workloads, for checking results. Each follows
 * the written definition in workloads/README.md, not the module's code.
 */
export { mandelbrotTile } from './mandelbrot.js';
export { pi, splitmix64, type PiResult } from './pi.js';
export { primesCount } from './primes.js';
export { wordcount, formatWordcount, parseWordcount } from './wordcount.js';
