/**
 * Cancelling tasks in the Node worker pool (real worker threads; build first:
 * npx tsc -b packages/sandbox). Each test would hang for the spin task's wall time (10 minutes)
 * if cancelling did not free its worker, so the per-test timeouts are what check "promptly".
 */
import { getEventListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNodeSandbox } from '../src/node/pool.js';
import type { Sandbox } from '../src/types.js';
import { hashOf, makeTask, MODULES, text, wat } from './helpers.js';

const FOREVER = { memoryMiB: 16, wallMs: 600_000, maxOutputBytes: 1024 };

describe('cancelling sandbox tasks', () => {
  let sandbox: Sandbox;
  let hello: string;
  let spin: string;

  beforeAll(async () => {
    sandbox = createNodeSandbox({ workers: 1 });
    for (const name of ['hello', 'spin'] as const) {
      const wasm = await wat(MODULES[name]);
      await sandbox.addModule(hashOf(wasm), wasm);
      if (name === 'hello') hello = hashOf(wasm);
      else spin = hashOf(wasm);
    }
  });
  afterAll(() => sandbox.close());

  it('stops a running endless loop with SANDBOX_CANCELLED, and the pool runs the next task', { timeout: 15_000 }, async () => {
    const ac = new AbortController();
    const running = sandbox.run(makeTask(spin, { limits: FOREVER }), { signal: ac.signal });
    await sleep(200); // let the worker start it
    ac.abort();
    const r = await running;
    expect(r.status).toBe('failed');
    expect(r.error?.code).toBe('SANDBOX_CANCELLED');
    expect(r.durationMs).toBeLessThan(FOREVER.wallMs);
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
    const next = await sandbox.run(makeTask(hello));
    expect(text(next.stdout)).toBe('hello, world\n');
  });

  it('finishes the rest of a batch when one of its tasks is cancelled while running', { timeout: 15_000 }, async () => {
    const endless = makeTask(spin, { limits: FOREVER });
    const pending = sandbox.runBatch([makeTask(hello), endless, makeTask(hello)]);
    await sleep(200);
    expect(sandbox.cancel(endless)).toBe(true);
    const results = await pending;
    expect(results.map((r) => r.error?.code ?? r.status)).toEqual(['ok', 'SANDBOX_CANCELLED', 'ok']);
    expect(results[1]!.error?.message).toMatch(/while it ran/);
    expect(text(results[2]!.stdout)).toBe('hello, world\n');
  });

  it('drops a task queued behind a busy worker, and one waiting later in the same batch', { timeout: 15_000 }, async () => {
    const stopBatch = new AbortController();
    const waiting = makeTask(hello);
    const queued = makeTask(hello);
    // One worker: the spin task and the hello after it go out as one batch; the second call queues.
    const batch = sandbox.runBatch([makeTask(spin, { limits: FOREVER }), waiting], { signal: stopBatch.signal });
    const later = sandbox.run(queued);
    await sleep(100);
    expect(sandbox.cancel(queued)).toBe(true);
    expect((await later).error?.code).toBe('SANDBOX_CANCELLED');
    expect(sandbox.cancel(waiting)).toBe(true);
    stopBatch.abort();
    const results = await batch;
    expect(results.map((r) => r.error?.code)).toEqual(['SANDBOX_CANCELLED', 'SANDBOX_CANCELLED']);
    expect((await sandbox.run(makeTask(hello))).status).toBe('ok');
  });

  it('cancels at once when the signal is already aborted', async () => {
    const r = await sandbox.run(makeTask(hello), { signal: AbortSignal.abort() });
    expect(r.error?.code).toBe('SANDBOX_CANCELLED');
  });

  it('ignores a cancel after the task has finished, and lets go of the signal', async () => {
    const ac = new AbortController();
    const task = makeTask(hello);
    const r = await sandbox.run(task, { signal: ac.signal });
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
    ac.abort();
    expect(sandbox.cancel(task)).toBe(false);
    expect(r.status).toBe('ok');
    expect(text(r.stdout)).toBe('hello, world\n');
    expect((await sandbox.run(makeTask(hello))).status).toBe('ok');
  });
});
