/**
 * The Node worker pool, end to end with real worker threads. Runs the built worker
 * (packages/sandbox/dist), so build first: npx tsc -b packages/sandbox.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { InvalidModuleError } from '@lode/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNodeSandbox } from '../src/node/pool.js';
import { warmUp } from '../src/node/warmUp.js';
import type { Sandbox } from '../src/types.js';
import { hashOf, makeTask, MODULES, text, wat } from './helpers.js';

describe('createNodeSandbox', () => {
  let sandbox: Sandbox;
  const hashes: Record<string, string> = {};

  beforeAll(async () => {
    sandbox = createNodeSandbox({ workers: 2 });
    for (const name of ['hello', 'argsEnv', 'spin', 'trap', 'exit3'] as const) {
      const wasm = await wat(MODULES[name]);
      hashes[name] = hashOf(wasm);
      await sandbox.addModule(hashes[name], wasm);
    }
  });
  afterAll(() => sandbox.close());

  it('runs a task in a worker', async () => {
    const r = await sandbox.run(makeTask(hashes.hello!));
    expect(r.status).toBe('ok');
    expect(text(r.stdout)).toBe('hello, world\n');
    expect(sandbox.concurrency).toBe(2);
  });

  it('runs a batch of 1,000 tiny tasks, each with its own result', async () => {
    const tasks = Array.from({ length: 1000 }, (_, i) => makeTask(hashes.argsEnv!, { args: [String(i)] }));
    const results = await sandbox.runBatch(tasks);
    expect(results).toHaveLength(1000);
    results.forEach((r, i) => {
      expect(r.status).toBe('ok');
      expect(text(r.stdout)).toBe(`${hashes.argsEnv!.slice(0, 12)}.wasm\0${i}\0`);
    });
  });

  it('stops an infinite loop at its wall time, and keeps working afterwards', async () => {
    const spin = makeTask(hashes.spin!, { limits: { memoryMiB: 16, wallMs: 200, maxOutputBytes: 1024 } });
    const batch = [makeTask(hashes.hello!), spin, makeTask(hashes.exit3!), makeTask(hashes.hello!)];
    const results = await sandbox.runBatch(batch);
    expect(results[1]!.status).toBe('failed');
    expect(results[1]!.error?.code).toBe('SANDBOX_TIMEOUT');
    expect(results[1]!.durationMs).toBeGreaterThanOrEqual(200);
    // The rest of the batch ran on a fresh worker.
    expect(results.map((r) => r.status)).toEqual(['ok', 'failed', 'ok', 'ok']);
    expect(results[2]!.exitCode).toBe(3);
    const next = await sandbox.run(makeTask(hashes.hello!));
    expect(text(next.stdout)).toBe('hello, world\n');
  });

  it('reports a trap without losing the worker', async () => {
    const [trap, ok] = await sandbox.runBatch([makeTask(hashes.trap!), makeTask(hashes.hello!)]);
    expect(trap!.error?.code).toBe('SANDBOX_TRAP');
    expect(ok!.status).toBe('ok');
  });

  it('fails a task whose module was never added, without throwing', async () => {
    const r = await sandbox.run(makeTask('f'.repeat(64)));
    expect(r.status).toBe('failed');
    expect(r.error?.code).toBe('SANDBOX_BLOB_UNAVAILABLE');
  });

  it('fails with SANDBOX_MEMORY_LIMIT when the initial memory exceeds the cap', async () => {
    const wasm = await wat(MODULES.bigInitialMemory); // 512 pages = 32 MiB
    await sandbox.addModule(hashOf(wasm), wasm);
    const r = await sandbox.run(makeTask(hashOf(wasm), { limits: { memoryMiB: 16, wallMs: 1000, maxOutputBytes: 1024 } }));
    expect(r.error?.code).toBe('SANDBOX_MEMORY_LIMIT');
    const bigger = await sandbox.run(makeTask(hashOf(wasm), { limits: { memoryMiB: 64, wallMs: 1000, maxOutputBytes: 1024 } }));
    expect(bigger.status).toBe('ok');
  });

  it('refuses modules that are not WASI commands', async () => {
    const notWasm = new TextEncoder().encode('#!/bin/sh\necho hi\n');
    await expect(sandbox.addModule(hashOf(notWasm), notWasm)).rejects.toBeInstanceOf(InvalidModuleError);
    const foreign = await wat(MODULES.foreignImport);
    await expect(sandbox.addModule(hashOf(foreign), foreign)).rejects.toThrow(/env\.abort/);
    expect(sandbox.hasModule(hashOf(foreign))).toBe(false);
  });

  it('rejects module bytes that do not match their hash', async () => {
    const wasm = await wat(MODULES.hello);
    await expect(sandbox.addModule('0'.repeat(64), wasm)).rejects.toMatchObject({ code: 'BLOB_HASH_MISMATCH' });
  });

  const built = new URL('../../../workloads/build/', import.meta.url);
  const workloads = existsSync(built) ? readdirSync(built).filter((f) => f.endsWith('.wasm')) : [];
  /** What each deliberately bad workload must come to; the others must simply run. */
  const expected: Record<string, { status: 'ok' | 'failed'; code?: string; exitCode?: number }> = {
    'bad-trap.wasm': { status: 'failed', code: 'SANDBOX_TRAP' },
    'bad-loop.wasm': { status: 'failed', code: 'SANDBOX_FUEL_EXHAUSTED' },
    'bad-membomb.wasm': { status: 'failed', code: 'SANDBOX_MEMORY_LIMIT' }, // seen above the cap at its next host call
    'bad-outbomb.wasm': { status: 'failed', code: 'SANDBOX_OUTPUT_LIMIT' },
    'bad-exit3.wasm': { status: 'ok', exitCode: 3 },
  };
  it('runs the built AssemblyScript workloads (workloads/build/*.wasm)', async () => {
    // `npm test` builds the workloads first; missing ones mean a broken build, not a reason to skip.
    expect(workloads.length, 'no workloads/build/*.wasm: run `npm run build`').toBeGreaterThan(0);
    const tasks = [];
    for (const file of workloads) {
      const wasm = new Uint8Array(readFileSync(new URL(file, built)));
      await sandbox.addModule(hashOf(wasm), wasm);
      tasks.push(makeTask(hashOf(wasm), { limits: { memoryMiB: 16, wallMs: 10_000, maxOutputBytes: 64 * 1024, fuel: 100_000_000 } }));
    }
    const results = await sandbox.runBatch(tasks);
    workloads.forEach((file, i) => {
      const r = results[i]!;
      const want = expected[file];
      if (want) expect({ status: r.status, code: r.error?.code, exitCode: r.exitCode ?? undefined }, file).toMatchObject(want);
      else expect(r.error?.code, `${file}: ${r.error?.message}`).not.toBe('SANDBOX_INVALID_MODULE');
    });
  });
});

describe('warmUp', () => {
  it('runs tasks on every worker, checking their output, and reports the time taken', async () => {
    const pool = createNodeSandbox({ workers: 2 });
    try {
      const ms = await warmUp(pool, 100);
      expect(ms).toBeGreaterThan(0);
    } finally {
      await pool.close();
    }
  });
});

describe('an idle pool', () => {
  /** OS threads of this process (each worker is one, with its own V8 heap). */
  const threads = () => Number(/^Threads:\s+(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]);

  it('ends its workers after idleMs and starts fresh ones for the next task, which runs as before', async () => {
    const pool = createNodeSandbox({ workers: 2, idleMs: 100 });
    try {
      const hello = await wat(MODULES.hello);
      await pool.addModule(hashOf(hello), hello);
      expect(text((await pool.run(makeTask(hashOf(hello)))).stdout)).toBe('hello, world\n');
      const busy = threads();
      for (let i = 0; i < 100 && threads() > busy - 2; i++) await new Promise((r) => setTimeout(r, 20));
      expect(threads()).toBeLessThanOrEqual(busy - 2); // both run workers ended
      const results = await pool.runBatch(Array.from({ length: 10 }, () => makeTask(hashOf(hello))));
      expect(results.map((r) => text(r.stdout))).toEqual(Array(10).fill('hello, world\n'));
    } finally {
      await pool.close();
    }
  });
});

describe('a closed sandbox', () => {
  it('throws on run and ends its workers', async () => {
    const sandbox = createNodeSandbox({ workers: 1 });
    await sandbox.close();
    await expect(sandbox.run(makeTask('0'.repeat(64)))).rejects.toMatchObject({ code: 'SANDBOX_CLOSED' });
  });
});
