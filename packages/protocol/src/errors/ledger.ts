import { LodeError, type LodeErrorOptions } from './base.js';

/** A paid job was submitted without enough escrow behind it (HTTP 402 Payment Required). */
export class InsufficientEscrowError extends LodeError {
  readonly code = 'INSUFFICIENT_ESCROW';
  override readonly httpStatus = 402;
}

/** A node tried to serve without the minimum stake. */
export class StakeRequiredError extends LodeError {
  readonly code = 'STAKE_REQUIRED';
  override readonly httpStatus = 403;
}

/** The gateway runs without a ledger (`--ledger off`), so there is nothing to pay or query. */
export class LedgerDisabledError extends LodeError {
  readonly code = 'LEDGER_DISABLED';
  override readonly httpStatus = 404;
  constructor() {
    super('This gateway runs without a ledger (--ledger off): jobs are free and nothing is settled. Start it with --ledger embedded or --rpc-url URL.');
  }
}

/** The chain could not be reached or answered with an error; trying again may help. */
export class LedgerUnavailableError extends LodeError {
  readonly code = 'LEDGER_UNAVAILABLE';
  override readonly httpStatus = 503;
  override readonly retryable = true;
}

/**
 * A transaction was refused by a contract. `meta.errorName` carries the contract's custom error
 * (e.g. `AlreadyClaimed`), so callers can branch on it; the message says it in words.
 */
export class TransactionRevertedError extends LodeError {
  readonly code = 'TX_REVERTED';
  override readonly httpStatus = 422;
}

/**
 * The faucet refused a grant: `meta.limit` names which limit — `address` (one grant per address
 * per day), `ip` (grants per client network per day), `total` (the faucet's daily cap) or
 * `reserve` (its bounded reserve is spent, or the next grant would bring what it handed out to
 * the governance quorum), or `busy` (too many requests waiting). `meta.retryAt` (ms) and
 * `meta.retryAfterMs` say when to come back; a spent reserve has neither (and is not retryable).
 */
export class FaucetLimitError extends LodeError {
  readonly code = 'FAUCET_LIMIT';
  override readonly httpStatus = 429;
  override readonly retryable: boolean;
  constructor(shortMessage: string, options: LodeErrorOptions = {}) {
    super(shortMessage, options);
    this.retryable = typeof options.meta?.retryAt === 'number';
  }
}
