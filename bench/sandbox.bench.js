#!/usr/bin/env node
/**
 * Sandbox figures: worker spawn time, a sandbox worker's cold start, and warm per-task time for a tiny WASI module
 * (hello world) through `runBatch` and through `run` (one call per task, awaited one by one,
 * and many at once), plus `runTask` inline for reference. Prints microseconds per task.
 *
 *   npx tsc -b packages/sandbox && node bench/sandbox.bench.js [--tasks 20000] [--workers 2]
 */
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { createNodeSandbox, pagesForMiB, prepareModule, runTask } from '@lode/sandbox';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const TASKS = arg('tasks', 20_000);
const WORKERS = arg('workers', 2);

// (module (import fd_write) (memory 1) (data "hello, world\n") (func _start: fd_write(1, iov, 1, nwritten)))
const HELLO = Uint8Array.from(
  Buffer.from(
    'AGFzbQEAAAABDAJgBH9/f38Bf2AAAAIjARZ3YXNpX3NuYXBzaG90X3ByZXZpZXcxCGZkX3dyaXRlAAADAgEBBQMBAAEHEwIGbWVtb3J5AgAGX3N0YXJ0AAEKHgEcAEEAQcAANgIAQQRBDTYCAEEBQQBBAUEIEAAaCwsUAQBBwAALDWhlbGxvLCB3b3JsZAo=',
    'base64',
  ),
);
const hash = createHash('sha256').update(HELLO).digest('hex');
const task = (i) => ({
  moduleHash: hash,
  args: [String(i)],
  env: {},
  stdin: new Uint8Array(0),
  files: [],
  mounts: [],
  seed: hash,
  limits: { memoryMiB: 16, wallMs: 5_000, maxOutputBytes: 1 << 20 },
});
const us = (ms, n) => ((ms * 1000) / n).toFixed(1);

// Worker spawn: time to a worker that answers a message.
{
  const samples = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    const w = new Worker('const { parentPort } = require("node:worker_threads"); parentPort.on("message", (m) => parentPort.postMessage(m));', { eval: true });
    await new Promise((resolve) => {
      w.once('message', resolve);
      w.postMessage(1);
    });
    samples.push(performance.now() - t0);
    await w.terminate();
  }
  samples.sort((a, b) => a - b);
  console.log(`worker spawn (to first reply), median of 5: ${samples[2].toFixed(1)} ms`);
}

// A sandbox worker from nothing to its first result (spawn, load the sandbox code, get the module, run).
{
  const t0 = performance.now();
  const cold = createNodeSandbox({ workers: 1 });
  await cold.addModule(hash, HELLO);
  await cold.run(task(0));
  console.log(`sandbox cold start (1 worker, first task): ${(performance.now() - t0).toFixed(1)} ms`);
  await cold.close();
}

// Inline runTask: the cost of one task with no thread hop.
{
  const module = new WebAssembly.Module(prepareModule(HELLO, pagesForMiB(16)));
  for (let i = 0; i < 2000; i++) runTask(module, task(i));
  const n = 10_000;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) runTask(module, task(i));
  console.log(`runTask inline:            ${us(performance.now() - t0, n)} µs/task`);
}

const sandbox = createNodeSandbox({ workers: WORKERS });
await sandbox.addModule(hash, HELLO);
await sandbox.runBatch(Array.from({ length: 2000 }, (_, i) => task(i))); // warm up workers and JIT

{
  const tasks = Array.from({ length: TASKS }, (_, i) => task(i));
  const t0 = performance.now();
  const results = await sandbox.runBatch(tasks);
  const ms = performance.now() - t0;
  if (results.some((r) => r.status !== 'ok')) throw new Error('a task failed');
  console.log(`runBatch (${TASKS} tasks, ${WORKERS} workers): ${us(ms, TASKS)} µs/task  (${Math.round(TASKS / (ms / 1000))} tasks/s)`);
}
{
  const n = Math.min(TASKS, 2000);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await sandbox.run(task(i));
  console.log(`run, one at a time:        ${us(performance.now() - t0, n)} µs/task  (round trip to a worker)`);
}
{
  const t0 = performance.now();
  await Promise.all(Array.from({ length: TASKS }, (_, i) => sandbox.run(task(i))));
  const ms = performance.now() - t0;
  console.log(`run, ${TASKS} concurrent:   ${us(ms, TASKS)} µs/task  (${Math.round(TASKS / (ms / 1000))} tasks/s; coalesced into batches)`);
}
await sandbox.close();
