/** Errors of the gateway process itself (not of a request). */
import { LodeError } from '@lode/protocol';

/** The port is taken, most likely by another gateway. */
export class PortInUseError extends LodeError {
  readonly code = 'PORT_IN_USE';
  constructor(host: string, port: number, cause?: unknown) {
    super(`Port ${port} on ${host} is already in use (another gateway?). Stop it, or pick another port with --port N (--port 0 picks a free one).`, {
      cause,
      meta: { host, port },
    });
  }
}

/**
 * This gateway cannot join the cluster on its database: it signs as another account, settles on
 * another chain, or one of them runs the embedded chain (each gateway would have its own).
 */
export class ClusterMismatchError extends LodeError {
  readonly code = 'CLUSTER_MISMATCH';
  constructor(message: string, meta: Record<string, unknown>) {
    super(message, { meta });
  }
}
