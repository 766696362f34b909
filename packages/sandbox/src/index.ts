/**
 * @lode/sandbox — runs WASI preview1 modules with Lode's own deterministic, in-memory WASI layer,
 * under memory, fuel, wall-time and output limits. `createNodeSandbox` is the Node worker pool
 * (it meters every module's fuel); the WASI layer, `runTask`, `inspectModule`, `capMemory` and
 * `instrumentModule` are portable (browser Web Workers too).
 *
 * @example
 * import { createNodeSandbox } from '@lode/sandbox';
 * const sandbox = createNodeSandbox({ workers: 2 });
 * await sandbox.addModule(hash, wasmBytes); // hash = sha256 hex of the bytes
 * const result = await sandbox.run({
 *   moduleHash: hash, args: ['42'], env: {}, stdin: new Uint8Array(), files: [], mounts: [],
 *   seed: taskSeed(jobId, 0), limits: { memoryMiB: 64, wallMs: 5_000, maxOutputBytes: 1 << 20, fuel: 10_000_000_000 },
 * });
 * // result.status, result.exitCode, result.stdout, result.files, result.resultHash, result.fuelUsed
 * await sandbox.close();
 */
export * from './portable.js';
export { warmUp } from './node/warmUp.js';
export { createNodeSandbox, type NodeSandboxOptions } from './node/pool.js';
