/**
 * A stand-in for a sandbox Web Worker in Node tests: it runs the same `executeTask` as
 * sandbox.worker.ts, in this thread, one macrotask after each message. `hang` makes it never
 * answer (a runaway task, for the watchdog); `failToStart` makes it die before `ready`.
 */
import { executeTask } from '@lode/sandbox/portable';
import type { WorkerLike } from '../src/agent/sandbox.js';
import type { RunRequest, WorkerReply } from '../src/agent/workerMessages.js';

export interface InlineWorkerOptions {
  hang?: (msg: RunRequest) => boolean;
  failToStart?: boolean;
}

export interface InlineWorker extends WorkerLike {
  terminated: boolean;
  received: RunRequest[];
}

export function inlineWorker(options: InlineWorkerOptions = {}): InlineWorker {
  const modules = new Map<string, WebAssembly.Module>();
  const reply = (data: WorkerReply) => setTimeout(() => !w.terminated && w.onmessage?.({ data }), 0);
  const w: InlineWorker = {
    onmessage: null,
    onerror: null,
    terminated: false,
    received: [],
    postMessage(msg) {
      w.received.push(msg);
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
