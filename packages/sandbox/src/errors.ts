import { LodeError } from '@lode/protocol';

/** The sandbox was closed: `run`, `runBatch` and `addModule` throw this afterwards. */
export class SandboxClosedError extends LodeError {
  readonly code = 'SANDBOX_CLOSED';
  constructor() {
    super('The sandbox is closed. Create a new one (createNodeSandbox) to run more tasks.');
  }
}
