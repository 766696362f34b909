/**
 * Fuel metering end to end: the built workloads (workloads/build) and small WAT programs, in the
 * Node pool (metered and not) and inline with `runTask`. Runs the built worker: build first
 * (npx tsc -b packages/sandbox; npm run build --workspace workloads).
 */
import { readFileSync } from 'node:fs';
import { InvalidModuleError } from '@lode/protocol';
import { afterAll, describe, expect, it } from 'vitest';
import { FUEL_EXHAUSTED, instrumentModule } from '../src/metering/index.js';
import { pagesForMiB, prepareModule } from '../src/module.js';
import { createNodeSandbox } from '../src/node/pool.js';
import { runTask } from '../src/run.js';
import type { SandboxResult, SandboxTask } from '../src/types.js';
import { bytes, hashOf, makeTask, MODULES, wat } from './helpers.js';

const metered = createNodeSandbox({ workers: 2 });
const plain = createNodeSandbox({ workers: 1, metering: false });
afterAll(() => Promise.all([metered.close(), plain.close()]));

const workload = (name: string) => new Uint8Array(readFileSync(new URL(`../../../workloads/build/${name}.wasm`, import.meta.url)));
const limits = (memoryMiB = 64, fuel?: number) => ({ memoryMiB, wallMs: 20_000, maxOutputBytes: 1 << 20, ...(fuel === undefined ? {} : { fuel }) });

/** Everything a result says about what the module did, fuel aside. */
const outcome = (r: SandboxResult) => ({
  status: r.status,
  exitCode: r.exitCode,
  code: r.error?.code,
  stdout: r.stdout,
  stderr: r.stderr,
  files: r.files,
  resultHash: r.resultHash,
});

async function add(wasm: Uint8Array): Promise<string> {
  const hash = hashOf(wasm);
  await Promise.all([metered.addModule(hash, wasm), plain.addModule(hash, wasm)]);
  return hash;
}

/** The same task inline, on the module as the pool prepares it. */
function inline(wasm: Uint8Array, task: SandboxTask): SandboxResult {
  const module = new WebAssembly.Module(prepareModule(instrumentModule(wasm), pagesForMiB(task.limits.memoryMiB)) as BufferSource);
  return runTask(module, task);
}

const words = bytes(Array.from({ length: 3000 }, (_, i) => `Word${i % 97} the quick brown fox's tail, ${i}`).join('\n'));
const CASES: { name: string; task: Partial<SandboxTask>; status: 'ok' | 'failed'; code?: string }[] = [
  { name: 'mandelbrot', task: { args: ['64', '48', '0', '0', '64', '48', '200'] }, status: 'ok' },
  { name: 'mandelbrot', task: { args: ['64', '64', '0', '0', '64', '64', '50'], env: { MANDELBROT_OUT: '/out/tile.raw' } }, status: 'ok' },
  { name: 'pi', task: { args: ['7', '100000'] }, status: 'ok' },
  { name: 'primes', task: { args: ['1000', '30000'] }, status: 'ok' },
  { name: 'wordcount', task: { stdin: words }, status: 'ok' },
  { name: 'echo', task: { args: ['a', 'b'], stdin: words }, status: 'ok' },
  { name: 'bad-exit3', task: {}, status: 'ok' },
  { name: 'bad-clock', task: {}, status: 'ok' },
  { name: 'bad-trap', task: {}, status: 'failed', code: 'SANDBOX_TRAP' },
  { name: 'bad-membomb', task: { limits: limits(16) }, status: 'failed', code: 'SANDBOX_MEMORY_LIMIT' },
  { name: 'bad-outbomb', task: { limits: { ...limits(), maxOutputBytes: 200_000 } }, status: 'failed', code: 'SANDBOX_OUTPUT_LIMIT' },
];

describe('fuel metering end to end', () => {
  it('leaves every workload’s results unchanged, and charges the same fuel on every run, inline and in the pool', async () => {
    for (const c of CASES) {
      const wasm = workload(c.name);
      const hash = await add(wasm);
      const task = makeTask(hash, { limits: limits(), ...c.task });
      const [unmetered, first, [second, third]] = await Promise.all([plain.run(task), metered.run(task), metered.runBatch([task, structuredClone(task)])]);
      const label = `${c.name} ${JSON.stringify(c.task.args ?? [])}`;
      expect(outcome(unmetered), label).toMatchObject({ status: c.status, code: c.code });
      expect(outcome(first), label).toEqual(outcome(unmetered));
      expect(unmetered.fuelUsed, label).toBeUndefined();
      expect(first.fuelUsed, label).toBeGreaterThan(0);
      expect([second!.fuelUsed, third!.fuelUsed], label).toEqual([first.fuelUsed, first.fuelUsed]);
      const here = inline(wasm, task);
      expect(outcome(here), label).toEqual(outcome(first));
      expect(here.fuelUsed, label).toBe(first.fuelUsed);
    }
  });

  it('charges the workloads exactly what they were charged before NaN canonicalization and the grow checks existed', async () => {
    // Measured with the instrumenter of the commit before them (same fuel schedule, version 1);
    // the module hash guards against a rebuilt workload (then measure again and update).
    const PINNED = [
      { name: 'mandelbrot', sha: 'd3147a7583c4', args: ['64', '48', '0', '0', '64', '48', '200'], fuel: 5_818_328 },
      { name: 'pi', sha: 'c6129c8815ed', args: ['7', '100000'], fuel: 7_518_934 },
      { name: 'primes', sha: '303429b5994d', args: ['1000', '30000'], fuel: 3_684_295 },
      { name: 'wordcount', sha: '34fbab080d71', args: [], fuel: 62_391_875, stdin: words },
    ];
    for (const p of PINNED) {
      const wasm = workload(p.name);
      expect(hashOf(wasm).slice(0, 12), `${p.name}.wasm was rebuilt: measure its fuel again`).toBe(p.sha);
      const r = await metered.run(makeTask(await add(wasm), { args: p.args, limits: limits(), ...(p.stdin ? { stdin: p.stdin } : {}) }));
      expect(r.fuelUsed, p.name).toBe(p.fuel);
    }
  });

  it('stops a loop that never ends by fuel — the same way every time, long before its wall time', async () => {
    const hash = await add(workload('bad-loop'));
    const task = makeTask(hash, { limits: limits(16, 200_000_000) });
    const runs = await Promise.all([metered.run(task), metered.run(structuredClone(task))]);
    for (const r of runs) {
      expect(r).toMatchObject({ status: 'failed', exitCode: null, fuelUsed: 200_000_000, error: { code: FUEL_EXHAUSTED } });
      expect(r.error!.message).toMatch(/used all of its 200000000 fuel.*Raise limits\.fuel/);
      expect(r.durationMs).toBeLessThan(task.limits.wallMs / 4);
    }
    expect(runs[1]!.resultHash).toBe(runs[0]!.resultHash);
    expect(inline(workload('bad-loop'), task)).toMatchObject({ error: { code: FUEL_EXHAUSTED }, resultHash: runs[0]!.resultHash });
    // Without metering only the wall-time limit stops it.
    const unmetered = await plain.run(makeTask(hash, { limits: { ...limits(16), wallMs: 300 } }));
    expect(unmetered.error?.code).toBe('SANDBOX_TIMEOUT');
  });

  it('stops runaway recursion by fuel before the stack overflows, and tight loops of every shape', async () => {
    const programs = [
      MODULES.spin,
      '(module (memory (export "memory") 1) (func $r (call $r)) (func (export "_start") (call $r)))',
      '(module (memory (export "memory") 1) (func $f (param i32) (if (local.get 0) (then (call $f (i32.const 1))))) (func (export "_start") (call $f (i32.const 1))))',
      '(module (memory (export "memory") 1) (func (export "_start") (block $out (loop $l (br_table $l $out (i32.const 0))))))',
      '(module (memory (export "memory") 1) (func $t (param i32) (return_call $t (i32.add (local.get 0) (i32.const 1)))) (func (export "_start") (call $t (i32.const 0))))',
      '(module (memory (export "memory") 1) (type $v (func)) (table 1 funcref) (elem (i32.const 0) $i) (func $i (call_indirect (type $v) (i32.const 0))) (func (export "_start") (call $i)))',
    ];
    for (const src of programs) {
      const hash = await add(await wat(src, { tail_call: true }));
      const r = await metered.run(makeTask(hash, { limits: limits(16, 5_000) }));
      expect(r, src).toMatchObject({ status: 'failed', fuelUsed: 5_000, error: { code: FUEL_EXHAUSTED } });
    }
  });

  it('refuses, when it is added, a module the sandbox could run but not meter (in both pools: inspectModule refuses it)', async () => {
    const src = '(module (tag $e) (memory (export "memory") 1) (func (export "_start") (throw $e)))';
    const wasm = await wat(src, { exceptions: true });
    await expect(metered.addModule(hashOf(wasm), wasm)).rejects.toThrow(InvalidModuleError);
    await expect(metered.addModule(hashOf(wasm), wasm)).rejects.toThrow(/exception/);
    // inspectModule refuses it too (every node meters): the gateway refuses it at submission.
    await expect(plain.addModule(hashOf(wasm), wasm)).rejects.toThrow(/exception/);
  });
});
