import { createHash } from 'node:crypto';
import { resultDigest } from '@lode/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { digestResult } from './digest.js';

const nodeSha = (d: Uint8Array | string) => createHash('sha256').update(d).digest('hex');

describe('digestResult', () => {
  it('equals the protocol resultDigest, with the portable hash and with node:crypto', () => {
    const path = fc.stringMatching(/^\/out\/[a-z0-9.]{1,8}$/);
    fc.assert(
      fc.property(
        fc.option(fc.integer({ min: 0, max: 255 })),
        fc.uint8Array({ maxLength: 32 }),
        fc.uint8Array({ maxLength: 32 }),
        fc.uniqueArray(fc.record({ path, data: fc.uint8Array({ maxLength: 16 }) }), { selector: (f) => f.path, maxLength: 4 }),
        fc.array(path, { maxLength: 3 }),
        (exitCode, stdout, stderr, files, deleted) => {
          const r = { exitCode, stdout, stderr, files, deleted };
          const expected = resultDigest(r);
          expect(digestResult(r)).toBe(expected);
          expect(digestResult(r, nodeSha)).toBe(expected);
        },
      ),
    );
  });
});
