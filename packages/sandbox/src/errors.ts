import { LodeError, SandboxError, SandboxErrorCode } from '@lode/protocol';

/** The sandbox was closed: `run`, `runBatch` and `addModule` throw this afterwards. */
export class SandboxClosedError extends LodeError {
  readonly code = 'SANDBOX_CLOSED';
  constructor() {
    super('The sandbox is closed. Create a new one (createNodeSandbox) to run more tasks.');
  }
}

/**
 * Too many modules already wait to be prepared here: nothing to do with the module, so it is not
 * remembered as refused (SANDBOX_WORKER_CRASHED to the gateway, which gives the task to another node).
 */
export class PreparerBusyError extends SandboxError {
  constructor(waiting: number) {
    super(SandboxErrorCode.WorkerCrashed, `${waiting} modules already wait to be prepared here; try another node.`);
  }
}
