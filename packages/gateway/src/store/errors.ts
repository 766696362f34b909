/**
 * Errors of the store and the group committer. "Not found" is not an error here: the store
 * returns null and the caller decides (the HTTP layer turns it into `NotFoundError`).
 */
import { LodeError } from '@lode/protocol';

/** A write to the database failed; the items were not stored and may be written again. */
export class StoreWriteError extends LodeError {
  readonly code = 'STORE_WRITE_FAILED';
  override readonly retryable = true;
  override readonly httpStatus = 503;
  constructor(cause: unknown, count: number) {
    super(`Could not write ${count} item(s) to the database; they were not stored. Retry them.`, {
      cause,
      details: cause instanceof Error ? cause.message : String(cause),
      meta: { count },
    });
  }
}

/** The store or committer was closed (the gateway is shutting down). */
export class StoreClosedError extends LodeError {
  readonly code = 'STORE_CLOSED';
  override readonly httpStatus = 503;
  constructor(what = 'store') {
    super(`The ${what} is closed; the gateway is shutting down. Try again on a running gateway.`);
  }
}

/** The database was migrated by a newer Lode than this one. */
export class SchemaTooNewError extends LodeError {
  readonly code = 'SCHEMA_TOO_NEW';
  constructor(found: number, known: number) {
    super(
      `The database schema is at version ${found}, but this gateway knows only up to ${known}. Upgrade Lode, or point it at another database.`,
      { meta: { found, known } },
    );
  }
}
