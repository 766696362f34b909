/**
 * How the CLI fails: its own error class (usage), the one-line report every verb
 * prints (`error [CODE]: message` plus what to do next), and the exit code for each failure.
 */
import { LodeError, type LodeErrorOptions } from '@lode/protocol';

/** Exit statuses: 0 ok, 1 the work failed, 2 the command line was wrong. */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

/** The command line is wrong (a bad flag value, a missing file). Exits with status 2. */
export class UsageError extends LodeError {
  readonly code = 'USAGE';
  override readonly httpStatus = 400;
  constructor(
    message: string,
    readonly hint?: string,
    options?: LodeErrorOptions,
  ) {
    super(message, options);
  }
}

// Account errors (ACCOUNT_EXISTS, NO_ACCOUNT, KEYSTORE_INVALID) come from the keystore, @lode/node/keystore.

/** What to do next, by error code, where the error's own message does not already say it. */
const HINTS: Record<string, string> = {
  INVALID_SIGNATURE: 'Check which account signs with `lode account show`.',
  FORBIDDEN: "Only the job's requester may do that; check `lode account show` and --data-dir.",
  TOO_LARGE: 'Split the work into more tasks or upload large inputs as files (--input, --dir).',
  INTERNAL: 'The gateway logged the cause; try again, and report it if it persists.',
  UNEXPECTED_RESPONSE: 'Check that --gateway points at a Lode gateway of the same version.',
};

/** The lines printed on stderr for a failure: one `error [CODE]: message`, then hints. */
export function formatError(err: unknown, debug = process.env.LODE_DEBUG === '1'): string {
  const lines: string[] = [];
  if (err instanceof LodeError) {
    lines.push(`error [${err.code}]: ${err.shortMessage}`);
    if (err.details) lines.push(`  ${err.details.split('\n').join('\n  ')}`);
    const hint = err instanceof UsageError ? err.hint : HINTS[err.code];
    if (hint) lines.push(`  ${hint}`);
  } else {
    const message = err instanceof Error ? err.message : String(err);
    lines.push(`error [INTERNAL]: ${message}`);
  }
  if (debug && err instanceof Error && err.stack) lines.push(err.stack);
  else if (!(err instanceof LodeError)) lines.push('  This is a bug in lode; run again with LODE_DEBUG=1 for a stack trace and report it.');
  return lines.join('\n');
}

/** The JSON form printed on stdout under --json, so scripts get a parseable failure too. */
export function errorJson(err: unknown): { error: { code: string; message: string; details?: string } } {
  if (err instanceof LodeError) return { error: { code: err.code, message: err.shortMessage, ...(err.details ? { details: err.details } : {}) } };
  return { error: { code: 'INTERNAL', message: err instanceof Error ? err.message : String(err) } };
}

export function exitCodeOf(err: unknown): number {
  return err instanceof UsageError ? EXIT.usage : EXIT.failure;
}
