/**
 * The caller's side of module preparation (prepare.ts): a warm worker that hashes, checks,
 * meters and compiles, one request at a time, in order. Portable: the Node pool gives it
 * worker_threads, the browser pool Web Workers, through `PrepareWorker`.
 *
 * Guarantees:
 * - Nothing of a module is parsed, metered or compiled on the calling thread.
 * - Each request is bounded by `budgetMs` of wall time from when the (loaded) worker gets it:
 *   past that, the worker is terminated and the request fails with SANDBOX_TIMEOUT; the next
 *   request gets a fresh worker. A worker that dies (over its heap limit, for instance) fails its
 *   request with SANDBOX_WORKER_CRASHED; one that dies while loading fails the request it was
 *   started for, so a worker that can never start fails requests one by one instead of looping.
 *   Either way the caller keeps serving.
 * - At most `maxQueued` requests wait; more are refused at once (PreparerBusyError:
 *   SANDBOX_WORKER_CRASHED, which the gateway gives to another node).
 * - `close()` terminates the worker and rejects what waits with SandboxClosedError.
 */
import { SandboxError, SandboxErrorCode } from '@lode/protocol';
import { PreparerBusyError, SandboxClosedError } from './errors.js';
import type { PrepareReply, PrepareRequest } from './prepare.js';

/** A worker running `handlePrepare`, as the preparer needs it. */
export interface PrepareWorker {
  post(msg: PrepareRequest): void;
  terminate(): void;
  /** Keeps the process alive while a request is in flight (Node); a no-op elsewhere. */
  hold?(busy: boolean): void;
}

/** How to start a worker: its messages (`{ t: 'ready' }` once loaded, then replies) and its death go to the callbacks. */
export type SpawnPrepareWorker = (events: { message: (msg: PrepareReply | { t: 'ready' }) => void; gone: (why: string) => void }) => PrepareWorker;

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** A request without its id (the preparer numbers them). */
export type PrepareJob = DistributiveOmit<PrepareRequest, 'id'>;

export interface PreparerOptions {
  spawn: SpawnPrepareWorker;
  /** Wall time one request may take in the worker. */
  budgetMs: number;
  /** Added to the crash message when the worker died of its heap limit (e.g. "heap limit of 256 MiB"). */
  heapNote?: string;
  /** Requests that may wait. @default 256 */
  maxQueued?: number;
  /**
   * An idle worker is ended after this long (the next request starts a fresh one, ~30 ms): its
   * heap and thread are ~10–35 MiB a provider keeps for nothing between modules. 0 keeps it.
   * @default 10_000
   */
  idleMs?: number;
}

interface Pending {
  id: number;
  job: PrepareJob;
  resolve: (r: PrepareReply) => void;
  reject: (e: unknown) => void;
}

/** How long a fresh worker may take to load before it counts as crashed. */
const STARTUP_MS = 30_000;

export class Preparer {
  private worker: PrepareWorker | undefined;
  /** The worker has loaded (said `ready`): the budget of a request counts from here on. */
  private ready = false;
  private startup: ReturnType<typeof setTimeout> | undefined;
  private current: (Pending & { timer: ReturnType<typeof setTimeout> }) | undefined;
  private idle: ReturnType<typeof setTimeout> | undefined;
  private readonly queue: Pending[] = [];
  private nextId = 1;
  private closed = false;

  constructor(private readonly o: PreparerOptions) {}

  /** Runs `job` in the worker; resolves with its reply (which may carry the module's refusal). */
  run(job: PrepareJob): Promise<PrepareReply> {
    if (this.closed) return Promise.reject(new SandboxClosedError());
    if (this.queue.length >= (this.o.maxQueued ?? 256)) {
      return Promise.reject(new PreparerBusyError(this.queue.length));
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, job, resolve, reject });
      this.next();
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    const error = new SandboxClosedError();
    for (const p of this.queue.splice(0)) p.reject(error);
    if (this.current) {
      clearTimeout(this.current.timer);
      this.current.reject(error);
      this.current = undefined;
    }
    clearTimeout(this.startup);
    clearTimeout(this.idle);
    this.worker?.terminate();
    this.worker = undefined;
  }

  private next(): void {
    if (this.current || this.closed || this.queue.length === 0) return;
    clearTimeout(this.idle);
    const worker = (this.worker ??= this.spawn());
    if (!this.ready) return; // `ready` calls next() again
    const p = this.queue.shift()!;
    const timer = setTimeout(() => this.overrun(worker), this.o.budgetMs);
    this.current = { ...p, timer };
    worker.hold?.(true);
    worker.post({ ...p.job, id: p.id } as PrepareRequest);
  }

  private spawn(): PrepareWorker {
    this.ready = false;
    const worker: PrepareWorker = this.o.spawn({
      message: (msg) => {
        if (worker !== this.worker) return;
        if (msg.t === 'ready') {
          clearTimeout(this.startup);
          this.ready = true;
          this.next();
        } else this.onReply(worker, msg);
      },
      gone: (why) => this.onGone(worker, why),
    });
    worker.hold?.(true); // loading for a waiting request
    this.startup = setTimeout(() => this.onGone(worker, `it did not start within ${STARTUP_MS} ms`), STARTUP_MS);
    return worker;
  }

  private onReply(worker: PrepareWorker, reply: PrepareReply): void {
    const p = this.current;
    if (!p || p.id !== reply.id) return;
    clearTimeout(p.timer);
    this.current = undefined;
    p.resolve(reply);
    this.next();
    if (!this.current) {
      worker.hold?.(false); // an idle worker does not keep the process alive
      this.endWhenIdle(worker);
    }
  }

  /** Ends `worker` once it has had nothing to do for `idleMs`. */
  private endWhenIdle(worker: PrepareWorker): void {
    const idleMs = this.o.idleMs ?? 10_000;
    if (idleMs <= 0) return;
    clearTimeout(this.idle);
    this.idle = setTimeout(() => {
      if (worker !== this.worker || this.current || this.queue.length > 0) return;
      this.worker = undefined;
      this.ready = false;
      worker.terminate();
    }, idleMs);
    (this.idle as { unref?: () => void }).unref?.();
  }

  /** The request ran past its budget: end the worker, fail the request, go on with a fresh worker. */
  private overrun(worker: PrepareWorker): void {
    if (worker !== this.worker || !this.current) return;
    this.end(
      new SandboxError(
        SandboxErrorCode.Timeout,
        `Preparing the module (checking, metering and compiling it) took longer than this node's budget of ${this.o.budgetMs} ms, and was stopped. ` +
          'The module is too large or too complex to prepare quickly: make it smaller.',
      ),
    );
  }

  private onGone(worker: PrepareWorker, why: string): void {
    if (worker !== this.worker || this.closed) return;
    const heap = this.o.heapNote && /out of memory|ERR_WORKER_OUT_OF_MEMORY/i.test(why) ? ` (over its ${this.o.heapNote})` : '';
    this.end(new SandboxError(SandboxErrorCode.WorkerCrashed, `The module preparation worker died: ${why}${heap}.`));
  }

  private end(error: SandboxError): void {
    const worker = this.worker;
    const started = this.ready;
    this.worker = undefined;
    this.ready = false;
    clearTimeout(this.startup);
    worker?.terminate();
    const p = this.current;
    this.current = undefined;
    if (p) {
      clearTimeout(p.timer);
      p.reject(error);
    } else if (!started) {
      this.queue.shift()?.reject(error);
    }
    this.next();
  }
}
