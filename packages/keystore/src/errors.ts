/**
 * The keystore's errors, which the `lode` CLI shows as they are. Callers branch on `code`, never
 * on the message.
 */
import { LodeError } from '@lode/protocol';

/** No keystore in the data directory, where one is needed. */
export class KeystoreMissingError extends LodeError {
  readonly code = 'NO_ACCOUNT';
  override readonly httpStatus = 404;
  constructor(path: string) {
    super(`No account in ${path}. Create one with \`lode account new\` (or pass --data-dir to point at another).`, {
      meta: { path },
    });
  }
}

/** Creating an account would replace an existing key. */
export class KeystoreExistsError extends LodeError {
  readonly code = 'ACCOUNT_EXISTS';
  override readonly httpStatus = 409;
  constructor(path: string, address: string) {
    super(`An account (${address}) already exists in ${path}. Pass --force to replace it — its key is lost unless you back up that file first.`, {
      meta: { path, address },
    });
  }
}

/** The keystore exists but cannot be used (unreadable, not JSON, wrong version, key and address disagree). */
export class KeystoreInvalidError extends LodeError {
  readonly code = 'KEYSTORE_INVALID';
  override readonly httpStatus = 500;
}
