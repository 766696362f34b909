/**
 * The main thread's side of module preparation: a warm worker (prepare.worker.ts) that hashes,
 * checks, meters and compiles, one request at a time, in order.
 *
 * Guarantees:
 * - Nothing of a module is parsed, metered or compiled on the calling thread.
 * - Each request is bounded by `budgetMs` of wall time from when the (loaded) worker gets it: past
 *   that, the worker is terminated (a loop stops within milliseconds) and the request fails with
 *   SANDBOX_TIMEOUT; the next request gets a fresh worker. A worker that dies (its heap over
 *   `heapMiB`, for instance) fails its request with SANDBOX_WORKER_CRASHED. Either way the
 *   caller's process keeps serving.
 * - At most `maxQueued` requests wait; more are refused at once (SANDBOX_WORKER_CRASHED, which
 *   the gateway gives to another node).
 * - `close()` terminates the worker and rejects what waits with SandboxClosedError.
 */
import { Worker } from 'node:worker_threads';
import { SandboxError, SandboxErrorCode } from '@lode/protocol';
import { SandboxClosedError } from '../errors.js';
import type { PrepareReply, PrepareRequest } from './prepareMessages.js';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** A request without its id (the preparer numbers them). */
export type PrepareJob = DistributiveOmit<PrepareRequest, 'id'>;

export interface PreparerOptions {
  url: URL;
  /** Wall time one request may take in the worker. */
  budgetMs: number;
  /** The worker's heap (V8 old generation), in MiB. */
  heapMiB: number;
  /** Requests that may wait. @default 256 */
  maxQueued?: number;
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
  private worker: Worker | undefined;
  /** The worker has loaded (said `ready`): the budget of a request counts from here on. */
  private ready = false;
  private startup: ReturnType<typeof setTimeout> | undefined;
  private current: (Pending & { timer: ReturnType<typeof setTimeout> }) | undefined;
  private readonly queue: Pending[] = [];
  private nextId = 1;
  private closed = false;

  constructor(private readonly o: PreparerOptions) {}

  /** Runs `job` in the worker; resolves with its reply (which may carry the module's refusal). */
  run(job: PrepareJob): Promise<PrepareReply> {
    if (this.closed) return Promise.reject(new SandboxClosedError());
    if (this.queue.length >= (this.o.maxQueued ?? 256)) {
      return Promise.reject(
        new SandboxError(SandboxErrorCode.WorkerCrashed, `${this.queue.length} modules already wait to be prepared on this node; try another node.`),
      );
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, job, resolve, reject });
      this.next();
    });
  }

  async close(): Promise<void> {
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
    await this.worker?.terminate();
    this.worker = undefined;
  }

  private next(): void {
    if (this.current || this.closed) return;
    if (this.queue.length === 0) return;
    const worker = (this.worker ??= this.spawn());
    if (!this.ready) return; // `ready` calls next() again
    const p = this.queue.shift()!;
    const timer = setTimeout(() => this.overrun(worker), this.o.budgetMs);
    this.current = { ...p, timer };
    worker.ref();
    worker.postMessage({ ...p.job, id: p.id } as PrepareRequest);
  }

  private spawn(): Worker {
    const worker = new Worker(this.o.url, { resourceLimits: { maxOldGenerationSizeMb: this.o.heapMiB } });
    this.ready = false;
    this.startup = setTimeout(() => this.onGone(worker, `it did not start within ${STARTUP_MS} ms`), STARTUP_MS);
    this.startup.unref();
    worker.on('message', (reply: PrepareReply | { ready: true }) => {
      if (!('ready' in reply)) return this.onReply(worker, reply);
      if (worker !== this.worker) return;
      clearTimeout(this.startup);
      this.ready = true;
      this.next();
    });
    worker.on('error', (e) => this.onGone(worker, e.message));
    worker.on('exit', (code) => this.onGone(worker, `it exited with code ${code}`));
    return worker; // referenced while requests wait (see onReply)
  }

  private onReply(worker: Worker, reply: PrepareReply): void {
    const p = this.current;
    if (worker !== this.worker || !p || p.id !== reply.id) return;
    clearTimeout(p.timer);
    this.current = undefined;
    p.resolve(reply);
    this.next();
    if (!this.current) worker.unref(); // idle: an idle worker does not keep the process alive
  }

  /** The request ran past its budget: end the worker, fail the request, go on with a fresh worker. */
  private overrun(worker: Worker): void {
    if (worker !== this.worker || !this.current) return;
    this.end(
      new SandboxError(
        SandboxErrorCode.Timeout,
        `Preparing the module (checking, metering and compiling it) took longer than this node's budget of ${this.o.budgetMs} ms, and was stopped. ` +
          'The module is too large or too complex to prepare quickly: make it smaller.',
      ),
    );
  }

  private onGone(worker: Worker, why: string): void {
    if (worker !== this.worker || this.closed) return;
    const heap = /out of memory|ERR_WORKER_OUT_OF_MEMORY/i.test(why) ? ` (over its heap limit of ${this.o.heapMiB} MiB)` : '';
    this.end(new SandboxError(SandboxErrorCode.WorkerCrashed, `The module preparation worker died: ${why}${heap}.`));
  }

  private end(error: SandboxError): void {
    const worker = this.worker;
    const started = this.ready;
    this.worker = undefined;
    this.ready = false;
    clearTimeout(this.startup);
    void worker?.terminate().catch(() => {});
    const p = this.current;
    this.current = undefined;
    if (p) {
      clearTimeout(p.timer);
      p.reject(error);
    } else if (!started) {
      // Died while loading: the request it was started for fails, so a worker that can never
      // start (a broken install, a heap too small) fails requests one by one instead of looping.
      this.queue.shift()?.reject(error);
    }
    this.next();
  }
}
