/**
 * @lode/sandbox/portable — everything but the Node worker pool: the WASI layer, `runTask`,
 * `inspectModule`, `prepareModule`/`capMemory`, and fuel metering (`instrumentModule`). No `node:` imports, so browser Web Workers
 * (the contributor page) can import it.
 */
export type {
  Sandbox,
  SandboxBatchOptions,
  SandboxFailureCode,
  SandboxFile,
  SandboxLimits,
  SandboxResult,
  SandboxRunOptions,
  SandboxTask,
} from './types.js';
export * from './metering/index.js';
export {
  inspectModule,
  capMemory,
  prepareModule,
  importedMemoryOf,
  pagesForMiB,
  PAGE_BYTES,
  WASI_MODULE,
  MEMORY_IMPORT,
  type ModuleInfo,
  type ExternKind,
} from './module.js';
export { runTask, executeTask, checkTask, failedResult, argv0, DEFAULT_MOUNTS, type RunTaskOptions } from './run.js';
export { MemoryPool } from './memoryPool.js';
export { digestResult, portableSha256Hex, type Sha256Hex } from './digest.js';
export { SandboxClosedError } from './errors.js';
export {
  handlePrepare,
  fromErrorData,
  toErrorData,
  PREPARE_READY,
  type PrepareRequest,
  type PrepareReply,
  type CompiledData,
  type ErrorData,
} from './prepare.js';
export { Preparer, type PrepareWorker, type SpawnPrepareWorker, type PrepareJob, type PreparerOptions } from './preparer.js';
export { ModuleStore, type Compiled, type ModuleStoreOptions } from './modules.js';
export * from './wasi/index.js';
