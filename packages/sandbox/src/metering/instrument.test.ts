import { InvalidModuleError, InvalidRequestError, LIMITS } from '@lode/protocol';
import { describe, expect, it } from 'vitest';
import { hashOf, makeTask, MODULES, program, text, wat, type WatFeatures } from '../../test/helpers.js';
import { pagesForMiB, prepareModule } from '../module.js';
import { runTask } from '../run.js';
import type { SandboxResult, SandboxTask } from '../types.js';
import { FUEL_COSTS } from './costs.js';
import { FUEL_EXHAUSTED, FUEL_EXPORT, START_EXPORT } from './fuel.js';
import { instrument, instrumentModule, type Strategy } from './instrument.js';

/** Runs a module's bytes as the pool does (prepared), inline: only for programs that end. */
function runBytes(bytes: Uint8Array, overrides: Partial<SandboxTask> = {}): SandboxResult {
  const task = makeTask(hashOf(bytes), overrides);
  const module = new WebAssembly.Module(prepareModule(bytes, pagesForMiB(task.limits.memoryMiB)) as BufferSource);
  return runTask(module, task);
}

/** Runs a WAT program metered (with `strategy`) and unmetered. */
async function both(source: string, overrides: Partial<SandboxTask> = {}, strategy: Strategy = {}, features?: WatFeatures) {
  const original = await wat(source, features);
  const metered = instrument(original, strategy);
  expect(WebAssembly.validate(metered as BufferSource)).toBe(true);
  return { plain: runBytes(original, overrides), metered: runBytes(metered, overrides) };
}

const limits = (fuel: number | bigint) => ({ limits: { memoryMiB: 16, wallMs: 5_000, maxOutputBytes: 1 << 20, fuel } });

describe('instrumentModule', () => {
  it('adds an exported i64 fuel counter and leaves behaviour unchanged', async () => {
    const { plain, metered } = await both(MODULES.hello);
    expect(text(metered.stdout)).toBe('hello, world\n');
    expect(metered.resultHash).toBe(plain.resultHash);
    expect(plain.fuelUsed).toBeUndefined();
    expect(metered.fuelUsed).toBeGreaterThan(0);
    const exports = WebAssembly.Module.exports(new WebAssembly.Module(instrumentModule(await wat(MODULES.hello)) as BufferSource));
    expect(exports).toContainEqual({ name: FUEL_EXPORT, kind: 'global' });
  });

  it('charges straight-line code exactly its cost table', async () => {
    // i32.const, i32.const, i32.add, drop: 4 instructions; end is free.
    const { metered } = await both('(module (memory (export "memory") 1) (func (export "_start") (drop (i32.add (i32.const 1) (i32.const 2)))))');
    expect(metered.fuelUsed).toBe(4 * FUEL_COSTS.instruction);
  });

  it('charges a host call its own cost', async () => {
    const a = await both(program('(drop (i32.const 0))'));
    const b = await both(program('(drop (i32.const 0)) (call $write (i32.const 1) (i32.const 0) (i32.const 0))'));
    // The call of $write (3 consts + call), and $write's body: its stores and the host call.
    expect(b.metered.fuelUsed! - a.metered.fuelUsed!).toBeGreaterThan(FUEL_COSTS.hostCall);
  });

  it('charges a loop the same for every iteration', async () => {
    const loop = (n: number) => `(module (memory (export "memory") 1) (func (export "_start") (local $i i32)
      (local.set $i (i32.const ${n}))
      (block $done (loop $next
        (br_if $done (i32.eqz (local.get $i)))
        (local.set $i (i32.sub (local.get $i) (i32.const 1)))
        (br $next)))))`;
    const fuel = await Promise.all([0, 1, 2, 10].map(async (n) => (await both(loop(n))).metered.fuelUsed!));
    const step = fuel[1]! - fuel[0]!;
    expect(step).toBeGreaterThan(0);
    expect(fuel[2]! - fuel[1]!).toBe(step);
    expect(fuel[3]! - fuel[0]!).toBe(10 * step);
  });

  it('charges bulk memory by the bytes it touches and memory.grow by the page', async () => {
    const fill = (n: number) => `(module (memory (export "memory") 2) (func (export "_start") (memory.fill (i32.const 0) (i32.const 7) (i32.const ${n}))))`;
    const grow = (n: number) => `(module (memory (export "memory") 1) (func (export "_start") (drop (memory.grow (i32.const ${n})))))`;
    const f0 = (await both(fill(0))).metered.fuelUsed!;
    expect((await both(fill(64_000))).metered.fuelUsed! - f0).toBe(64_000 / FUEL_COSTS.bulkBytesPerFuel);
    const g0 = (await both(grow(0))).metered.fuelUsed!;
    expect((await both(grow(3))).metered.fuelUsed! - g0).toBe(3 * FUEL_COSTS.memoryGrowPerPage);
  });

  it('runs a start function after the counter is set, as lode_start, and charges it', async () => {
    const src = `(module
      ${'(import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))'}
      (memory (export "memory") 1)
      (global $v (mut i32) (i32.const 48))
      (func $init (global.set $v (i32.add (global.get $v) (i32.const 5))))
      (start $init)
      (func (export "_start")
        (i32.store8 (i32.const 100) (global.get $v))
        (i32.store (i32.const 0) (i32.const 100)) (i32.store (i32.const 4) (i32.const 1))
        (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))`;
    const { plain, metered } = await both(src);
    expect(text(plain.stdout)).toBe('5');
    expect(text(metered.stdout)).toBe('5');
    const exports = WebAssembly.Module.exports(new WebAssembly.Module(instrumentModule(await wat(src)) as BufferSource));
    expect(exports).toContainEqual({ name: START_EXPORT, kind: 'function' });
    // A limit smaller than what the start function needs stops it there.
    const starved = runBytes(instrumentModule(await wat(src)), limits(2));
    expect(starved.error?.code).toBe(FUEL_EXHAUSTED);
  });

  it('stops a task that needs more than its limit, and lets it finish with exactly what it needs', async () => {
    const { metered } = await both(MODULES.echo, { stdin: new Uint8Array(20_000) });
    const used = metered.fuelUsed!;
    const bytes = instrumentModule(await wat(MODULES.echo));
    const exact = runBytes(bytes, { stdin: new Uint8Array(20_000), ...limits(used) });
    expect(exact).toMatchObject({ status: 'ok', fuelUsed: used });
    const short = runBytes(bytes, { stdin: new Uint8Array(20_000), ...limits(BigInt(used - 1)) });
    expect(short).toMatchObject({ status: 'failed', exitCode: null, fuelUsed: used - 1, error: { code: FUEL_EXHAUSTED } });
    expect(short.error!.message).toBe(`The task used all of its ${used - 1} fuel and was stopped. Raise limits.fuel, or look for a loop that never ends.`);
  });

  it('gives the same fuel whether functions keep the counter in the global, in a local, or both', async () => {
    const counts = new Set<number>();
    for (const counter of ['auto', 'global', 'local'] as const) {
      for (const reference of [false, true]) {
        const { plain, metered } = await both(MODULES.echo, { stdin: new Uint8Array(9_000) }, { counter, reference });
        expect(metered.resultHash).toBe(plain.resultHash);
        counts.add(metered.fuelUsed!);
      }
    }
    expect(counts.size).toBe(1);
  });

  it('keeps the index of the counter right when the module imports globals and defines its own', async () => {
    const src = `(module
      (import "env" "g" (global $g i32))
      (global $mine (mut i32) (i32.const 1))
      (func (export "run") (result i32) (local $i i32)
        (loop $l (global.set $mine (i32.add (global.get $mine) (global.get $g)))
          (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 100))))
        (global.get $mine))
      (export "mine" (global $mine)))`;
    const metered = instrumentModule(await wat(src));
    const instance = new WebAssembly.Instance(new WebAssembly.Module(metered as BufferSource), { env: { g: 2 } });
    const fuel = instance.exports[FUEL_EXPORT] as WebAssembly.Global;
    fuel.value = 1_000_000n;
    expect((instance.exports.run as () => number)()).toBe(201);
    expect((instance.exports.mine as WebAssembly.Global).value).toBe(201);
    expect(1_000_000n - (fuel.value as bigint)).toBeGreaterThan(100n * 8n);
  });

  it('meters multi-value blocks, br_table, select, tail calls, reference types, bulk memory and SIMD', async () => {
    const src = `(module
      (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
      (memory (export "memory") 1)
      (table 2 funcref)
      (elem (i32.const 0) $sq $dbl)
      (type $un (func (param i32) (result i32)))
      (func $sq (param i32) (result i32) (i32.mul (local.get 0) (local.get 0)))
      (func $dbl (param i32) (result i32) (i32.add (local.get 0) (local.get 0)))
      (func $tail (param i32) (result i32) (return_call $sq (local.get 0)))
      (func $pair (param i32) (result i32 i32) (local.get 0) (i32.const 3))
      (func (export "_start") (local $acc i32)
        (block $b2 (block $b1 (block $b0
          (br_table $b0 $b1 $b2 (i32.const 1)))
          (local.set $acc (i32.const 100)))
          (local.set $acc (i32.add (local.get $acc) (i32.const 7))))
        (call $pair (local.get $acc))
        (block (param i32 i32) (result i32) (i32.add))
        (local.set $acc)
        (local.set $acc (select (result i32) (local.get $acc) (i32.const 0) (ref.is_null (ref.null func))))
        (local.set $acc (i32.add (local.get $acc) (call_indirect (type $un) (i32.const 2) (i32.const 1))))
        (local.set $acc (i32.add (local.get $acc) (call $tail (i32.const 3))))
        (memory.fill (i32.const 0) (i32.const 1) (i32.const 16))
        (memory.copy (i32.const 32) (i32.const 0) (i32.const 16))
        (v128.store (i32.const 64) (i32x4.add (v128.load (i32.const 32)) (v128.const i32x4 1 1 1 1)))
        (local.set $acc (i32.add (local.get $acc) (i32.load8_u (i32.const 64))))
        (local.set $acc (i32.add (local.get $acc) (i32.extend8_s (i32.const 0x7f))))
        (local.set $acc (i32.add (local.get $acc) (i32.trunc_sat_f64_s (f64.const 1e20))))
        (call $exit (i32.and (local.get $acc) (i32.const 0xff)))))`;
    const { plain, metered } = await both(src, {}, {}, { tail_call: true });
    expect(plain.status).toBe('ok');
    expect(metered.exitCode).toBe(plain.exitCode);
    const { metered: reference } = await both(src, {}, { reference: true }, { tail_call: true });
    expect(metered.fuelUsed).toBe(reference.fuelUsed);
  });

  it('refuses what it cannot meter with InvalidModuleError, naming the feature', async () => {
    const refused = async (src: string, features: WatFeatures, why: RegExp) => {
      const bytes = await wat(src, features);
      expect(() => instrumentModule(bytes)).toThrow(InvalidModuleError);
      expect(() => instrumentModule(bytes)).toThrow(why);
    };
    await refused('(module (tag $e) (func (export "_start") (throw $e)))', { exceptions: true }, /exception/);
    await refused('(module (memory 1 1 shared) (func (export "_start") (drop (i32.atomic.load (i32.const 0)))))', { threads: true }, /atomics/);
    await refused(`(module (global (export "${FUEL_EXPORT}") i64 (i64.const 9)) (func (export "_start")))`, {}, /reserves/);
    expect(() => instrumentModule(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1]))).toThrow(InvalidModuleError);
    expect(() => instrumentModule(new TextEncoder().encode('(module)'))).toThrow(/not valid WebAssembly/);
    // Metering the output again would need the reserved names: refused, not metered twice.
    const once = instrumentModule(await wat(MODULES.hello));
    expect(() => instrumentModule(once)).toThrow(/reserves/);
  });

  it('stops a memory.grow that the task cap refuses with SANDBOX_MEMORY_LIMIT at once, and leaves the module its own maximum', async () => {
    // Asking for 4 GiB in one grow: refused by the cap (and its headroom), not by the module.
    const huge = await both('(module (memory (export "memory") 1) (func (export "_start") (drop (memory.grow (i32.const 65535)))))', limits(1e12));
    expect(huge.plain.status).toBe('ok'); // unmetered, the module just sees -1
    expect(huge.metered).toMatchObject({ status: 'failed', error: { code: 'SANDBOX_MEMORY_LIMIT' } });
    expect(huge.metered.error!.message).toMatch(/grow its memory past its cap of 256 pages.*memory\.grow was refused/);
    expect(huge.metered.fuelUsed).toBeGreaterThan(65535 * FUEL_COSTS.memoryGrowPerPage);
    // A loop of small grows stops at the first refusal, long before its fuel is spent.
    // (Metered only: unmetered, it would never end.)
    const loop = runBytes(
      instrumentModule(await wat('(module (memory (export "memory") 1) (func (export "_start") (loop (drop (memory.grow (i32.const 1))) (br 0))))')),
      limits(1e12),
    );
    expect(loop).toMatchObject({ status: 'failed', error: { code: 'SANDBOX_MEMORY_LIMIT' } });
    expect(loop.fuelUsed).toBeLessThan(1e9);
    // Over the module's own maximum: the module gets -1 and decides (here: exit 7).
    const own = await both(`(module ${'(import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))'} (memory (export "memory") 1 3)
      (func (export "_start") (if (i32.eq (memory.grow (i32.const 5)) (i32.const -1)) (then (call $exit (i32.const 7))))))`);
    expect(own.metered).toMatchObject({ status: 'ok', exitCode: 7 });
  });

  it('lets tables grow up to LIMITS.module.maxTableElements in all, and stops a grow past it with SANDBOX_MEMORY_LIMIT', async () => {
    const grow = (a: number, b: number) => `(module (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
      (table $t 10 funcref) (table $u 0 externref) (memory (export "memory") 1)
      (func (export "_start")
        (drop (table.grow $t (ref.null func) (i32.const ${a})))
        (call $exit (i32.eq (table.grow $u (ref.null extern) (i32.const ${b})) (i32.const 0)))))`;
    const cap = LIMITS.module.maxTableElements;
    const fits = await both(grow(1000, cap - 1010), limits(1e9), {}, { reference_types: true });
    expect(fits.metered).toMatchObject({ status: 'ok', exitCode: 1 });
    expect(fits.metered.exitCode).toBe(fits.plain.exitCode);
    const over = await both(grow(1000, cap - 1009), limits(1e9), {}, { reference_types: true });
    expect(over.metered).toMatchObject({ status: 'failed', error: { code: 'SANDBOX_MEMORY_LIMIT' } });
    expect(over.metered.error!.message).toMatch(/tables past 1000000 elements in all.*LIMITS\.module\.maxTableElements/);
    // Charged like any table.grow, and the same every run.
    const again = await both(grow(1000, cap - 1009), limits(1e9), {}, { reference_types: true });
    expect(again.metered.fuelUsed).toBe(over.metered.fuelUsed);
    // Every counter strategy stops at the same point.
    for (const counter of ['global', 'local'] as const) {
      const { metered } = await both(grow(1000, cap - 1009), limits(1e9), { counter }, { reference_types: true });
      expect(metered.fuelUsed).toBe(over.metered.fuelUsed);
    }
  });

  it('is deterministic: the same bytes give the same output', async () => {
    const bytes = await wat(MODULES.echo);
    expect(instrumentModule(bytes)).toEqual(instrumentModule(bytes));
  });
});

describe('limits.fuel', () => {
  it('is checked: an integer from 0 to 2^53 − 1 (number or bigint)', async () => {
    const module = new WebAssembly.Module(prepareModule(instrumentModule(await wat(MODULES.hello)), 256) as BufferSource);
    for (const fuel of [-1, 1.5, 2 ** 53, -1n, 2n ** 53n, Number.NaN]) {
      expect(() => runTask(module, makeTask('0'.repeat(64), limits(fuel)))).toThrow(InvalidRequestError);
    }
    expect(runTask(module, makeTask('0'.repeat(64), limits(0))).error?.code).toBe(FUEL_EXHAUSTED);
    expect(runTask(module, makeTask('0'.repeat(64), limits(2n ** 53n - 1n))).status).toBe('ok');
  });
});
