/**
 * The hostile corpus (test/hostile.ts) against the real worker pool: each module is refused by
 * `inspectModule` (InvalidModuleError naming the cap), refused when it is metered, or fails its
 * task with its SANDBOX_* code — and the pool keeps serving honest tasks, in the same process.
 * Runs the built workers: build first (npx tsc -b packages/sandbox).
 */
import { InvalidModuleError, LIMITS } from '@lode/protocol';
import { afterAll, describe, expect, it } from 'vitest';
import { instrumentModule } from '../src/metering/instrument.js';
import { inspectModule } from '../src/module.js';
import { createNodeSandbox } from '../src/node/pool.js';
import { hashOf, makeTask, MODULES, text, wat } from './helpers.js';
import { body, command, EMPTY, HOSTILE, repeat } from './hostile.js';

const sandbox = createNodeSandbox({ workers: 2 });
afterAll(() => sandbox.close());

describe('the hostile corpus', () => {
  for (const h of HOSTILE) {
    it(`${h.name}: ${'inspect' in h.expect ? 'refused by inspectModule' : 'instrument' in h.expect ? 'refused when metered' : `fails with ${h.expect.run}`}`, async () => {
      const bytes = h.bytes();
      const hash = hashOf(bytes);
      if ('inspect' in h.expect) {
        expect(() => inspectModule(bytes)).toThrow(InvalidModuleError);
        expect(() => inspectModule(bytes)).toThrow(h.expect.inspect);
        await expect(sandbox.addModule(hash, bytes)).rejects.toThrow(h.expect.inspect);
        expect(sandbox.hasModule(hash)).toBe(false);
      } else if ('instrument' in h.expect) {
        expect(() => inspectModule(bytes)).not.toThrow();
        expect(() => instrumentModule(bytes)).toThrow(InvalidModuleError);
        await expect(sandbox.addModule(hash, bytes)).rejects.toThrow(h.expect.instrument);
      } else {
        await sandbox.addModule(hash, bytes);
        const { memoryMiB = 16, fuel = 100_000_000 } = h.expect;
        const r = await sandbox.run(makeTask(hash, { limits: { memoryMiB, wallMs: 10_000, maxOutputBytes: 1024, fuel } }));
        expect({ status: r.status, code: r.error?.code }, r.error?.message).toEqual({ status: 'failed', code: h.expect.run });
        if (h.expect.message) expect(r.error!.message).toMatch(h.expect.message);
        // A deterministic failure: the same result on a second run.
        const again = await sandbox.run(makeTask(hash, { limits: { memoryMiB, wallMs: 10_000, maxOutputBytes: 1024, fuel } }));
        expect([again.resultHash, again.fuelUsed]).toEqual([r.resultHash, r.fuelUsed]);
      }
    });
  }

  it('leaves the pool serving honest tasks, and the process far from the gigabytes the corpus asks for', async () => {
    const hello = await wat(MODULES.hello);
    await sandbox.addModule(hashOf(hello), hello);
    const r = await sandbox.run(makeTask(hashOf(hello)));
    expect(text(r.stdout)).toBe('hello, world\n');
    expect(process.memoryUsage().rss).toBeLessThan(2 * 1024 ** 3);
  });
});

describe('the caps, at their edges', () => {
  // Built as binary: wabt's text parser recurses and crashes on 10,000 nested blocks.
  const tables = async (n: number, elements: number) => command({ tables: Array.from({ length: n }, () => ({ min: elements })), bodies: [EMPTY] });
  const nested = async (depth: number) => {
    const code = repeat([0x02, 0x40], depth);
    code.bytes(repeat([0x0b], depth).done());
    return command({ bodies: [body(code)] });
  };

  it('accepts a module exactly at a cap, refuses one past it', async () => {
    const [atTables, pastTables, atElements, pastElements, atDepth, pastDepth] = await Promise.all([
      tables(LIMITS.module.maxTables, 1),
      tables(LIMITS.module.maxTables + 1, 1),
      tables(1, LIMITS.module.maxTableElements),
      tables(2, LIMITS.module.maxTableElements / 2 + 1),
      nested(LIMITS.module.maxBlockDepth),
      nested(LIMITS.module.maxBlockDepth + 1),
    ]);
    expect(() => inspectModule(atTables)).not.toThrow();
    expect(() => inspectModule(pastTables)).toThrow(/maxTables/);
    expect(() => inspectModule(atElements)).not.toThrow();
    expect(() => inspectModule(pastElements)).toThrow(/1,000,002 table elements in all/);
    expect(() => inspectModule(atDepth)).not.toThrow();
    expect(() => inspectModule(pastDepth)).toThrow(/maxBlockDepth/);
  });

  it('refuses what would make results differ between devices: threads, shared memory, relaxed SIMD', async () => {
    const atomics = await wat('(module (memory (export "memory") 1 1 shared) (func (export "_start") (drop (i32.atomic.load (i32.const 0)))))', {
      threads: true,
    });
    expect(() => inspectModule(atomics)).toThrow(/atomics/);
    // relaxed SIMD: i32x4.relaxed_trunc_f32x4_s is 0xfd 0x101 — not known to this wabt, so written as bytes.
    const relaxed = new Uint8Array([
      0,
      0x61,
      0x73,
      0x6d,
      1,
      0,
      0,
      0,
      1,
      4,
      1,
      0x60,
      0,
      0,
      3,
      2,
      1,
      0,
      5,
      3,
      1,
      0,
      1,
      7,
      0x13,
      2,
      6,
      0x5f,
      0x73,
      0x74,
      0x61,
      0x72,
      0x74,
      0,
      0,
      6,
      0x6d,
      0x65,
      0x6d,
      0x6f,
      0x72,
      0x79,
      2,
      0,
      10,
      0x19,
      1,
      0x17,
      0,
      0xfd,
      0x0c,
      ...new Array<number>(16).fill(0),
      0xfd,
      0x81,
      0x02,
      0x1a,
      0x0b,
    ]);
    if (WebAssembly.validate(relaxed)) expect(() => inspectModule(relaxed)).toThrow(/relaxed SIMD/);
    else expect(() => inspectModule(relaxed)).toThrow(InvalidModuleError); // this engine does not even validate it
  });
});
