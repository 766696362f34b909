/** Messages between the page and a sandbox worker (sandbox.worker.ts). One task per message. */
import type { SandboxResult, SandboxTask } from '@lode/sandbox/portable';

/** Page → worker: run `task` on the module compiled under `key`; `module` comes the first time a worker sees `key`. */
export interface RunRequest {
  t: 'run';
  id: number;
  key: string;
  module?: WebAssembly.Module;
  task: SandboxTask;
}

/** Worker → page. `ready` once the worker's script has loaded; `done` for each run. */
export type WorkerReply = { t: 'ready' } | { t: 'done'; id: number; result: SandboxResult };
