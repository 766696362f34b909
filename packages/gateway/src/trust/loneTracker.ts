/**
 * The gateway's book of results taken on one node's word alone (verify/loneResults.ts), kept in
 * step with the store and with what the trust service learns about nodes:
 * - a result taken alone is remembered with its row (the job manager writes `TaskResultRow.lone`
 *   in the row's transaction; its receipt is not settled while the entry exists);
 * - a node that passes a check of an answer it gave at `seq` has its entries up to `seq`
 *   forgotten (here and in the store) — the listener hears which (`audited`);
 * - a node proven wrong has all its entries handed to the listener to re-verify (`caught`); they
 *   stay in the store until the re-verification is written, so a restart finds them again: at
 *   start, a node whose last offence is newer than an entry of it is caught again for it.
 *
 * Guarantees: an entry is forgotten in the store only once its own write has committed (an
 * entry cleared while its row is in flight is deleted when the row lands), and never a newer
 * entry of the same task (deletes name the entry's seq). Deletes that fail are retried.
 */
import type { Logger } from 'pino';
import type { Store } from '../store/types.js';
import { LoneResults, type LoneResult, type LoneResultsOptions } from '../verify/loneResults.js';
import type { Reputation } from '../verify/reputation.js';

/** How long deletes of audited entries wait to be written together (ms). */
const DELETE_DELAY_MS = 20;

export interface LoneListener {
  /** `node` was proven wrong: these results rested on its word alone — re-verify each. */
  caught(node: string, results: LoneResult[]): void;
  /** These results' nodes passed a check since: they are audited. */
  audited(results: LoneResult[]): void;
}

export interface LoneTrackerOptions {
  store: Pick<Store, 'loadLoneResults' | 'deleteLoneResults'>;
  log: Logger;
  limits?: LoneResultsOptions;
}

export class LoneTracker {
  readonly book: LoneResults;
  private seq = 0;
  private listener: LoneListener | undefined;
  /** Entries whose row (and entry) write has not committed yet. */
  private readonly unstored = new Set<LoneResult>();
  /** Of those, the ones cleared meanwhile: deleted once stored. */
  private readonly clearedEarly = new Set<LoneResult>();
  private readonly deletes: Array<{ jobId: string; index: number; seq: number }> = [];
  private flushing: Promise<void> | undefined;
  private retry: ReturnType<typeof setTimeout> | undefined;
  /** Caught before a restart and not yet re-verified (handed to the listener when it attaches). */
  private recaught = new Map<string, LoneResult[]>();
  private stopped = false;

  constructor(private readonly o: LoneTrackerOptions) {
    this.book = new LoneResults(o.limits);
  }

  /** Loads the entries kept in the store; `reputation` tells which nodes were caught since. */
  async start(reputation: (node: string) => Reputation): Promise<void> {
    const rows = await this.o.store.loadLoneResults();
    for (const r of rows) {
      this.seq = Math.max(this.seq, r.seq);
      const wrongAt = reputation(r.node).lastWrongAt;
      if (wrongAt !== null && wrongAt >= r.receivedAt) {
        let list = this.recaught.get(r.node);
        if (!list) this.recaught.set(r.node, (list = []));
        list.push(r);
      } else {
        this.book.add(r);
      }
    }
    if (rows.length > 0) this.o.log.info({ entries: rows.length, recaught: this.recaught.size }, "results taken on one node's word alone, not yet audited");
  }

  /** Writes what is queued, after a write already in flight (the store closes next). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    await this.flushing;
    await this.flush();
  }

  /** Who re-verifies and who waits for audits (the job manager). Hands over entries caught before a restart. */
  listen(listener: LoneListener): void {
    this.listener = listener;
    const recaught = this.recaught;
    this.recaught = new Map();
    for (const [node, results] of recaught) listener.caught(node, results);
  }

  /** The next number in the gateway's answer order (one per answer received). */
  nextSeq(): number {
    return ++this.seq;
  }

  /**
   * Remembers a result taken on its node's word alone; its write is in flight until `stored`.
   * Returns true when the node should be audited now (it holds `maxPerNode` such results).
   */
  add(r: LoneResult): boolean {
    this.unstored.add(r);
    return this.book.add(r);
  }

  /** The entry's row committed (with the entry). */
  stored(r: LoneResult): void {
    if (!this.unstored.delete(r)) return;
    if (this.clearedEarly.delete(r)) this.forget([r]);
  }

  /** `node` passed a check of an answer it gave at `seq`: its entries up to it are audited. */
  passed(node: string, seq: number): void {
    if (this.book.size === 0) return;
    const cleared = this.book.passed(node, seq);
    if (cleared.length === 0) return;
    this.forget(cleared);
    this.listener?.audited(cleared);
  }

  /** `node` was proven wrong: every entry of it goes to the listener to be re-verified. */
  caught(node: string): void {
    const taken = this.book.takeAll(node);
    if (taken.length > 0) this.listener?.caught(node, taken);
  }

  /** Deletes entries from the store (at once, or when their own write lands). */
  private forget(entries: LoneResult[]): void {
    for (const r of entries) {
      if (this.unstored.has(r)) this.clearedEarly.add(r);
      else this.deletes.push({ jobId: r.jobId, index: r.index, seq: r.seq });
    }
    // Coalesced: passes come one decision at a time; one statement every DELETE_DELAY_MS at most.
    if (this.deletes.length > 0 && !this.flushing) {
      this.flushing = new Promise<void>((res) => setTimeout(res, DELETE_DELAY_MS).unref()).then(() => this.flush());
    }
  }

  /** Writes the queued deletes; a failure keeps them for a retry a second later. */
  private async flush(): Promise<void> {
    while (this.deletes.length > 0) {
      const batch = this.deletes.splice(0, 1000);
      try {
        await this.o.store.deleteLoneResults(batch);
      } catch (err) {
        this.deletes.unshift(...batch);
        if (this.stopped) break;
        this.o.log.warn({ err, entries: batch.length }, 'could not forget audited lone results; will retry');
        this.flushing = undefined;
        clearTimeout(this.retry);
        this.retry = setTimeout(() => this.forget([]), 1000);
        this.retry.unref();
        return;
      }
    }
    this.flushing = undefined;
  }
}
