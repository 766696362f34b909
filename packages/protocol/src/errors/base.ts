/**
 * The one error type every Lode part throws across a boundary.
 *
 * Callers branch on `code` (stable, documented) or on the subclass, never on message text.
 * `retryable` tells the node agent and the scheduler whether trying again can help;
 * `httpStatus` is what the gateway answers with (mapped in one place, see `httpStatusOf`).
 */
export interface LodeErrorOptions {
  details?: string;
  cause?: unknown;
  meta?: Record<string, unknown>;
}

export abstract class LodeError extends Error {
  abstract readonly code: string;
  readonly retryable: boolean = false;
  readonly httpStatus: number = 500;
  readonly shortMessage: string;
  readonly details?: string;
  readonly meta?: Record<string, unknown>;

  constructor(shortMessage: string, options: LodeErrorOptions = {}) {
    super(options.details ? `${shortMessage}\n\nDetails: ${options.details}` : shortMessage, {
      cause: options.cause,
    });
    this.shortMessage = shortMessage;
    this.details = options.details;
    this.meta = options.meta;
    this.name = new.target.name;
  }

  /** The wire form, as the HTTP API and the WebSocket protocol send it. */
  toJSON(): ErrorBody {
    return {
      code: this.code,
      message: this.shortMessage,
      ...(this.details ? { details: this.details } : {}),
      ...(this.meta ? { meta: this.meta } : {}),
      retryable: this.retryable,
    };
  }
}

export interface ErrorBody {
  code: string;
  message: string;
  details?: string;
  meta?: Record<string, unknown>;
  retryable?: boolean;
}
