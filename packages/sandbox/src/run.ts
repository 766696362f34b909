/**
 * `runTask`: the portable entry point for running one task in the current thread.
 */
import { InvalidRequestError } from '@lode/protocol';
import { checkTask, executeTask, type RunTaskOptions } from './execute.js';
import type { SandboxResult, SandboxTask } from './types.js';

export { argv0, checkTask, DEFAULT_MOUNTS, executeTask, failedResult, type RunTaskOptions } from './execute.js';

/**
 * Runs `task` on a compiled module: one from `prepareModule` (memory capped, supplied by the
 * runner and reused between tasks) or, at least, from `capMemory`.
 *
 * Guarantees: never throws for anything the module does — traps, proc_exit, the output cap,
 * memory exhaustion all come back as a `SandboxResult`. The same module and task give the same
 * result (and `resultHash`) on every run. Wall time is not enforced in-thread.
 *
 * @throws InvalidRequestError if the task itself is malformed (see `checkTask`).
 */
export function runTask(module: WebAssembly.Module, task: SandboxTask, options: RunTaskOptions = {}): SandboxResult {
  const problem = checkTask(task);
  if (problem) throw new InvalidRequestError(`Malformed sandbox task: ${problem}`);
  return executeTask(module, task, options);
}
