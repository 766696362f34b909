/**
 * Messages between the page and a sandbox worker (sandbox.worker.ts). One task per message; the
 * pool's preparation worker (the same script) takes `prepare`/`compile` requests instead.
 */
import type { PrepareReply, PrepareRequest, SandboxResult, SandboxTask } from '@lode/sandbox/portable';

/** Page → worker: run `task` on the module compiled under `key`; `module` comes the first time a worker sees `key`. */
export interface RunRequest {
  t: 'run';
  id: number;
  key: string;
  module?: WebAssembly.Module;
  /** Modules to forget first (evicted from the pool's cache). */
  drop?: string[];
  task: SandboxTask;
}

/** Page → worker: a run, or (to the preparation worker) a module to check, meter and compile. */
export type WorkerRequest = RunRequest | PrepareRequest;

/** Worker → page. `ready` once the worker's script has loaded; `done` for each run; `prepared` for each preparation. */
export type WorkerReply = { t: 'ready' } | { t: 'done'; id: number; result: SandboxResult } | PrepareReply;
