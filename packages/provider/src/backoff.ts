/**
 * Jittered exponential backoff for reconnecting: attempt k waits a uniformly random time in
 * [cap/2, cap] where cap = min(maxMs, initialMs · 2^k). The jitter spreads a fleet of nodes
 * that lost the same gateway; the floor at half keeps one node from hammering it.
 */
export interface BackoffOptions {
  /** First delay's upper bound. @default 250 */
  initialMs?: number;
  /** Largest delay. @default 10_000 */
  maxMs?: number;
  /** Random source in [0, 1), injectable for tests. @default Math.random */
  random?: () => number;
}

export interface Backoff {
  /** The delay before the next attempt; each call moves one attempt further. */
  next(): number;
  /** Back to the first delay (after a successful session). */
  reset(): void;
  /** Attempts made since the last reset. */
  readonly attempts: number;
}

export function createBackoff(options: BackoffOptions = {}): Backoff {
  const initialMs = options.initialMs ?? 250;
  const maxMs = options.maxMs ?? 10_000;
  const random = options.random ?? Math.random;
  let attempts = 0;
  return {
    next() {
      const cap = Math.min(maxMs, initialMs * 2 ** Math.min(attempts, 30));
      attempts++;
      return Math.round(cap / 2 + (random() * cap) / 2);
    },
    reset() {
      attempts = 0;
    },
    get attempts() {
      return attempts;
    },
  };
}
