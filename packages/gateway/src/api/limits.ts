/**
 * Refusals of the rate limits (@fastify/rate-limit): a RateLimitedError (429) naming the limit and
 * when to come back, in the gateway's one error body.
 */
import type { FastifyRequest } from 'fastify';
import { RateLimitedError } from '@lode/protocol';

interface LimitContext {
  max: number;
  after: string;
  ttl: number;
}

/** An `errorResponseBuilder` for a limit on `what` (e.g. "job submissions from this account"). */
export function rateLimited(what: string): (req: FastifyRequest, ctx: LimitContext) => RateLimitedError {
  return (_req, ctx) =>
    new RateLimitedError(`Too many ${what}: at most ${ctx.max} per minute. Try again in ${ctx.after}.`, {
      meta: { limit: ctx.max, retryAfterMs: ctx.ttl },
    });
}

/**
 * Counts events per key in fixed windows — for limits on something the request proves only once
 * it is read (the account of a signed job), where @fastify/rate-limit (one limit per request, keyed
 * before the handler) cannot serve. At most `maxKeys` keys are kept; the oldest go first.
 */
export class WindowCounter {
  private readonly counts = new Map<string, { windowStart: number; n: number }>();

  constructor(
    private readonly max: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
    private readonly maxKeys = 100_000,
  ) {}

  /** Counts one event for `key`; returns ms until the window resets when the limit is passed, else 0. */
  hit(key: string): number {
    const now = this.now();
    let c = this.counts.get(key);
    if (!c || now - c.windowStart >= this.windowMs) {
      this.counts.delete(key);
      c = { windowStart: now, n: 0 };
      while (this.counts.size >= this.maxKeys) this.counts.delete(this.counts.keys().next().value!);
      this.counts.set(key, c);
    }
    c.n++;
    return c.n > this.max ? c.windowStart + this.windowMs - now : 0;
  }
}
