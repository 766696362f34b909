/**
 * Maps the gateway's error bodies back to the protocol's error classes, so SDK callers branch on
 * the same classes (and `code`s) the gateway threw. One table, keyed by code.
 */
import {
  BlobHashMismatchError,
  DeadlineExceededError,
  FaucetLimitError,
  ForbiddenError,
  GatewayUnavailableError,
  HelloRefusedError,
  InsufficientEscrowError,
  LedgerDisabledError,
  LedgerUnavailableError,
  InternalError,
  InvalidModuleError,
  InvalidRequestError,
  InvalidSignatureError,
  JobStateError,
  LodeError,
  MalformedJsonError,
  MissingBlobError,
  NotFoundError,
  ProtocolViolationError,
  QuotaExceededError,
  RateLimitedError,
  ReplayError,
  ReputationRefusedError,
  ResultUnstorableError,
  SandboxError,
  DeviceCredentialRefusedError,
  DEVICE_CREDENTIAL_CODES,
  SandboxErrorCode,
  StakeRequiredError,
  TooLargeError,
  TransactionRevertedError,
  UnauthorizedError,
  UnknownLeaseError,
  VerificationFailedError,
  type ErrorBody,
  type LodeErrorOptions,
} from '@lode/protocol';

/** The gateway answered with an error code this SDK does not know (a newer gateway), or no error body at all. */
export class GatewayError extends LodeError {
  readonly code: string;
  override readonly httpStatus: number;
  override readonly retryable: boolean;
  constructor(code: string, httpStatus: number, shortMessage: string, options: LodeErrorOptions & { retryable?: boolean } = {}) {
    super(shortMessage, options);
    this.code = code;
    this.httpStatus = httpStatus;
    this.retryable = options.retryable ?? httpStatus >= 500;
  }
}

/** An action that signs (submitJob, cancelJob) was called on a client without an account. */
export class AccountRequiredError extends LodeError {
  readonly code = 'ACCOUNT_REQUIRED';
  override readonly httpStatus = 400;
  constructor(action: string) {
    super(
      `${action} signs with the requester's key, but the client has no account. Pass \`account\` to createLodeClient (for instance privateKeyToAccount(key) from viem).`,
    );
  }
}

type Factory = (body: ErrorBody, options: LodeErrorOptions) => LodeError;

const meta = (body: ErrorBody, key: string): string => String(body.meta?.[key] ?? '?');

/** code → how to rebuild the error. Classes with fixed messages are rebuilt from their `meta`. */
const ERRORS: Record<string, Factory> = {
  INVALID_REQUEST: (b, o) => new InvalidRequestError(b.message, o),
  MALFORMED_JSON: (b) => new MalformedJsonError(b.details),
  INVALID_SIGNATURE: (b, o) => new InvalidSignatureError(b.message, o),
  REPLAYED: (b, o) => new ReplayError(b.message, o),
  TOO_LARGE: (b, o) => new TooLargeError(b.message, o),
  NOT_FOUND: (b) => new NotFoundError(meta(b, 'what'), meta(b, 'id')),
  FORBIDDEN: (b, o) => new ForbiddenError(b.message, o),
  UNAUTHORIZED: (b, o) => new UnauthorizedError(b.message, o),
  RATE_LIMITED: (b, o) => new RateLimitedError(b.message, o),
  QUOTA_EXCEEDED: (b, o) => new QuotaExceededError(b.message, o),
  GATEWAY_UNAVAILABLE: (b, o) => new GatewayUnavailableError(b.message, o),
  INTERNAL: (b, o) => new InternalError(b.message, o),
  INVALID_MODULE: (b, o) => new InvalidModuleError(b.message, o),
  MISSING_BLOB: (b) => new MissingBlobError(meta(b, 'sha256')),
  BLOB_HASH_MISMATCH: (b, o) => new BlobHashMismatchError(b.message, o),
  DEADLINE_EXCEEDED: (b, o) => new DeadlineExceededError(b.message, o),
  JOB_STATE: (b, o) => new JobStateError(b.message, o),
  VERIFICATION_FAILED: (b, o) => new VerificationFailedError(b.message, o),
  RESULT_UNSTORABLE: (b, o) => new ResultUnstorableError(b.message, o),
  REPUTATION_REFUSED: (b, o) => new ReputationRefusedError(b.message, o),
  HELLO_REFUSED: (b, o) => new HelloRefusedError(b.message, o),
  UNKNOWN_LEASE: (b, o) => new UnknownLeaseError(b.message, o),
  PROTOCOL_VIOLATION: (b, o) => new ProtocolViolationError(b.message, o),
  INSUFFICIENT_ESCROW: (b, o) => new InsufficientEscrowError(b.message, o),
  STAKE_REQUIRED: (b, o) => new StakeRequiredError(b.message, o),
  LEDGER_DISABLED: () => new LedgerDisabledError(),
  LEDGER_UNAVAILABLE: (b, o) => new LedgerUnavailableError(b.message, o),
  TX_REVERTED: (b, o) => new TransactionRevertedError(b.message, o),
  FAUCET_LIMIT: (b, o) => new FaucetLimitError(b.message, o),
  ...Object.fromEntries(Object.values(SandboxErrorCode).map((code): [string, Factory] => [code, (b) => new SandboxError(code, b.details)])),
  ...Object.fromEntries(DEVICE_CREDENTIAL_CODES.map((code): [string, Factory] => [code, (b, o) => new DeviceCredentialRefusedError(code, b.message, o)])),
};

/** True if `value` looks like `{ error: { code, message } }`. */
function isErrorEnvelope(value: unknown): value is { error: ErrorBody } {
  const e = (value as { error?: unknown } | null)?.error as Partial<ErrorBody> | undefined;
  return typeof e === 'object' && e !== null && typeof e.code === 'string' && typeof e.message === 'string';
}

/**
 * The error a failed HTTP response stands for: the protocol class for a known code, a
 * `GatewayError` for an unknown one, `GatewayUnavailableError` for a 5xx without a Lode body.
 */
export function errorFromResponse(status: number, body: unknown, url: string): LodeError {
  if (isErrorEnvelope(body)) {
    const { error } = body;
    const factory = ERRORS[error.code];
    const options: LodeErrorOptions = { details: error.details, meta: error.meta };
    return factory ? factory(error, options) : new GatewayError(error.code, status, error.message, { ...options, retryable: error.retryable });
  }
  const text = typeof body === 'string' ? body.slice(0, 200) : undefined;
  if (status >= 500) {
    return new GatewayUnavailableError(`The gateway at ${originOf(url)} answered HTTP ${status}. Try again shortly; if it persists, check the gateway's log.`, {
      details: text,
    });
  }
  return new GatewayError(
    `HTTP_${status}`,
    status,
    `The gateway answered HTTP ${status} to ${url} without a Lode error body. Is ${originOf(url)} a Lode gateway?`,
    { details: text },
  );
}

/** The error for a request that never got an answer (connection refused, DNS, timeout). */
export function unreachable(url: string, cause: unknown): GatewayUnavailableError {
  const reason = describeCause(cause);
  return new GatewayUnavailableError(
    `Could not reach the gateway at ${originOf(url)} (${reason}). Is the gateway running? Start one with \`lode up\`, or point at another with --gateway / LODE_GATEWAY.`,
    { cause },
  );
}

/** The error for a 2xx answer whose body does not match the API's schema. */
export function unexpectedBody(url: string, details: string): GatewayError {
  return new GatewayError(
    'UNEXPECTED_RESPONSE',
    502,
    `The gateway's answer to ${url} does not match the Lode API. Are the gateway and the SDK the same version?`,
    { details, retryable: false },
  );
}

function describeCause(cause: unknown): string {
  if (cause instanceof Error && cause.name === 'TimeoutError') return 'timed out';
  const inner = (cause as { cause?: { code?: string; message?: string } } | undefined)?.cause;
  if (inner?.code) return inner.code;
  if (cause instanceof Error) return cause.message;
  return String(cause);
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}
