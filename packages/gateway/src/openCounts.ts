/**
 * Things open at once per key — jobs per account, event streams per account, node sockets per
 * address — for quotas on how many may be open. A key back at zero is forgotten, so the map holds
 * only keys with something open.
 */
export class OpenCounts {
  private readonly counts = new Map<string, number>();

  /** How many are open for `key`. */
  of(key: string): number {
    return this.counts.get(key) ?? 0;
  }

  /** Counts one more for `key` unless `max` are open already; says whether it did. */
  tryOpen(key: string, max: number = Infinity): boolean {
    const n = this.of(key);
    if (n >= max) return false;
    this.counts.set(key, n + 1);
    return true;
  }

  /** Counts one fewer for `key`. */
  close(key: string): void {
    const n = this.of(key) - 1;
    if (n > 0) this.counts.set(key, n);
    else this.counts.delete(key);
  }
}
