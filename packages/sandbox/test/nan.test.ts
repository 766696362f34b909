/**
 * Deterministic floats: every instruction that can produce a NaN yields the canonical NaN in the
 * sandbox (pool and inline), and bit-exact instructions keep a NaN's bits — checked against
 * expectations written from the IEEE encodings (test/nan.ts), not against another run.
 */
import fc from 'fast-check';
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

  it('leaves out only canonicalizations nobody could see: random float programs give the bits of canonicalizing everywhere', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 31 - 1 }), async (seed) => {
        const wasm = await wat(floatProgram(seed));
        const everywhere = inline(instrument(wasm, { nanEverywhere: true }));
        const elided = inline(instrument(wasm, {}));
        expect(everywhere.status, everywhere.error?.message).toBe('ok');
        expect(elided.stdout).toEqual(everywhere.stdout);
        expect(elided.fuelUsed).toBe(everywhere.fuelUsed);
      }),
      { numRuns: 150 },
    );
    // And the elision does happen: mandelbrot-like code keeps fewer canonicalizations.
    const wasm = await wat(floatProgram(7));
    expect(instrument(wasm, {}).length).toBeLessThan(instrument(wasm, { nanEverywhere: true }).length);
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
    for (const [t, size] of [
      ['f32', 4],
      ['f64', 8],
    ] as const) {
      for (const a of values) {
        for (const op of un32) stores.push(`(${t}.store (i32.const ${(at += size) - size}) (${t}.${op} (${t}.const ${a})))`);
        for (const b of values)
          for (const op of ops32) stores.push(`(${t}.store (i32.const ${(at += size) - size}) (${t}.${op} (${t}.const ${a}) (${t}.const ${b})))`);
        sizes.push(...new Array<number>(un32.length + values.length * ops32.length).fill(size));
      }
    }
    stores.push(
      `(f32.store (i32.const ${(at += 4) - 4}) (f32.demote_f64 (f64.const 0.1)))`,
      `(f64.store (i32.const ${(at += 8) - 8}) (f64.promote_f32 (f32.const 0.1)))`,
    );
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
      const nan = sizes[i] === 4 ? Number.isNaN(f32.getFloat32(k, true)) : Number.isNaN(f32.getFloat64(k, true));
      if (nan) {
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

/**
 * A random program of float expressions over NaNs (with payloads and signs), zeros and
 * infinities: every way a value can be consumed — by arithmetic, comparisons, truncations,
 * bit-exact operations, select, locals, conversions, drop — with each statement's result stored.
 */
function floatProgram(seed: number): string {
  let state = seed >>> 0;
  const rnd = (n: number) => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return (state >>> 8) % n;
  };
  const pick = <T>(xs: readonly T[]): T => xs[rnd(xs.length)]!;
  const F32 = ['0', '-0', '1', '-1', 'inf', '-inf', 'nan', '-nan', 'nan:0x1', '-nan:0x200001', 'nan:0x400123'];
  const F64 = ['0', '-0', '2.5', '-1', 'inf', '-inf', 'nan', '-nan', 'nan:0x1', '-nan:0x8000000000001', 'nan:0xc000000001234'];
  const expr = (t: 'f32' | 'f64', depth: number): string => {
    if (depth <= 0 || rnd(5) === 0) {
      // Loaded, so that no compiler folds it: memory 16.. holds the same constants' bits.
      return rnd(3) === 0
        ? `(local.get $${t})`
        : `(${t}.load (i32.const ${(t === 'f32' ? 16 : 128) + (t === 'f32' ? 4 : 8) * rnd((t === 'f32' ? F32 : F64).length)}))`;
    }
    const o = t === 'f32' ? 'f64' : 'f32';
    switch (rnd(9)) {
      case 0:
      case 1:
        return `(${t}.${pick(['add', 'sub', 'mul', 'div', 'min', 'max'])} ${expr(t, depth - 1)} ${expr(t, depth - 1)})`;
      case 2:
        return `(${t}.${pick(['sqrt', 'ceil', 'floor', 'trunc', 'nearest'])} ${expr(t, depth - 1)})`;
      case 3:
        return `(${t}.${pick(['neg', 'abs'])} ${expr(t, depth - 1)})`;
      case 4:
        return `(${t}.copysign ${expr(t, depth - 1)} ${expr(t, depth - 1)})`;
      case 5:
        return t === 'f32' ? `(f32.demote_f64 ${expr(o, depth - 1)})` : `(f64.promote_f32 ${expr(o, depth - 1)})`;
      case 6:
        return `(select ${expr(t, depth - 1)} ${expr(t, depth - 1)} (${t}.${pick(['lt', 'eq', 'ne', 'ge'])} ${expr(t, depth - 1)} ${expr(t, depth - 1)}))`;
      case 7:
        return `(local.tee $${t} ${expr(t, depth - 1)})`;
      default:
        return t === 'f32'
          ? `(f32.reinterpret_i32 (i32.reinterpret_f32 ${expr(t, depth - 1)}))`
          : `(f64.reinterpret_i64 (i64.reinterpret_f64 ${expr(t, depth - 1)}))`;
    }
  };
  const le = (hex: string) =>
    hex
      .match(/../g)!
      .reverse()
      .map((b) => `\\${b}`)
      .join('');
  const bits32 = F32.map((v) => new DataView(new Uint8Array(wabtF32(v)).buffer).getUint32(0, false).toString(16).padStart(8, '0'));
  const bits64 = F64.map((v) => wabtF64(v));
  const statements: string[] = [];
  let at = 1024;
  for (let i = 0; i < 24; i++) {
    const t = pick(['f32', 'f64'] as const);
    switch (rnd(5)) {
      case 0:
        statements.push(`(i32.store (i32.const ${at}) (${t}.${pick(['lt', 'gt', 'eq', 'ne'])} ${expr(t, 4)} ${expr(t, 4)}))`);
        at += 4;
        break;
      case 1:
        statements.push(`(i32.store (i32.const ${at}) (i32.trunc_sat_${t}_s ${expr(t, 4)}))`);
        at += 4;
        break;
      case 2:
        statements.push(`(drop ${expr(t, 4)})`);
        break;
      default:
        statements.push(`(${t}.store (i32.const ${at}) ${expr(t, 5)})`);
        at += t === 'f32' ? 4 : 8;
    }
  }
  return `(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "${bits32.map(le).join('')}")
  (data (i32.const 128) "${bits64.map(le).join('')}")
  (func (export "_start") (local $f32 f32) (local $f64 f64)
    (local.set $f32 (f32.load (i32.const 36)))
    (local.set $f64 (f64.load (i32.const 176)))
    ${statements.join('\n    ')}
    (i32.store (i32.const 0) (i32.const 1024)) (i32.store (i32.const 4) (i32.const ${at - 1024}))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))`;
}

/** Big-endian bytes of an f32 written as WAT (numbers, inf, nan, nan:0x…). */
function wabtF32(v: string): number[] {
  const neg = v.startsWith('-');
  const a = neg ? v.slice(1) : v;
  let bits: number;
  if (a === 'inf') bits = 0x7f800000;
  else if (a === 'nan') bits = 0x7fc00000;
  else if (a.startsWith('nan:')) bits = 0x7f800000 | Number(a.slice(4));
  else {
    const dv = new DataView(new ArrayBuffer(4));
    dv.setFloat32(0, Number(a));
    bits = dv.getUint32(0);
  }
  if (neg) bits = (bits | 0x80000000) >>> 0;
  return [bits >>> 24, (bits >>> 16) & 0xff, (bits >>> 8) & 0xff, bits & 0xff];
}

/** An f64 written as WAT, as 16 hex digits. */
function wabtF64(v: string): string {
  const neg = v.startsWith('-');
  const a = neg ? v.slice(1) : v;
  let bits: bigint;
  if (a === 'inf') bits = 0x7ff0000000000000n;
  else if (a === 'nan') bits = 0x7ff8000000000000n;
  else if (a.startsWith('nan:')) bits = 0x7ff0000000000000n | BigInt(a.slice(4));
  else {
    const dv = new DataView(new ArrayBuffer(8));
    dv.setFloat64(0, Number(a));
    bits = dv.getBigUint64(0);
  }
  if (neg) bits |= 0x8000000000000000n;
  return bits.toString(16).padStart(16, '0');
}
