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
