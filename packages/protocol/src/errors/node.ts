import { LodeError } from './base.js';

/** The node's hello was refused (bad signature, stale challenge, unsupported version). */
export class HelloRefusedError extends LodeError {
  readonly code = 'HELLO_REFUSED';
  override readonly httpStatus = 401;
}

/** A node sent a result for a lease it does not hold (expired, reassigned, or never issued). */
export class UnknownLeaseError extends LodeError {
  readonly code = 'UNKNOWN_LEASE';
  override readonly httpStatus = 409;
}

/** A node's message broke the protocol (wrong order, bad schema). */
export class ProtocolViolationError extends LodeError {
  readonly code = 'PROTOCOL_VIOLATION';
  override readonly httpStatus = 400;
}

/**
 * The node was proven wrong too often (its results disagreed with verified answers): this
 * gateway no longer gives it work. Reputation is per account; a new account starts on probation.
 */
export class ReputationRefusedError extends LodeError {
  readonly code = 'REPUTATION_REFUSED';
  override readonly httpStatus = 403;
}
