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

/**
 * The database refused one item's values (a number out of its column's range, a character it
 * cannot store, a broken constraint): writing it again gives the same answer. The other items
 * of its batch were written without it.
 */
export class StoreRowRejectedError extends LodeError {
  readonly code = 'STORE_ROW_REJECTED';
  override readonly retryable = false;
  override readonly httpStatus = 500;
  /** The database's SQLSTATE, when it gave one (e.g. 22003 numeric_value_out_of_range). */
  readonly sqlState: string | undefined;
  constructor(cause: unknown) {
    super('The database refused this item; it was not stored. Writing it again would fail the same way.', {
      cause,
      details: cause instanceof Error ? cause.message : String(cause),
      meta: { sqlState: sqlStateOf(cause) ?? null },
    });
    this.sqlState = sqlStateOf(cause);
  }
}

/** The SQLSTATE of a PostgreSQL error (pg and PGlite both put it in `code`), if any. */
export function sqlStateOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/**
 * Whether a failed statement may be the fault of a row's values: PostgreSQL's data exceptions
 * (class 22: out of range, invalid text such as NUL, bad JSON escapes) and integrity constraint
 * violations (class 23). Anything else — a lost connection, a closed pool, a bug in the SQL —
 * would fail every row alike.
 */
export function isRowError(err: unknown): boolean {
  const state = sqlStateOf(err);
  return state !== undefined && (state.startsWith('22') || state.startsWith('23'));
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
    super(`The database schema is at version ${found}, but this gateway knows only up to ${known}. Upgrade Lode, or point it at another database.`, {
      meta: { found, known },
    });
  }
}

/**
 * This gateway may not send chain transactions now: in a cluster, one gateway (the settler)
 * signs and sends them all, and this one does not hold that role (or lost it while paused).
 */
export class NotSenderError extends LodeError {
  readonly code = 'NOT_SENDER';
  override readonly retryable = true;
  override readonly httpStatus = 503;
  constructor() {
    super('This gateway does not send chain transactions now: another gateway of its cluster settles. Try again shortly, or ask another gateway.');
  }
}
