/**
 * Lode's WASI preview1 layer: portable (no `node:` imports), deterministic, in-memory.
 */
export { Preview1, ProcExit, PREVIEW1_FUNCTIONS, type WasiOptions } from './preview1.js';
export { OutputLimitExceeded, OutputMeter } from './meter.js';
export { MemoryLimitExceeded } from './preview1.js';
export { VirtualClock, CLOCK_STEP_NS } from './clock.js';
export { SeededRandom } from './random.js';
export { MemoryFs } from './fs.js';
export { Errno } from './constants.js';
