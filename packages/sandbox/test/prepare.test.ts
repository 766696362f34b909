/**
 * Module preparation off the main thread: the pool checks, meters and compiles in its
 * preparation worker, within a time budget and a heap limit, and keeps serving when a
 * preparation is stopped or its worker dies. Runs the built workers (npx tsc -b packages/sandbox).
 */
import { describe, expect, it } from 'vitest';
import { createNodeSandbox } from '../src/node/pool.js';
import type { Sandbox } from '../src/types.js';
import { hashOf, makeTask, MODULES, text, wat } from './helpers.js';
import { body, command, repeat } from './hostile.js';

/** A valid module within every cap that takes ~1 s (`functions` = 8) to meter here: functions of 1 MB of `i32.const 0; drop`. */
function slowModule(functions = 8): Uint8Array {
  const code = repeat([0x41, 0x00, 0x1a], 333_000);
  const b = body(code);
  return command({ funcs: new Array<number>(functions - 1).fill(0), bodies: new Array<Uint8Array>(functions).fill(b) });
}

async function hello(sandbox: Sandbox): Promise<string> {
  const wasm = await wat(MODULES.hello);
  await sandbox.addModule(hashOf(wasm), wasm);
  return text((await sandbox.run(makeTask(hashOf(wasm)))).stdout);
}

/** Timer turns (5 ms apart) the main thread completes until `p` settles. */
async function turnsWhile(p: Promise<unknown>): Promise<number> {
  let done = false;
  void p.then(
    () => (done = true),
    () => (done = true),
  );
  let turns = 0;
  while (!done) {
    await new Promise((r) => setTimeout(r, 5));
    turns++;
  }
  return turns;
}

describe('module preparation', () => {
  it('checks, meters and compiles in a worker: the main thread keeps turning while a large module is prepared', async () => {
    const sandbox = createNodeSandbox({ workers: 1 });
    try {
      expect(await hello(sandbox)).toBe('hello, world\n'); // the worker is loaded
      const slow = slowModule();
      const adding = sandbox.addModule(hashOf(slow), slow);
      // Prepared on this thread, the call itself would hold the loop for the whole preparation.
      expect(await turnsWhile(adding)).toBeGreaterThan(10);
      await adding;
      const r = await sandbox.run(makeTask(hashOf(slow)));
      expect(r.status, r.error?.message).toBe('ok');
    } finally {
      await sandbox.close();
    }
  });

  it('stops a preparation past its budget (SANDBOX_TIMEOUT), remembers the refusal, and keeps serving', async () => {
    // A budget far above what a small module needs, far below what 16 MB of code needs (~2 s here).
    const sandbox = createNodeSandbox({ workers: 1, prepareMs: 300 });
    try {
      const slow = slowModule(16);
      const error = await sandbox.addModule(hashOf(slow), slow).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toMatchObject({ code: 'SANDBOX_TIMEOUT' });
      expect((error as Error).message).toMatch(/budget of 300 ms.*make it smaller/s);
      // The next task of that module is answered at once with the same refusal, not prepared again.
      await expect(sandbox.addModule(hashOf(slow), slow)).rejects.toBe(error);
      expect(sandbox.hasModule(hashOf(slow))).toBe(false);
      // New modules are prepared by a fresh worker, and run.
      expect(await hello(sandbox)).toBe('hello, world\n');
      const echo = await wat(MODULES.echo);
      await sandbox.addModule(hashOf(echo), echo);
      expect(text((await sandbox.run(makeTask(hashOf(echo), { stdin: new TextEncoder().encode('still here') }))).stdout)).toBe('still here');
    } finally {
      await sandbox.close();
    }
  });

  it('gives the preparation worker a heap limit: past it, the module fails with SANDBOX_WORKER_CRASHED and the pool stays', async () => {
    // 2 MiB of heap cannot even load the sandbox's code: every preparation fails, one by one.
    const sandbox = createNodeSandbox({ workers: 1, prepareHeapMiB: 2 });
    try {
      const wasm = await wat(MODULES.hello);
      const error = await sandbox.addModule(hashOf(wasm), wasm).then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(error).toMatchObject({ code: 'SANDBOX_WORKER_CRASHED' });
      expect(error!.message).toMatch(/preparation worker died.*heap limit of 2 MiB/s);
      const task = await sandbox.run(makeTask(hashOf(wasm)));
      expect(task.error?.code).toBe('SANDBOX_BLOB_UNAVAILABLE'); // never added; answered, not hung
    } finally {
      await sandbox.close();
    }
  });

  it('gives each run worker a heap limit: a task past it fails with SANDBOX_WORKER_CRASHED and the pool keeps serving', async () => {
    // 900,000 funcref entries put ~14 MB on the worker's JS heap, past an 8 MiB limit (a worker starts in less).
    const sandbox = createNodeSandbox({ workers: 1, workerHeapMiB: 8 });
    try {
      const tables = command({ tables: [{ min: 900_000 }], bodies: [body([])] });
      await sandbox.addModule(hashOf(tables), tables);
      const r = await sandbox.run(makeTask(hashOf(tables), { limits: { memoryMiB: 64, wallMs: 10_000, maxOutputBytes: 1024 } }));
      expect(r.error?.code, r.error?.message).toBe('SANDBOX_WORKER_CRASHED');
      expect(await hello(sandbox)).toBe('hello, world\n');
    } finally {
      await sandbox.close();
    }
  });

  it('keeps at most maxModules prepared: the least recently used go, workers forget them, and they come back when needed', async () => {
    const sandbox = createNodeSandbox({ workers: 1, maxModules: 2 });
    try {
      const [hi, echo, args] = await Promise.all([wat(MODULES.hello), wat(MODULES.echo), wat(MODULES.argsEnv)]);
      const run = async (wasm: Uint8Array, input = '') => {
        await sandbox.addModule(hashOf(wasm), wasm);
        return text((await sandbox.run(makeTask(hashOf(wasm), { stdin: new TextEncoder().encode(input), args: ['a'] }))).stdout);
      };
      expect(await run(hi)).toBe('hello, world\n');
      expect(await run(echo, 'e')).toBe('e');
      expect(await run(hi)).toBe('hello, world\n'); // hello is now the most recent
      expect(await run(args)).toContain('\0a\0'); // a third module: echo, the least recent, goes
      expect(sandbox.hasModule(hashOf(echo))).toBe(false);
      expect(sandbox.hasModule(hashOf(hi))).toBe(true);
      // Its next task (as the node agent does) adds it again, and the worker gets it afresh.
      expect(await run(echo, 'back')).toBe('back');
    } finally {
      await sandbox.close();
    }
  });
});
