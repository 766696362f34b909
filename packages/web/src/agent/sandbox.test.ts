import { describe, expect, it } from 'vitest';
import { BlobHashMismatchError, InvalidModuleError, sha256Hex } from '@lode/protocol';
import { instrumentModule, pagesForMiB, prepareModule, runTask, type SandboxTask } from '@lode/sandbox/portable';
import { readWorkload } from '@lode/workloads';
import { inlineWorker, type InlineWorker } from '../../test/inlineWorker.js';
import { HOSTILE } from '../../../sandbox/test/hostile.js';
import { createWorkerSandbox } from './sandbox.js';

const echo = readWorkload('echo');
const echoHash = sha256Hex(echo);

function task(args: string[], wallMs = 5_000): SandboxTask {
  return {
    moduleHash: echoHash,
    args,
    env: {},
    stdin: new Uint8Array(),
    files: [],
    mounts: [],
    seed: 'ab'.repeat(32),
    limits: { memoryMiB: 64, wallMs, maxOutputBytes: 1 << 16 },
  };
}

function pool(workers: number, make: () => InlineWorker = () => inlineWorker(), prepare: { make?: () => InlineWorker; prepareMs?: number } = {}) {
  const spawned: InlineWorker[] = [];
  const preparers: InlineWorker[] = [];
  const sandbox = createWorkerSandbox({
    workers,
    watchdogMs: 5,
    prepareMs: prepare.prepareMs,
    spawn: () => {
      const w = make();
      spawned.push(w);
      return w;
    },
    spawnPreparer: () => {
      const w = (prepare.make ?? (() => inlineWorker()))();
      preparers.push(w);
      return w;
    },
  });
  return { sandbox, spawned, preparers };
}

describe('the Web Worker sandbox pool', () => {
  it('gives the same results and fuel, hash for hash, as running the metered module in this thread', async () => {
    const { sandbox } = pool(2);
    await sandbox.addModule(echoHash, echo);
    const tasks = [task(['hello']), task(['from', 'the', 'pool']), task([])];
    const results = await sandbox.runBatch(tasks);
    const module = new WebAssembly.Module(prepareModule(instrumentModule(echo), pagesForMiB(64)) as Uint8Array<ArrayBuffer>);
    for (const [i, r] of results.entries()) {
      const inline = runTask(module, tasks[i]!);
      expect(r.status).toBe('ok');
      expect(r.resultHash).toBe(inline.resultHash);
      expect(r.fuelUsed).toBeGreaterThan(0);
      expect(r.fuelUsed).toBe(inline.fuelUsed);
      expect(new TextDecoder().decode(r.stdout)).toBe(new TextDecoder().decode(inline.stdout));
    }
    await sandbox.close();
  });

  it('posts a compiled module to each worker once', async () => {
    const { sandbox, spawned } = pool(1);
    await sandbox.addModule(echoHash, echo);
    await sandbox.runBatch([task(['a']), task(['b']), task(['c'])]);
    const withModule = spawned[0]!.received.filter((m) => m.module);
    expect(spawned[0]!.received).toHaveLength(3);
    expect(withModule).toHaveLength(1);
    await sandbox.close();
  });

  it('stops a task that overruns its wall time (SANDBOX_TIMEOUT) and replaces its worker', async () => {
    const { sandbox, spawned } = pool(1, () => inlineWorker({ hang: (m) => m.task.args[0] === 'forever' }));
    await sandbox.addModule(echoHash, echo);
    const [stuck, after] = await sandbox.runBatch([task(['forever'], 30), task(['next'])]);
    expect(stuck!.error?.code).toBe('SANDBOX_TIMEOUT');
    expect(after!.status).toBe('ok');
    expect(spawned[0]!.terminated).toBe(true);
    expect(spawned).toHaveLength(2);
    await sandbox.close();
  });

  it('cancels a running task by ending its worker, and a queued one without running it', async () => {
    const { sandbox, spawned } = pool(1, () => inlineWorker({ hang: (m) => m.task.args[0] === 'slow' }));
    await sandbox.addModule(echoHash, echo);
    const running = task(['slow'], 60_000);
    const queued = task(['queued']);
    const p = sandbox.runBatch([running, queued]);
    await new Promise((r) => setTimeout(r, 20));
    expect(sandbox.cancel(queued)).toBe(true);
    expect(sandbox.cancel(running)).toBe(true);
    const [a, b] = await p;
    expect(a!.error?.code).toBe('SANDBOX_CANCELLED');
    expect(b!.error?.code).toBe('SANDBOX_CANCELLED');
    expect(spawned[0]!.terminated).toBe(true);
    expect(spawned[0]!.received.map((m) => m.task.args[0])).toEqual(['slow']);
    expect(sandbox.cancel(running)).toBe(false);
    await sandbox.close();
  });

  it('resizes: grows at once, shrinks idle workers at once and busy ones when their task ends', async () => {
    const { sandbox, spawned } = pool(2);
    await sandbox.addModule(echoHash, echo);
    sandbox.resize(4);
    expect(sandbox.concurrency).toBe(4);
    expect(spawned).toHaveLength(4);
    sandbox.resize(1);
    expect(spawned.filter((w) => w.terminated)).toHaveLength(3);
    const results = await sandbox.runBatch([task(['x']), task(['y'])]);
    expect(results.map((r) => r.status)).toEqual(['ok', 'ok']);
    await sandbox.close();
  });

  it('fails tasks with SANDBOX_WORKER_CRASHED, without respawning for ever, when workers cannot start', async () => {
    const { sandbox, spawned } = pool(1, () => inlineWorker({ failToStart: true }));
    await sandbox.addModule(echoHash, echo);
    const results = await sandbox.runBatch([task(['a']), task(['b'])]);
    for (const r of results) expect(r.error?.code).toBe('SANDBOX_WORKER_CRASHED');
    expect(spawned.length).toBeLessThanOrEqual(3);
    await sandbox.close();
  });

  it('prepares modules in its preparation worker, not on the page: the worker hashes, checks, meters and compiles', async () => {
    const { sandbox, spawned, preparers } = pool(1);
    await sandbox.addModule(echoHash, echo);
    expect(preparers).toHaveLength(1);
    expect(preparers[0]!.preparing.map((m) => m.t)).toEqual(['prepare']);
    // A larger memory cap compiles again, in the same worker.
    await sandbox.run({ ...task(['x']), limits: { memoryMiB: 512, wallMs: 5_000, maxOutputBytes: 1 << 16 } });
    expect(preparers[0]!.preparing.map((m) => m.t)).toEqual(['prepare', 'compile']);
    expect(spawned[0]!.preparing).toEqual([]); // run workers only run
    await sandbox.close();
  });

  it('stops a preparation past its budget (SANDBOX_TIMEOUT), remembers it, and keeps serving with a fresh preparation worker', async () => {
    const stuck = readWorkload('primes');
    const stuckHash = sha256Hex(stuck);
    const hangOnPrimes = () => inlineWorker({ hangPreparing: (m) => m.t === 'prepare' && m.bytes.byteLength === stuck.byteLength });
    const { sandbox, preparers } = pool(1, undefined, { make: hangOnPrimes, prepareMs: 1_000 });
    await sandbox.addModule(echoHash, echo);
    const error = await sandbox.addModule(stuckHash, stuck).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: 'SANDBOX_TIMEOUT' });
    expect(preparers[0]!.terminated).toBe(true);
    await expect(sandbox.addModule(stuckHash, stuck)).rejects.toBe(error); // remembered, not prepared again
    const [r] = await sandbox.runBatch([task(['after'])]);
    expect(new TextDecoder().decode(r!.stdout)).toBe('after');
    const wc = readWorkload('wordcount');
    await sandbox.addModule(sha256Hex(wc), wc);
    expect(preparers).toHaveLength(2);
    await sandbox.close();
  });

  it('keeps at most maxModules prepared, telling workers to forget the evicted ones', async () => {
    const spawned: InlineWorker[] = [];
    const sandbox = createWorkerSandbox({
      workers: 1,
      maxModules: 1,
      spawn: () => (spawned.push(inlineWorker()), spawned.at(-1)!),
      spawnPreparer: () => inlineWorker(),
    });
    const primes = readWorkload('primes');
    await sandbox.addModule(echoHash, echo);
    await sandbox.run(task(['one']));
    await sandbox.addModule(sha256Hex(primes), primes); // echo goes
    expect(sandbox.hasModule(echoHash)).toBe(false);
    await sandbox.run({ ...task(['0', '100']), moduleHash: sha256Hex(primes) });
    expect(spawned[0]!.received.at(-1)!.drop).toEqual([`${echoHash}/${pagesForMiB(64)}`]);
    await sandbox.addModule(echoHash, echo);
    const again = await sandbox.run(task(['two']));
    expect(new TextDecoder().decode(again.stdout)).toBe('two');
    await sandbox.close();
  });

  it('refuses the hostile corpus exactly as the Node pool does', async () => {
    const { sandbox } = pool(1);
    for (const h of HOSTILE) {
      if (!('inspect' in h.expect)) continue;
      const bytes = h.bytes();
      await expect(sandbox.addModule(sha256Hex(bytes), bytes), h.name).rejects.toThrow(h.expect.inspect);
    }
    await sandbox.close();
  });

  it('refuses module bytes that do not hash to their address, and bytes that are not WebAssembly', async () => {
    const { sandbox } = pool(1);
    await expect(sandbox.addModule('00'.repeat(32), echo)).rejects.toBeInstanceOf(BlobHashMismatchError);
    const text = new TextEncoder().encode('not wasm');
    await expect(sandbox.addModule(sha256Hex(text), text)).rejects.toBeInstanceOf(InvalidModuleError);
    const r = await sandbox.run({ ...task([]), moduleHash: sha256Hex(text) });
    expect(r.error?.code).toBe('SANDBOX_BLOB_UNAVAILABLE');
    await sandbox.close();
  });
});
