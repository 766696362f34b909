/**
 * Deterministic floats: every instruction that can produce a NaN yields the canonical NaN in the
 * sandbox (pool and inline), and bit-exact instructions keep a NaN's bits — checked against
 * expectations written from the IEEE encodings (test/nan.ts), not against another run.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { instrument, instrumentModule } from '../src/metering/instrument.js';
import { pagesForMiB, prepareModule } from '../src/module.js';
import { createNodeSandbox } from '../src/node/pool.js';
import { runTask } from '../src/run.js';
import { hashOf, makeTask, wat } from './helpers.js';
import { expectedNanOutput, NAN_CASES, nanModuleWat, readNanOutput } from './nan.js';

const sandbox = createNodeSandbox({ workers: 1 });
afterAll(() => sandbox.close());

const inline = (bytes: Uint8Array) => {
  const module = new WebAssembly.Module(prepareModule(bytes, pagesForMiB(16)) as BufferSource);
  return runTask(module, makeTask(hashOf(bytes)));
};

describe('NaN canonicalization', () => {
  it('gives the canonical NaN from every float instruction that makes one, and keeps bit-exact ones exact, in the pool and inline', async () => {
    const wasm = await wat(nanModuleWat());
    await sandbox.addModule(hashOf(wasm), wasm);
    const pooled = await sandbox.run(makeTask(hashOf(wasm)));
    expect(pooled.status, pooled.error?.message).toBe('ok');
    expect(readNanOutput(pooled.stdout)).toEqual(expectedNanOutput());
    const here = inline(instrumentModule(wasm));
    expect(here.stdout).toEqual(pooled.stdout);
    expect(here.fuelUsed).toBe(pooled.fuelUsed);
  });

  it('is what makes the difference: without it this CPU gives other NaN bits', async () => {
    // x86 gives 0xffc00000 for 0/0 and both x86 and ARM propagate payloads: some case differs.
    const raw = readNanOutput(inline(instrument(await wat(nanModuleWat()), { nan: false })).stdout);
    const expected = expectedNanOutput();
    const differing = Object.keys(expected).filter((label) => JSON.stringify(raw[label]) !== JSON.stringify(expected[label]));
    expect(differing.length).toBeGreaterThan(0);
    // Only cases that produce NaNs can differ; bit-exact ones are the same either way.
    const exact = new Set(NAN_CASES.filter((c) => c.exact).map((c) => c.label));
    expect(exact.size).toBeGreaterThan(0);
    for (const label of differing) expect(exact.has(label), label).toBe(false);
  });

  it('charges no fuel for canonicalizing: fuel is the same with and without it', async () => {
    const wasm = await wat(nanModuleWat());
    const withIt = inline(instrument(wasm, {}));
    const without = inline(instrument(wasm, { nan: false }));
    expect(withIt.fuelUsed).toBeGreaterThan(0);
    expect(withIt.fuelUsed).toBe(without.fuelUsed);
  });

  it('leaves results that are not NaN unchanged, bit for bit', async () => {
    // Every float operation on a spread of ordinary values (signed zeros, subnormals, infinities,
    // rounding ties): the instrumented module's output equals the original's.
    const values = ['0', '-0', '1', '-1.5', '2.5', '0x1p-149', '-0x1p-140', '3.4e38', 'inf', '-inf', '1e30', '0.1'];
    const ops32 = ['add', 'sub', 'mul', 'div', 'min', 'max'];
    const un32 = ['sqrt', 'ceil', 'floor', 'trunc', 'nearest'];
    let at = 1024;
    const stores: string[] = [];
    const sizes: number[] = [];
    for (const [t, size] of [['f32', 4], ['f64', 8]] as const) {
      for (const a of values) {
        for (const op of un32) stores.push(`(${t}.store (i32.const ${(at += size) - size}) (${t}.${op} (${t}.const ${a})))`);
        for (const b of values) for (const op of ops32) stores.push(`(${t}.store (i32.const ${(at += size) - size}) (${t}.${op} (${t}.const ${a}) (${t}.const ${b})))`);
        sizes.push(...new Array<number>(un32.length + values.length * ops32.length).fill(size));
      }
    }
    stores.push(`(f32.store (i32.const ${(at += 4) - 4}) (f32.demote_f64 (f64.const 0.1)))`, `(f64.store (i32.const ${(at += 8) - 8}) (f64.promote_f32 (f32.const 0.1)))`);
    sizes.push(4, 8);
    const src = `(module
      (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      (func $a ${stores.slice(0, stores.length >> 1).join(' ')})
      (func $b ${stores.slice(stores.length >> 1).join(' ')})
      (func (export "_start") (call $a) (call $b)
        (i32.store (i32.const 0) (i32.const 1024)) (i32.store (i32.const 4) (i32.const ${at - 1024}))
        (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))`;
    const wasm = await wat(src);
    const original = inline(wasm).stdout;
    const metered = inline(instrumentModule(wasm)).stdout;
    expect(original.length).toBe(at - 1024);
    // Slot by slot: a NaN (inf − inf, 0 × inf…) becomes canonical, every other result is kept.
    const f32 = new DataView(original.buffer, original.byteOffset);
    const m = new DataView(metered.buffer, metered.byteOffset);
    let nans = 0;
    let others = 0;
    for (let i = 0, k = 0; i < sizes.length; k += sizes[i]!, i++) {
      const isNaN = sizes[i] === 4 ? Number.isNaN(f32.getFloat32(k, true)) : Number.isNaN(f32.getFloat64(k, true));
      if (isNaN) {
        nans++;
        if (sizes[i] === 4) expect(m.getUint32(k, true)).toBe(0x7fc00000);
        else expect(m.getBigUint64(k, true)).toBe(0x7ff8000000000000n);
      } else {
        others++;
        expect(metered.subarray(k, k + sizes[i]!)).toEqual(original.subarray(k, k + sizes[i]!));
      }
    }
    expect(nans).toBeGreaterThan(0);
    expect(others).toBeGreaterThan(1000);
  });
});
