/**
 * Errors raised by the provider agent itself (the protocol's classes cover everything that
 * crosses the wire). Callers branch on `code`, never on the message.
 */
import { LodeError } from '@lode/protocol';

/** No keystore in the data directory and the caller asked not to create one. */
export class KeystoreMissingError extends LodeError {
  readonly code = 'KEYSTORE_MISSING';
  constructor(path: string) {
    super(`No account keystore at ${path}. Run \`lode account new\` first (or pass --data-dir).`, {
      meta: { path },
    });
  }
}

/** The keystore exists but cannot be used (not JSON, wrong version, key and address disagree). */
export class KeystoreInvalidError extends LodeError {
  readonly code = 'KEYSTORE_INVALID';
}
