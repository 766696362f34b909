/**
 * Metering, property-tested: on random programs (valid, ending, with the control flow compilers
 * emit), the metered module is valid, behaves exactly like the original, and every way of
 * keeping the counter — and the per-instruction reference — charges the same fuel; a task
 * finishes with exactly its fuelUsed as limit and runs out with one unit less.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { InvalidModuleError } from '@lode/protocol';
import { hashOf, makeTask, wat } from '../../test/helpers.js';
import { randomProgram } from '../../test/randomProgram.js';
import { pagesForMiB, prepareModule } from '../module.js';
import { runTask } from '../run.js';
import type { SandboxResult } from '../types.js';
import { FUEL_EXHAUSTED } from './fuel.js';
import { instrument, instrumentModule, type Strategy } from './instrument.js';

const STRATEGIES: Strategy[] = [{}, { counter: 'global' }, { counter: 'local' }, { reference: true }];

function run(bytes: Uint8Array, fuel?: number): SandboxResult {
  const task = makeTask(hashOf(bytes), { limits: { memoryMiB: 1, wallMs: 5_000, maxOutputBytes: 1 << 16, fuel } });
  return runTask(new WebAssembly.Module(prepareModule(bytes, pagesForMiB(1)) as BufferSource), task);
}

const outcome = (r: SandboxResult) => ({ status: r.status, exitCode: r.exitCode, code: r.error?.code, stdout: r.stdout, resultHash: r.resultHash });

describe('metering random programs', () => {
  it('keeps them valid and unchanged in behaviour, and every strategy charges the same fuel', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 31 - 1 }), async (seed) => {
        const original = await wat(randomProgram(seed));
        const plain = run(original);
        const fuel: number[] = [];
        for (const strategy of STRATEGIES) {
          const metered = instrument(original, strategy);
          expect(WebAssembly.validate(metered as BufferSource)).toBe(true);
          const r = run(metered);
          expect(outcome(r)).toEqual(outcome(plain));
          expect(r.fuelUsed).toBeGreaterThan(0);
          fuel.push(r.fuelUsed!);
        }
        // Blocks are charged in full when entered; the reference charges each instruction as it
        // runs. They agree whenever the task ends by returning from _start.
        const [auto, global, local, reference] = fuel;
        expect(global).toBe(auto);
        expect(local).toBe(auto);
        if (plain.status === 'ok' && plain.exitCode === 0) expect(reference).toBe(auto);
        else expect(reference).toBeLessThanOrEqual(auto!);
      }),
      { numRuns: 100 },
    );
  });

  it('finishes with exactly the fuel it uses, and runs out with one unit less', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.double({ min: 0, max: 1, noNaN: true }), async (seed, fraction) => {
        const metered = instrumentModule(await wat(randomProgram(seed)));
        const full = run(metered);
        const used = full.fuelUsed!;
        expect(outcome(run(metered, used))).toEqual(outcome(full));
        const short = run(metered, used - 1);
        expect(short).toMatchObject({ status: 'failed', error: { code: FUEL_EXHAUSTED }, fuelUsed: used - 1 });
        // Any smaller limit runs out too, the same way every time.
        const limit = Math.floor((used - 1) * fraction);
        const a = run(metered, limit);
        expect(a).toMatchObject({ status: 'failed', error: { code: FUEL_EXHAUSTED }, fuelUsed: limit });
        expect(outcome(run(metered, limit))).toEqual(outcome(a));
      }),
      { numRuns: 100 },
    );
  });

  it('refuses bytes that are not valid WebAssembly with InvalidModuleError, and never emits an invalid module', async () => {
    const base = await wat(randomProgram(42));
    fc.assert(
      fc.property(
        fc.array(fc.record({ at: fc.nat({ max: base.length - 1 }), value: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 3 }),
        fc.nat({ max: base.length }),
        (flips, cut) => {
          const bytes = base.slice(0, Math.max(8, cut === 0 ? base.length : cut));
          for (const f of flips) if (f.at < bytes.length) bytes[f.at] = f.value;
          let metered: Uint8Array;
          try {
            metered = instrumentModule(bytes);
          } catch (e) {
            expect(e).toBeInstanceOf(InvalidModuleError);
            // Valid bytes are refused only for a feature metering does not support, named.
            if (WebAssembly.validate(bytes as BufferSource)) expect((e as Error).message).toMatch(/ uses /);
            return;
          }
          expect(WebAssembly.validate(metered as BufferSource)).toBe(true);
        },
      ),
      { numRuns: 1500 },
    );
  });
});
