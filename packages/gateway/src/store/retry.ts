/**
 * How long a store write that failed waits before its next try: 250 ms doubling to 10 s. Writes
 * of accepted results are retried until they land (nothing accepted is lost).
 */
export function retryDelayMs(attempt: number): number {
  return Math.min(10_000, 250 * 2 ** attempt);
}
