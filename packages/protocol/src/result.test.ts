import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { canonicalJson, sha256Hex } from './encoding.js';
import { resultDigest } from './result.js';

/** The digest as the protocol defines it, spelled out with canonicalJson: an independent reference. */
function reference(r: {
  exitCode: number | null;
  stdout: Uint8Array;
  stderr: Uint8Array;
  files: { path: string; data: Uint8Array; kind?: 'dir' | 'symlink' }[];
  deleted: string[];
}) {
  const files = r.files
    .map((f) => (f.kind ? [f.path, sha256Hex(f.data), f.kind] : [f.path, sha256Hex(f.data)]))
    .sort((a, b) => (a[0]! < b[0]! ? -1 : a[0]! > b[0]! ? 1 : 0));
  return sha256Hex(
    canonicalJson({ v: 1, exitCode: r.exitCode, stdout: sha256Hex(r.stdout), stderr: sha256Hex(r.stderr), files, deleted: [...r.deleted].sort() }),
  );
}

const nodeSha: (d: Uint8Array | string) => string = (d) => createHash('sha256').update(d).digest('hex');

describe('resultDigest', () => {
  it('matches the canonical-JSON definition, with the portable and the node:crypto sha256', () => {
    fc.assert(
      fc.property(
        fc.record({
          exitCode: fc.option(fc.integer({ min: -1, max: 255 }), { nil: null }),
          stdout: fc.uint8Array({ maxLength: 64 }),
          stderr: fc.uint8Array({ maxLength: 64 }),
          files: fc.uniqueArray(
            fc.record(
              {
                path: fc.stringMatching(/^\/out\/[a-z]{1,8}$/),
                data: fc.uint8Array({ maxLength: 32 }),
                kind: fc.constantFrom('dir' as const, 'symlink' as const),
              },
              { requiredKeys: ['path', 'data'] },
            ),
            {
              selector: (f) => f.path,
              maxLength: 4,
            },
          ),
          deleted: fc.array(fc.stringMatching(/^\/in\/[a-z]{1,8}$/), { maxLength: 3 }),
        }),
        (r) => {
          const want = reference(r);
          expect(resultDigest(r)).toBe(want);
          expect(resultDigest(r, nodeSha)).toBe(want);
        },
      ),
    );
  });

  it('changes when any part of the result changes', () => {
    const base = { exitCode: 0, stdout: new Uint8Array([1]), stderr: new Uint8Array(), files: [], deleted: [] };
    const d = resultDigest(base);
    expect(resultDigest({ ...base, exitCode: 1 })).not.toBe(d);
    expect(resultDigest({ ...base, stdout: new Uint8Array([2]) })).not.toBe(d);
    expect(resultDigest({ ...base, files: [{ path: '/out/a', data: new Uint8Array() }] })).not.toBe(d);
  });
});

describe('resultDigest of trees', () => {
  const base = { exitCode: 0, stdout: new Uint8Array(), stderr: new Uint8Array(), deleted: [] };
  const link = new TextEncoder().encode('target');

  it('digests a result of plain files exactly as before entries had kinds (v1 unchanged)', () => {
    const files = [{ path: '/out/a', data: link }];
    const v1 = sha256Hex(
      canonicalJson({
        v: 1,
        exitCode: 0,
        stdout: sha256Hex(new Uint8Array()),
        stderr: sha256Hex(new Uint8Array()),
        files: [['/out/a', sha256Hex(link)]],
        deleted: [],
      }),
    );
    expect(resultDigest({ ...base, files })).toBe(v1);
  });

  it('tells a symlink, an empty directory and a file with the same bytes apart', () => {
    const digests = new Set([
      resultDigest({ ...base, files: [{ path: '/out/a', data: link }] }),
      resultDigest({ ...base, files: [{ path: '/out/a', data: link, kind: 'symlink' }] }),
      resultDigest({ ...base, files: [{ path: '/out/a', data: new Uint8Array(), kind: 'dir' }] }),
      resultDigest({ ...base, files: [{ path: '/out/a', data: new Uint8Array() }] }),
    ]);
    expect(digests.size).toBe(4);
  });
});
