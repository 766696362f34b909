/**
 * The embedded chain off the event loop: a worker thread owns the EmbeddedChain (VM, state, log
 * file) and this host schedules requests to it, so EVM execution never holds the caller's HTTP
 * and WebSocket work.
 *
 * Guarantees:
 * - One request executes at a time. The owner's requests (`request`, EIP-1193: viem's `custom`
 *   transport, dev methods allowed) go first; then public JSON-RPC calls (`handleJsonRpc`, dev
 *   methods refused) of the client that has used the least worker time lately (decaying with a
 *   half-life of USAGE_HALF_LIFE_MS), in order within a client: a client whose calls run long
 *   waits behind clients whose calls are cheap, so a flood of hostile calls delays an honest
 *   caller by at most the one call in flight.
 * - Every request runs with a wall-time budget of EVM execution (the owner's `budgetMs`, the
 *   public `publicBudgetMs`) and at most the block gas limit (see EmbeddedChain).
 * - Queues are bounded: at most `maxQueuedPerClient` calls per public client and `maxQueued`
 *   in all; past that a call is refused at once (JSON-RPC -32005), never queued.
 * - A worker that stops answering (watchdog: its budget plus WATCHDOG_GRACE_MS) or dies is
 *   ended and, for a chain on disk, started again from its log; the requests in flight fail
 *   with -32603 and the queued ones run on the new worker.
 *
 * @example
 * const chain = await ChainWorker.open({ dataDir: '.lode/chain', accounts });
 * const client = createPublicClient({ transport: custom(chain) });
 * await chain.handleJsonRpc(body, { client: '203.0.113.7' }); // POST /rpc
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { DEFAULT_EXECUTION_BUDGET_MS, RpcError, type EmbeddedChainOptions } from './embeddedChain.js';
import { answerJsonRpc } from './rpc.js';
import type { WorkerAnswer, WorkerRequest } from './worker.js';

/** EVM wall time per public JSON-RPC request unless told otherwise. @default 1,000 ms */
export const DEFAULT_PUBLIC_BUDGET_MS = 1_000;
/** Queued public calls per client, at most. @default 64 */
export const DEFAULT_MAX_QUEUED_PER_CLIENT = 64;
/** Queued public calls in all, at most. @default 4,096 */
export const DEFAULT_MAX_QUEUED = 4_096;
/** Time past a request's budget after which the worker is taken as stuck. */
export const WATCHDOG_GRACE_MS = 30_000;
/** Half-life of a public client's recorded worker time. */
export const USAGE_HALF_LIFE_MS = 10_000;
/** Clients whose recorded worker time is kept, at most (the least used are forgotten first). */
const MAX_USAGE_ENTRIES = 10_000;

export interface ChainWorkerOptions extends Omit<EmbeddedChainOptions, 'now'> {
  /** EVM wall time per public JSON-RPC request. @default DEFAULT_PUBLIC_BUDGET_MS */
  publicBudgetMs?: number;
  /** @default DEFAULT_MAX_QUEUED_PER_CLIENT */
  maxQueuedPerClient?: number;
  /** @default DEFAULT_MAX_QUEUED */
  maxQueued?: number;
  /** Told when the worker failed (and whether it was started again). */
  onError?: (err: Error, restarted: boolean) => void;
}

interface Job {
  method: string;
  params: unknown;
  budgetMs: number;
  dev: boolean;
  client: string | undefined;
  resolve(value: unknown): void;
  reject(err: RpcError): void;
}

export class ChainWorker {
  private worker!: Worker;
  private nextId = 1;
  private readonly own: Job[] = [];
  /** Public calls by client (FIFO within a client). */
  private readonly byClient = new Map<string, Job[]>();
  /** Worker time (ms) each public client used, decayed to `at`. */
  private readonly usage = new Map<string, { ms: number; at: number }>();
  private queuedPublic = 0;
  private inflight: { id: number; job: Job; watchdog: NodeJS.Timeout; started: number } | undefined;
  private ready = false;
  private closing = false;
  private closed = false;
  private readonly budgetMs: number;
  private readonly publicBudgetMs: number;

  private constructor(
    readonly chainId: number,
    private readonly options: ChainWorkerOptions,
  ) {
    this.budgetMs = options.budgetMs ?? DEFAULT_EXECUTION_BUDGET_MS;
    this.publicBudgetMs = options.publicBudgetMs ?? DEFAULT_PUBLIC_BUDGET_MS;
  }

  /** Starts the worker and opens (or creates) the chain in it; rejects if it cannot. */
  static async open(options: ChainWorkerOptions = {}): Promise<ChainWorker> {
    const { worker, chainId } = await startWorker(options);
    const host = new ChainWorker(chainId, options);
    host.attach(worker);
    return host;
  }

  /** EIP-1193 for the owner (the gateway itself): first in line, dev methods allowed. */
  request(args: { method: string; params?: unknown }): Promise<unknown> {
    return this.enqueue({ method: args.method, params: args.params, budgetMs: this.budgetMs, dev: true, client: undefined });
  }

  /** One public JSON-RPC body (`POST /rpc`) from `client` → its answer; never throws. */
  handleJsonRpc(body: unknown, from: { client: string }): Promise<unknown> {
    return answerJsonRpc(body, (method, params) => this.enqueue({ method, params, budgetMs: this.publicBudgetMs, dev: false, client: from.client }));
  }

  /** Lets the request in flight finish, refuses the queued ones, then closes the chain (flushed). */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    for (const job of this.drainQueues()) job.reject(new RpcError(-32000, 'the chain is closing'));
    while (this.inflight !== undefined && this.ready) await new Promise((r) => setTimeout(r, 10));
    const worker = this.worker;
    if (this.ready) {
      const done = new Promise<void>((resolve) => {
        const onMessage = (m: WorkerAnswer) => {
          if (m.t === 'closed') resolve();
        };
        worker.on('message', onMessage);
        worker.once('exit', () => resolve());
      });
      worker.postMessage({ t: 'close' });
      await Promise.race([done, new Promise((r) => setTimeout(r, 10_000).unref())]);
    }
    this.closed = true;
    await worker.terminate().catch(() => undefined);
  }

  private enqueue(j: Omit<Job, 'resolve' | 'reject'>): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const job: Job = { ...j, resolve, reject };
      if (this.closing || this.closed) return reject(new RpcError(-32000, 'the chain is closed'));
      if (j.client === undefined) {
        this.own.push(job);
      } else {
        const mine = this.byClient.get(j.client);
        const max = this.options.maxQueuedPerClient ?? DEFAULT_MAX_QUEUED_PER_CLIENT;
        if ((mine?.length ?? 0) >= max) {
          return reject(new RpcError(-32005, `too many JSON-RPC calls waiting from this client (${max}); wait for answers before sending more`));
        }
        if (this.queuedPublic >= (this.options.maxQueued ?? DEFAULT_MAX_QUEUED)) {
          return reject(new RpcError(-32005, 'the chain is busy (its queue of JSON-RPC calls is full); try again in a few seconds'));
        }
        if (mine === undefined) this.byClient.set(j.client, [job]);
        else mine.push(job);
        this.queuedPublic++;
      }
      this.pump();
    });
  }

  /** The owner's next request, else the oldest call of the public client that used the least worker time. */
  private next(): Job | undefined {
    const own = this.own.shift();
    if (own !== undefined) return own;
    const now = performance.now();
    let client: string | undefined;
    let least = Number.POSITIVE_INFINITY;
    for (const c of this.byClient.keys()) {
      const used = this.usedBy(c, now);
      if (used < least) [client, least] = [c, used];
    }
    if (client === undefined) return undefined;
    const queue = this.byClient.get(client)!;
    const job = queue.shift()!;
    this.queuedPublic--;
    if (queue.length === 0) this.byClient.delete(client);
    return job;
  }

  private usedBy(client: string, now: number): number {
    const u = this.usage.get(client);
    return u === undefined ? 0 : u.ms * 2 ** (-(now - u.at) / USAGE_HALF_LIFE_MS);
  }

  /** Adds a finished call's worker time to its client's record (bounded: the least used are dropped). */
  private charge(client: string, ms: number): void {
    const now = performance.now();
    this.usage.set(client, { ms: this.usedBy(client, now) + ms, at: now });
    if (this.usage.size > MAX_USAGE_ENTRIES) {
      const sorted = [...this.usage.keys()].map((c) => [c, this.usedBy(c, now)] as const).sort((a, b) => a[1] - b[1]);
      for (const [c] of sorted.slice(0, this.usage.size - MAX_USAGE_ENTRIES / 2)) this.usage.delete(c);
    }
  }

  private pump(): void {
    if (this.inflight !== undefined || !this.ready || this.closed) return;
    const job = this.next();
    if (job === undefined) return;
    const id = this.nextId++;
    const watchdog = setTimeout(() => this.stuck(id), job.budgetMs + WATCHDOG_GRACE_MS);
    watchdog.unref();
    this.inflight = { id, job, watchdog, started: performance.now() };
    const message: WorkerRequest = { t: 'call', id, method: job.method, params: job.params, budgetMs: job.budgetMs, dev: job.dev };
    try {
      this.worker.postMessage(message);
    } catch (err) {
      // Params that cannot be cloned (a function, a symbol): not JSON-RPC.
      clearTimeout(watchdog);
      this.inflight = undefined;
      job.reject(new RpcError(-32602, `invalid params: ${(err as Error).message}`));
      this.pump();
    }
  }

  private attach(worker: Worker): void {
    this.worker = worker;
    this.ready = true;
    worker.on('message', (m: WorkerAnswer) => {
      if ((m.t !== 'result' && m.t !== 'error') || this.inflight?.id !== m.id) return;
      const { job, watchdog, started } = this.inflight;
      clearTimeout(watchdog);
      this.inflight = undefined;
      if (job.client !== undefined) this.charge(job.client, performance.now() - started);
      if (m.t === 'result') job.resolve(m.result);
      else job.reject(new RpcError(m.code, m.message, m.data as `0x${string}` | undefined));
      this.pump();
    });
    worker.on('error', (err) => this.lost(worker, err));
    worker.on('exit', (code) => this.lost(worker, new Error(`the chain's worker exited with code ${code}`)));
    this.pump();
  }

  /** The worker has not answered within the request's budget plus the grace: end it. */
  private stuck(id: number): void {
    if (this.inflight?.id !== id) return;
    const worker = this.worker;
    this.lost(worker, new Error(`the chain's worker did not answer ${this.inflight.job.method} within ${this.inflight.job.budgetMs + WATCHDOG_GRACE_MS} ms`));
    worker.terminate().catch(() => undefined);
  }

  /** The worker died or hung: fail what was in flight, and start again from disk if there is one. */
  private lost(worker: Worker, err: Error): void {
    if (worker !== this.worker || !this.ready) return; // an old worker, or already handled
    this.ready = false;
    if (this.inflight !== undefined) {
      clearTimeout(this.inflight.watchdog);
      this.inflight.job.reject(new RpcError(-32603, `internal error: ${err.message}; the request may not have run`));
      this.inflight = undefined;
    }
    if (this.closing) return;
    const restart = this.options.dataDir !== undefined;
    this.options.onError?.(err, restart);
    if (!restart) {
      this.closed = true;
      for (const job of this.drainQueues()) job.reject(new RpcError(-32603, `internal error: ${err.message}; the in-memory chain is gone`));
      return;
    }
    // The old thread must be gone before the log file is opened again.
    worker
      .terminate()
      .catch(() => undefined)
      .then(() => startWorker(this.options))
      .then(
        ({ worker: fresh }) => {
          if (this.closing) {
            fresh.terminate().catch(() => undefined);
            return;
          }
          this.attach(fresh);
        },
        (failed: Error) => {
          this.closed = true;
          this.options.onError?.(failed, false);
          for (const job of this.drainQueues()) job.reject(new RpcError(-32603, `internal error: the chain could not be reopened (${failed.message})`));
        },
      );
  }

  private drainQueues(): Job[] {
    const all = [...this.own.splice(0), ...[...this.byClient.values()].flat()];
    this.byClient.clear();
    this.queuedPublic = 0;
    return all;
  }
}

/** Starts a worker and waits for its chain to open. */
function startWorker(options: ChainWorkerOptions): Promise<{ worker: Worker; chainId: number }> {
  const { publicBudgetMs: _p, maxQueuedPerClient: _c, maxQueued: _q, onError: _e, ...chainOptions } = options;
  // A young generation of 4 MiB, as the sandbox's run workers: the chain's default grows to 32 MiB
  // while it deploys and stays resident (docs/benchmarks.md, footprint).
  const worker = new Worker(workerUrl(), { workerData: chainOptions, resourceLimits: { maxYoungGenerationSizeMb: 4 } });
  return new Promise((resolve, reject) => {
    const onMessage = (m: WorkerAnswer) => {
      if (m.t === 'ready') {
        cleanup();
        resolve({ worker, chainId: m.chainId });
      } else if (m.t === 'failed') {
        cleanup();
        worker.terminate().catch(() => undefined);
        reject(new Error(m.message));
      }
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const onExit = (code: number) => {
      cleanup();
      reject(new Error(`the chain's worker exited with code ${code} while opening the chain`));
    };
    const cleanup = () => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
    };
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
  });
}

/** Where the compiled worker entry is: beside this file when built, in dist/ when run from source (tests). */
function workerUrl(): URL {
  const here = new URL('./worker.js', import.meta.url);
  if (import.meta.url.endsWith('.js')) return here;
  const built = new URL('../../dist/chain/worker.js', import.meta.url);
  if (!existsSync(fileURLToPath(built))) throw new Error(`@lode/ledger: ${fileURLToPath(built)} is missing; build first (npx tsc -b packages/ledger).`);
  return built;
}
