/**
 * Malformed modules: whatever bytes arrive, inspecting and preparing a module either succeeds
 * with a valid result or fails with Lode's own error — never a crash or a stray exception.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { InvalidModuleError, SandboxError } from '@lode/protocol';
import { inspectModule, pagesForMiB, prepareModule } from './module.js';
import { MODULES, wat } from '../test/helpers.js';

function checkBytes(bytes: Uint8Array): void {
  let ok = false;
  try {
    inspectModule(bytes);
    ok = true;
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidModuleError);
  }
  if (!ok) return;
  try {
    const prepared = prepareModule(bytes, pagesForMiB(16));
    expect(WebAssembly.validate(prepared as BufferSource)).toBe(true);
  } catch (e) {
    expect(e).toBeInstanceOf(SandboxError);
  }
}

describe('malformed modules', () => {
  it('random bytes, with or without a wasm header, are refused with InvalidModuleError', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.uint8Array({ maxLength: 512 }), (header, body) => {
        const bytes = header ? new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, ...body]) : body;
        checkBytes(bytes);
      }),
      { numRuns: 500 },
    );
  });

  it('a valid module with bytes flipped, cut or appended is inspected and prepared safely', async () => {
    const base = await wat(MODULES.hello);
    fc.assert(
      fc.property(
        fc.array(fc.record({ at: fc.nat({ max: base.length - 1 }), value: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 4 }),
        fc.nat({ max: base.length }),
        fc.uint8Array({ maxLength: 16 }),
        (flips, cut, tail) => {
          const bytes = new Uint8Array([...base.subarray(0, Math.max(8, cut)), ...tail]);
          for (const f of flips) if (f.at < bytes.length) bytes[f.at] = f.value;
          checkBytes(bytes);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
