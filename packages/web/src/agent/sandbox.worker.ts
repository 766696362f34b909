/**
 * A sandbox Web Worker: the same code that runs tasks in `lode node`'s worker threads
 * (`executeTask` from @lode/sandbox/portable — Lode's WASI layer, memory cap, output cap), so
 * a browser's results and result hashes are byte for byte those of a Node provider. Wall time
 * is enforced by the page, which terminates a worker whose task overruns.
 *
 * The pool's preparation worker is this script too: it answers `prepare`/`compile` requests with
 * the same `handlePrepare` as `lode node`'s preparation worker (hash, inspectModule,
 * instrumentModule, compile), off the page's main thread; the page bounds each by its budget.
 */
import { executeTask, failedResult, handlePrepare, toErrorData, type PrepareReply } from '@lode/sandbox/portable';
import { sha256Hex } from '@lode/provider';
import type { WorkerReply, WorkerRequest } from './workerMessages.js';

const scope = self as unknown as {
  onmessage: ((ev: MessageEvent<WorkerRequest>) => void) | null;
  postMessage(msg: WorkerReply, transfer?: Transferable[]): void;
};
const modules = new Map<string, WebAssembly.Module>();

scope.onmessage = ({ data: msg }) => {
  if (msg.t !== 'run') {
    handlePrepare(msg, sha256Hex)
      .then(({ reply, transfer }) => scope.postMessage(reply, transfer))
      .catch((e: unknown) => scope.postMessage({ t: 'prepared', id: msg.id, ok: false, error: toErrorData(e) } satisfies PrepareReply));
    return;
  }
  for (const key of msg.drop ?? []) modules.delete(key);
  if (msg.module) modules.set(msg.key, msg.module);
  const module = modules.get(msg.key);
  let result;
  try {
    result = module ? executeTask(module, msg.task) : failedResult('SANDBOX_WORKER_CRASHED', `The worker has no compiled module ${msg.key}.`, 0);
  } catch (e) {
    result = failedResult('SANDBOX_WORKER_CRASHED', `Sandbox worker error: ${(e as Error).message}`, 0);
  }
  const transfer = new Set<ArrayBuffer>();
  for (const b of [result.stdout, result.stderr, ...result.files.map((f) => f.data)]) {
    if (b.byteLength > 0 && b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && b.buffer instanceof ArrayBuffer) transfer.add(b.buffer);
  }
  scope.postMessage({ t: 'done', id: msg.id, result }, [...transfer]);
};
scope.postMessage({ t: 'ready' });
