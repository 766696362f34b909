/**
 * Group commit: many small writes become a few multi-row statements.
 *
 * Guarantees:
 * - `add(item)` resolves only after a `write` containing the item has resolved (durably
 *   written, as far as `write` promises), or rejects with a retryable {@link StoreWriteError}
 *   if that write failed. Callers must handle the rejection.
 * - Items are written in the order they were added. A batch that fails for a reason that
 *   could be one item's fault (`isItemError`: the database refused a value) is split in halves
 *   and each half written again, down to single items, so one bad item never keeps the others
 *   out: the good ones resolve, each bad one rejects with {@link StoreRowRejectedError} (not
 *   retryable: writing it again gives the same answer). Any other failure (the database is
 *   unreachable) rejects the whole batch with a retryable {@link StoreWriteError}; the caller
 *   decides. A batch of n items takes at most 2n − 1 writes.
 * - At most one `write` is in flight; items added meanwhile go into a later batch.
 *   A batch holds at most `maxBatch` items.
 * - A batch is started `intervalMs` after its first item arrived (with 0, the default: right
 *   after the current turn of the event loop, so the rows of one results frame travel together),
 *   or at once when `maxBatch` items are pending — and never while a write is running: items
 *   that arrive meanwhile wait for it and then go together. Under load, batches grow by
 *   themselves with the write's duration; alone, an item waits for no timer.
 * - A failed write does not stop the committer; later items are written normally.
 */
import { StoreClosedError, StoreRowRejectedError, StoreWriteError, isRowError } from './errors.js';

/**
 * @default 0 — how long the first pending item waits for company. Waiting is not needed for
 * batching (items that arrive during a write go in the next one) and costs a lone result its
 * latency: 2 ms here cost a one-task job 2.3 ms of its ~10 (bench/latency.bench.js).
 */
export const DEFAULT_INTERVAL_MS = 0;
/** @default 1000 — one multi-row statement's worth (see `INSERT_CHUNK_ROWS`). */
export const DEFAULT_MAX_BATCH = 1_000;

export interface GroupCommitterOptions<T> {
  /** Writes a batch atomically; resolves once it is durable. */
  write(items: T[]): Promise<void>;
  /** @default DEFAULT_INTERVAL_MS */
  intervalMs?: number;
  /** @default DEFAULT_MAX_BATCH */
  maxBatch?: number;
  /**
   * Whether a failed write may be the fault of one of its items (then the batch is split to
   * find it). @default isRowError — PostgreSQL's data exceptions and constraint violations
   */
  isItemError?: (err: unknown) => boolean;
}

interface Entry<T> {
  item: T;
  resolve(): void;
  reject(err: unknown): void;
}

export class GroupCommitter<T> {
  readonly #write: (items: T[]) => Promise<void>;
  readonly #intervalMs: number;
  readonly #maxBatch: number;
  readonly #isItemError: (err: unknown) => boolean;
  #pending: Entry<T>[] = [];
  #timer: { cancel(): void } | undefined;
  /** The running write; never rejects (failures go to the entries). */
  #inFlight: Promise<void> | undefined;
  /** A flush became due while a write was running: start the next one right after it. */
  #due = false;
  #closed = false;

  constructor(options: GroupCommitterOptions<T>) {
    this.#write = options.write;
    this.#intervalMs = options.intervalMs ?? DEFAULT_INTERVAL_MS;
    this.#maxBatch = Math.max(1, options.maxBatch ?? DEFAULT_MAX_BATCH);
    this.#isItemError = options.isItemError ?? isRowError;
  }

  /** Items waiting for a write (not counting the one in flight). */
  get pending(): number {
    return this.#pending.length;
  }

  /** Queues an item; resolves when it is written. Rejects with `StoreClosedError` after `close()`. */
  add(item: T): Promise<void> {
    if (this.#closed) return Promise.reject(new StoreClosedError('group committer'));
    return new Promise<void>((resolve, reject) => {
      this.#pending.push({ item, resolve, reject });
      if (this.#pending.length >= this.#maxBatch) this.#trigger();
      else this.#schedule();
    });
  }

  /**
   * Writes everything added before this call, without waiting for the timer, and resolves once
   * those writes have finished (successfully or not: failures reach the items' own promises).
   */
  async flush(): Promise<void> {
    const last = this.#pending.at(-1);
    if (!last) return this.#inFlight; // nothing pending: wait for the running write, if any
    // Batches are written in order, so once the last item is settled, all earlier ones are.
    let settled = false;
    const { resolve, reject } = last;
    last.resolve = () => ((settled = true), resolve());
    last.reject = (err) => ((settled = true), reject(err));
    while (!settled) {
      if (!this.#inFlight) this.#trigger();
      await this.#inFlight;
    }
  }

  /** Refuses new items, then writes the pending ones. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.flush();
  }

  /** Starts a batch after `intervalMs` (0: after this turn), unless one is due already. */
  #schedule(): void {
    if (this.#timer) return;
    if (this.#intervalMs > 0) {
      const t = setTimeout(() => this.#trigger(), this.#intervalMs);
      this.#timer = { cancel: () => clearTimeout(t) };
    } else {
      const t = setImmediate(() => this.#trigger());
      this.#timer = { cancel: () => clearImmediate(t) };
    }
  }

  #trigger(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
    if (this.#inFlight) {
      this.#due = true;
      return;
    }
    if (this.#pending.length === 0) return;
    const batch = this.#pending.splice(0, this.#maxBatch);
    this.#inFlight = this.#run(batch);
  }

  async #run(batch: Entry<T>[]): Promise<void> {
    await this.#writeIsolating(batch);
    this.#inFlight = undefined;
    if (this.#due || this.#pending.length >= this.#maxBatch) {
      this.#due = false;
      this.#trigger();
    } else if (this.#pending.length > 0) {
      this.#schedule();
    }
  }

  /** Writes `batch`; when an item may be at fault, halves it until the bad items stand alone. */
  async #writeIsolating(batch: Entry<T>[]): Promise<void> {
    try {
      await this.#write(batch.map((e) => e.item));
      for (const e of batch) e.resolve();
      return;
    } catch (err) {
      if (!this.#isItemError(err)) {
        const failure = new StoreWriteError(err, batch.length);
        for (const e of batch) e.reject(failure);
        return;
      }
      if (batch.length === 1) {
        batch[0]!.reject(new StoreRowRejectedError(err));
        return;
      }
    }
    const half = Math.ceil(batch.length / 2);
    await this.#writeIsolating(batch.slice(0, half));
    await this.#writeIsolating(batch.slice(half));
  }
}
