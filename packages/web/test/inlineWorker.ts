/**
 * A stand-in for a sandbox Web Worker in Node tests: it runs the same `executeTask` as
 * sandbox.worker.ts, in this thread, one macrotask after each message. `hang` makes it never
 * answer (a runaway task, for the watchdog); `failToStart` makes it die before `ready`. As the
 * pool's preparation worker it answers `prepare`/`compile` with the same `handlePrepare`.
 */
import { sha256Hex } from '@lode/protocol';
import { executeTask, handlePrepare, type PrepareRequest } from '@lode/sandbox/portable';
import type { WorkerLike } from '../src/agent/sandbox.js';
import type { RunRequest, WorkerReply } from '../src/agent/workerMessages.js';

export interface InlineWorkerOptions {
  hang?: (msg: RunRequest) => boolean;
  /** Never answers preparation requests (a preparation that overruns its budget). */
  hangPreparing?: (msg: PrepareRequest) => boolean;
  failToStart?: boolean;
}

export interface InlineWorker extends WorkerLike {
  terminated: boolean;
  /** Run requests, in order. */
  received: RunRequest[];
  /** Preparation requests (when it serves as the preparation worker). */
  preparing: PrepareRequest[];
}

export function inlineWorker(options: InlineWorkerOptions = {}): InlineWorker {
  const modules = new Map<string, WebAssembly.Module>();
  const reply = (data: WorkerReply) => setTimeout(() => !w.terminated && w.onmessage?.({ data }), 0);
  const w: InlineWorker = {
    onmessage: null,
    onerror: null,
    terminated: false,
    received: [],
    preparing: [],
    postMessage(msg) {
      if (msg.t !== 'run') {
        // The preparation worker: the same handlePrepare as sandbox.worker.ts.
        w.preparing.push(msg);
        if (options.hangPreparing?.(msg)) return;
        handlePrepare(msg, sha256Hex)
          .then(({ reply: r }) => reply(r))
          .catch((e: unknown) => w.onerror?.({ message: String(e) }));
        return;
      }
      w.received.push(msg);
      for (const key of msg.drop ?? []) modules.delete(key);
      if (msg.module) modules.set(msg.key, msg.module);
      if (options.hang?.(msg)) return;
      setTimeout(() => {
        if (w.terminated) return;
        const result = executeTask(modules.get(msg.key)!, msg.task);
        reply({ t: 'done', id: msg.id, result });
      }, 0);
    },
    terminate() {
      w.terminated = true;
    },
  };
  if (options.failToStart) setTimeout(() => !w.terminated && w.onerror?.({ message: 'could not load the worker script' }), 0);
  else reply({ t: 'ready' });
  return w;
}
