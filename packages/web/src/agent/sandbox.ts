/**
 * The browser implementation of `Sandbox` (@lode/sandbox's contract): a pool of Web Workers
 * running the portable sandbox (sandbox.worker.ts).
 *
 * - Modules are prepared exactly as the Node pool prepares them, with the same code
 *   (@lode/sandbox's `ModuleStore` and `Preparer`): hashed, checked (`inspectModule`, every cap
 *   of LIMITS.module), instrumented for fuel metering and NaN canonicalization once per hash, and
 *   compiled once per (hash, memory cap) — in a dedicated preparation Web Worker, never on the
 *   page's main thread, each within `prepareMs` (past it the worker is terminated and the module's
 *   tasks fail with SANDBOX_TIMEOUT); refusals are remembered by hash. The compiled
 *   `WebAssembly.Module` is posted to each worker once. So fuel, like the result hash, is the same
 *   as on a Node provider. (A browser has no per-worker heap limit; WebAssembly memory is bounded
 *   by the memory cap and compilation by LIMITS.module, as on a node.)
 * - One task per worker message: a browser provider runs tasks of milliseconds or more, and one
 *   task at a time makes wall time and cancellation exact — the page knows which task a worker
 *   runs and since when.
 * - Wall time: a watchdog terminates a worker whose task overruns its `limits.wallMs`; that
 *   task fails with SANDBOX_TIMEOUT and a fresh worker takes its place.
 * - Cancelling (`cancel(task)`, or a batch's aborted signal) answers SANDBOX_CANCELLED at once:
 *   a queued task is dropped, a running task's worker is terminated and replaced.
 * - A worker that dies fails its task with SANDBOX_WORKER_CRASHED; three workers in a row that
 *   die before starting mark the pool broken (every task then fails with that reason).
 * - `resize(n)` changes the number of workers: idle ones go at once, busy ones when their
 *   task ends.
 */
import { DEFAULTS, InvalidRequestError, SandboxErrorCode } from '@lode/protocol';
import {
  checkTask,
  failedResult,
  ModuleStore,
  pagesForMiB,
  Preparer,
  SandboxClosedError,
  type Sandbox,
  type SandboxBatchOptions,
  type SandboxResult,
  type SandboxRunOptions,
  type SandboxTask,
} from '@lode/sandbox/portable';
import type { RunRequest, WorkerReply, WorkerRequest } from './workerMessages.js';

/** What the pool needs of a Worker (a Web Worker, or an adapter in Node tests). */
export interface WorkerLike {
  postMessage(msg: WorkerRequest): void;
  terminate(): void;
  onmessage: ((ev: { data: WorkerReply }) => void) | null;
  onerror: ((ev: { message?: string; preventDefault?: () => void }) => void) | null;
}
export type WorkerFactory = () => WorkerLike;

export interface WorkerSandboxOptions {
  /** Workers (tasks that run at once). */
  workers: number;
  spawn: WorkerFactory;
  /** How often the watchdog checks running tasks. @default 25 */
  watchdogMs?: number;
  /** Wall time to check, meter and compile one module in the preparation worker. @default 60_000 */
  prepareMs?: number;
  /** Where the preparation worker comes from. @default `spawn` (the same script) */
  spawnPreparer?: WorkerFactory;
  /** Modules kept prepared; past it the least recently used are dropped. @default 256 */
  maxModules?: number;
}

export interface WorkerSandbox extends Sandbox {
  /** Changes the number of workers (at least 1). */
  resize(workers: number): void;
  /** Tasks running now. */
  readonly busy: number;
}

interface Pending {
  task: SandboxTask;
  key: string;
  module: WebAssembly.Module | undefined;
  settled: boolean;
  slot: Slot | undefined;
  resolve: (r: SandboxResult) => void;
  reject: (e: unknown) => void;
}

interface Slot {
  worker: WorkerLike;
  modules: Set<string>;
  /** Keys it holds that the pool evicted: forgotten with its next message. */
  drop: string[];
  running: { id: number; pending: Pending; since: number } | undefined;
  online: boolean;
  dead: boolean;
  /** Leaves the pool once its task ends (after a `resize` down). */
  retiring: boolean;
}

const MAX_START_FAILURES = 3;

export function createWorkerSandbox(options: WorkerSandboxOptions): WorkerSandbox {
  const spawnWorker = options.spawn;
  const watchdogMs = Math.max(1, options.watchdogMs ?? 25);
  const spawnPreparer = options.spawnPreparer ?? spawnWorker;
  const modules = new ModuleStore({
    firstPages: pagesForMiB(DEFAULTS.memoryMiB),
    maxModules: options.maxModules,
    onEvict: (_hash, keys) => {
      for (const slot of slots) for (const key of keys) if (slot.modules.delete(key)) slot.drop.push(key);
    },
    preparer: new Preparer({
      budgetMs: Math.max(1, options.prepareMs ?? 60_000),
      spawn: (events) => {
        const worker = spawnPreparer();
        worker.onmessage = (ev) => {
          const msg = ev.data;
          if (msg.t === 'ready' || msg.t === 'prepared') events.message(msg);
        };
        worker.onerror = (ev) => {
          ev.preventDefault?.();
          events.gone(ev.message || 'the worker failed to load or crashed');
        };
        return { post: (msg) => worker.postMessage(msg), terminate: () => worker.terminate() };
      },
    }),
  });
  const active = new Map<SandboxTask, Pending[]>();
  let slots: Slot[] = [];
  let target = Math.max(1, Math.floor(options.workers));
  let queue: Pending[] = [];
  let nextId = 1;
  let closed = false;
  let startFailures = 0;
  let broken: string | undefined;
  let watchdog: ReturnType<typeof setInterval> | undefined;

  for (let i = 0; i < target; i++) slots.push(spawn());

  function spawn(): Slot {
    const worker = spawnWorker();
    const slot: Slot = { worker, modules: new Set(), drop: [], running: undefined, online: false, dead: false, retiring: false };
    worker.onmessage = (ev) => {
      const msg = ev.data;
      if (msg.t === 'ready') {
        slot.online = true;
        startFailures = 0;
        return;
      }
      if (msg.t === 'done') onDone(slot, msg.id, msg.result);
    };
    worker.onerror = (ev) => {
      ev.preventDefault?.();
      onWorkerGone(slot, ev.message || 'the worker failed to load or crashed');
    };
    return slot;
  }

  // ---- running

  function runOne(task: SandboxTask): Promise<SandboxResult> {
    if (closed) return Promise.reject(new SandboxClosedError());
    const problem = checkTask(task);
    if (problem) return Promise.reject(new InvalidRequestError(`Malformed sandbox task: ${problem}`));
    if (!modules.has(task.moduleHash)) {
      return Promise.resolve(failedResult(SandboxErrorCode.BlobUnavailable, `Module ${task.moduleHash} was not added to the sandbox (addModule).`, 0));
    }
    const pages = pagesForMiB(task.limits.memoryMiB);
    return new Promise((resolve, reject) => {
      const p: Pending = { task, key: `${task.moduleHash}/${pages}`, module: undefined, settled: false, slot: undefined, resolve, reject };
      const list = active.get(task);
      if (list) list.push(p);
      else active.set(task, [p]);
      void modules.compile(task.moduleHash, pages).then((c) => {
        // never rejects
        if (p.settled) return;
        if ('error' in c) {
          const { code, shortMessage, details } = c.error;
          return settle(p, failedResult(code, details ? `${shortMessage} (${details})` : shortMessage, 0));
        }
        if (closed) return abandon(p, new SandboxClosedError());
        if (broken) return settle(p, failedResult(SandboxErrorCode.WorkerCrashed, broken, 0));
        p.module = c.module;
        queue.push(p);
        dispatch();
      });
    });
  }

  function dispatch(): void {
    if (closed) return;
    queue = queue.filter((p) => !p.settled);
    for (const slot of slots) {
      if (queue.length === 0) break;
      if (slot.running || slot.dead || slot.retiring) continue;
      const p = queue.shift()!;
      const id = nextId++;
      const msg: RunRequest = { t: 'run', id, key: p.key, task: p.task };
      if (slot.drop.length > 0) {
        msg.drop = slot.drop;
        slot.drop = [];
      }
      if (!slot.modules.has(p.key)) {
        msg.module = p.module;
        slot.modules.add(p.key);
      }
      p.slot = slot;
      slot.running = { id, pending: p, since: performance.now() };
      slot.worker.postMessage(msg);
    }
    const anyRunning = slots.some((s) => s.running);
    if (anyRunning && !watchdog) watchdog = setInterval(checkWallTime, watchdogMs);
    else if (!anyRunning && watchdog) {
      clearInterval(watchdog);
      watchdog = undefined;
    }
  }

  function onDone(slot: Slot, id: number, result: SandboxResult): void {
    if (slot.dead || slot.running?.id !== id) return;
    const { pending } = slot.running;
    slot.running = undefined;
    settle(pending, result);
    if (slot.retiring) removeSlot(slot);
    dispatch();
  }

  function checkWallTime(): void {
    const now = performance.now();
    for (const slot of slots) {
      const r = slot.running;
      if (!r || slot.dead) continue;
      const { wallMs } = r.pending.task.limits;
      if (now - r.since > wallMs) {
        endWorker(slot, SandboxErrorCode.Timeout, `The task ran past its wall-time limit of ${wallMs} ms and was stopped.`);
      }
    }
  }

  function onWorkerGone(slot: Slot, why: string): void {
    if (slot.dead || closed) return;
    if (!slot.online) startFailures++;
    if (startFailures >= MAX_START_FAILURES && !broken) {
      // Workers die before starting (a broken build, a browser without module workers): stop respawning.
      broken = `The sandbox workers cannot start (${startFailures} in a row failed): ${why}`;
    }
    endWorker(slot, SandboxErrorCode.WorkerCrashed, `The sandbox worker died: ${why}`);
    if (broken) for (const p of queue.splice(0)) settle(p, failedResult(SandboxErrorCode.WorkerCrashed, broken, 0));
  }

  /** Terminates a slot's worker: its running task gets `code`, a fresh worker takes the slot. */
  function endWorker(slot: Slot, code: SandboxErrorCode, message: string): void {
    slot.dead = true;
    slot.worker.terminate();
    const r = slot.running;
    slot.running = undefined;
    if (r) settle(r.pending, failedResult(code, message, performance.now() - r.since));
    const at = slots.indexOf(slot);
    if (at >= 0) {
      if (slot.retiring || broken || closed) slots.splice(at, 1);
      else slots[at] = spawn();
    }
    dispatch();
  }

  function removeSlot(slot: Slot): void {
    slot.dead = true;
    slot.worker.terminate();
    slots = slots.filter((s) => s !== slot);
  }

  function settle(p: Pending, result: SandboxResult): void {
    if (p.settled) return;
    untrack(p);
    p.resolve(result);
  }

  function abandon(p: Pending, err: unknown): void {
    if (p.settled) return;
    untrack(p);
    p.reject(err);
  }

  function untrack(p: Pending): void {
    p.settled = true;
    const list = active.get(p.task);
    if (!list) return;
    const i = list.indexOf(p);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) active.delete(p.task);
  }

  function cancelPending(p: Pending): void {
    if (p.settled) return;
    const slot = p.slot;
    if (slot && slot.running?.pending === p && !slot.dead) {
      endWorker(slot, SandboxErrorCode.Cancelled, 'The task was cancelled while it ran; its worker was stopped.');
    } else {
      settle(p, failedResult(SandboxErrorCode.Cancelled, 'The task was cancelled.', 0));
    }
  }

  return {
    async addModule(hash, bytes) {
      if (closed) throw new SandboxClosedError();
      return modules.add(hash, bytes);
    },
    hasModule(hash) {
      return modules.has(hash);
    },
    run(task, runOptions: SandboxRunOptions = {}) {
      return this.runBatch([task], runOptions).then((r) => r[0]!);
    },
    async runBatch(tasks, batchOptions: SandboxBatchOptions = {}) {
      if (closed) throw new SandboxClosedError();
      const { signal } = batchOptions;
      const runs = tasks.map(runOne);
      if (signal) {
        const onAbort = () => {
          for (const t of tasks) this.cancel(t);
        };
        if (signal.aborted) onAbort();
        else signal.addEventListener('abort', onAbort, { once: true });
        try {
          return await Promise.all(runs);
        } finally {
          signal.removeEventListener('abort', onAbort);
        }
      }
      return Promise.all(runs);
    },
    cancel(task) {
      const list = active.get(task);
      if (!list) return false;
      for (const p of [...list]) cancelPending(p);
      return true;
    },
    resize(workers) {
      if (closed) return;
      target = Math.max(1, Math.floor(workers));
      const staying = () => slots.filter((s) => !s.retiring).length;
      for (const s of slots) {
        if (staying() >= target) break;
        s.retiring = false;
      }
      while (staying() < target) slots.push(spawn());
      // Shrink: idle workers go at once, busy ones when their task ends.
      let excess = staying() - target;
      for (const s of slots.filter((x) => !x.retiring).sort((a, b) => Number(!!a.running) - Number(!!b.running))) {
        if (excess-- <= 0) break;
        if (s.running) s.retiring = true;
        else removeSlot(s);
      }
      dispatch();
    },
    get concurrency() {
      return target;
    },
    get busy() {
      return slots.filter((s) => s.running).length;
    },
    async close() {
      if (closed) return;
      closed = true;
      if (watchdog) clearInterval(watchdog);
      modules.close();
      const err = new SandboxClosedError();
      for (const p of queue) abandon(p, err);
      queue = [];
      for (const s of slots) {
        s.dead = true;
        if (s.running) abandon(s.running.pending, err);
        s.running = undefined;
        s.worker.terminate();
      }
      slots = [];
    },
  };
}
