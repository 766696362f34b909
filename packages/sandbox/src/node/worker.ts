/**
 * A sandbox worker: keeps compiled modules by key, runs batches with `runTask`, reports each
 * task's start in the control block for the main thread's watchdog, skips tasks the main thread
 * flagged as cancelled, and answers each batch with one message (output buffers transferred, not
 * copied).
 */
import { createHash } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { executeTask, failedResult } from '../execute.js';
import type { SandboxResult } from '../types.js';
import { Control, nowMs, type BatchMessage, type DoneMessage, type WorkerInit } from './messages.js';

const control = new Control((workerData as WorkerInit).control);
const modules = new Map<string, WebAssembly.Module>();
const TRANSFER_MIN_BYTES = 4096;
const options = { sha256Hex: (data: Uint8Array | string) => createHash('sha256').update(data).digest('hex') };

parentPort!.on('message', (msg: BatchMessage) => {
  for (const key of msg.drop ?? []) modules.delete(key);
  for (const [key, module] of msg.modules) modules.set(key, module);
  const results: SandboxResult[] = [];
  const transfer = new Set<ArrayBuffer>();
  for (let i = 0; i < msg.tasks.length; i++) {
    const { key, task } = msg.tasks[i]!;
    control.begin(i, nowMs());
    if (control.isCancelled(i)) {
      // Cancelled while waiting in this batch; the main thread has already answered for it.
      results.push(failedResult('SANDBOX_CANCELLED', 'The task was cancelled before it started.', 0));
      continue;
    }
    let result: SandboxResult;
    try {
      const module = modules.get(key);
      result = module ? executeTask(module, task, options) : failedResult('SANDBOX_WORKER_CRASHED', `worker has no compiled module ${key}`, 0);
    } catch (e) {
      result = failedResult('SANDBOX_WORKER_CRASHED', `sandbox worker error: ${(e as Error).message}`, 0);
    }
    for (const b of [result.stdout, result.stderr, ...result.files.map((f) => f.data)]) {
      if (b.byteLength >= TRANSFER_MIN_BYTES && b.byteOffset === 0 && b.byteLength === b.buffer.byteLength) {
        transfer.add(b.buffer as ArrayBuffer);
      }
    }
    results.push(result);
  }
  control.idle();
  const done: DoneMessage = { type: 'done', id: msg.id, results };
  parentPort!.postMessage(done, [...transfer]);
});
