import { LodeError } from './base.js';

/** The request body or a message did not match its schema. */
export class InvalidRequestError extends LodeError {
  readonly code = 'INVALID_REQUEST';
  override readonly httpStatus = 400;
}

/** A body was not JSON at all. */
export class MalformedJsonError extends LodeError {
  readonly code = 'MALFORMED_JSON';
  override readonly httpStatus = 400;
  constructor(details?: string) {
    super('The body is not valid JSON. Send a JSON document with Content-Type: application/json.', {
      details,
    });
  }
}

/** A signature did not recover to the claimed account. */
export class InvalidSignatureError extends LodeError {
  readonly code = 'INVALID_SIGNATURE';
  override readonly httpStatus = 401;
}

/** A signed message was seen before or its challenge/timestamp is stale. */
export class ReplayError extends LodeError {
  readonly code = 'REPLAYED';
  override readonly httpStatus = 409;
}

/** Something is larger than the gateway accepts. */
export class TooLargeError extends LodeError {
  readonly code = 'TOO_LARGE';
  override readonly httpStatus = 413;
}

const NOT_FOUND_HINTS: Record<string, string> = {
  job: 'Check the id (`lode job ls` lists jobs).',
  blob: 'Upload it first (PUT /v1/blobs/<sha256>); blobs are addressed by the sha256 of their bytes.',
  node: 'Check the address (`lode nodes` lists nodes).',
  evidence: 'Evidence against a node is listed by GET /v1/nodes/<address>/evidence.',
};

/** No such job, task, node or blob. */
export class NotFoundError extends LodeError {
  readonly code = 'NOT_FOUND';
  override readonly httpStatus = 404;
  constructor(what: string, id: string) {
    super(`No ${what} with id ${id}. ${NOT_FOUND_HINTS[what] ?? 'Check the id.'}`, { meta: { what, id } });
  }
}

/** The caller is not allowed to do this (for instance, cancel someone else's job). */
export class ForbiddenError extends LodeError {
  readonly code = 'FORBIDDEN';
  override readonly httpStatus = 403;
}

/**
 * The request needs a signed-in account: send `Authorization: Bearer <token>` from
 * `POST /v1/auth/session` (Sign-In with Ethereum; the SDK and the CLI sign in for you), or the
 * token has expired — sign in again.
 */
export class UnauthorizedError extends LodeError {
  readonly code = 'UNAUTHORIZED';
  override readonly httpStatus = 401;
}

/**
 * Too many requests in a window (per IP or per account). `meta.retryAfterMs` says when to try
 * again; the message names the limit.
 */
export class RateLimitedError extends LodeError {
  readonly code = 'RATE_LIMITED';
  override readonly retryable = true;
  override readonly httpStatus = 429;
}

/**
 * An account or address has used up a quota that does not refill by waiting a moment (open
 * jobs, stored blob bytes, connections): the message names the quota and how to free it.
 */
export class QuotaExceededError extends LodeError {
  readonly code = 'QUOTA_EXCEEDED';
  override readonly httpStatus = 429;
}

/** The gateway could not be reached or answered with a server error. */
export class GatewayUnavailableError extends LodeError {
  readonly code = 'GATEWAY_UNAVAILABLE';
  override readonly retryable = true;
  override readonly httpStatus = 503;
}

/** Anything unexpected. The gateway logs it; clients see only the code. */
export class InternalError extends LodeError {
  readonly code = 'INTERNAL';
  override readonly retryable = true;
  override readonly httpStatus = 500;
}
