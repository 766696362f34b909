import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TaskInput, treeProblem } from './jobSpec.js';

/** The same rule, spelled out pairwise (quadratic): an independent reference. */
function naive(entries: { path: string; kind?: string }[]): boolean {
  for (let i = 0; i < entries.length; i++) {
    for (let j = 0; j < entries.length; j++) {
      const [a, b] = [entries[i]!, entries[j]!];
      if (i !== j && a.path === b.path) return false;
      if ((a.kind ?? 'file') !== 'dir' && b.path.startsWith(`${a.path}/`)) return false;
    }
  }
  return true;
}

const BLOB = 'a'.repeat(64);

describe("a task's input tree", () => {
  it('refuses exactly the entries that cannot form one tree (checked against a pairwise reference)', () => {
    const entry = fc.record(
      {
        path: fc.array(fc.constantFrom('a', 'b', 'c'), { minLength: 1, maxLength: 4 }).map((p) => `/in/${p.join('/')}`),
        kind: fc.constantFrom('dir', 'symlink'),
      },
      { requiredKeys: ['path'] },
    );
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 8 }), (entries) => {
        expect(treeProblem(entries) === undefined).toBe(naive(entries));
      }),
    );
  });

  it('takes files, directories and symlinks, and says what is wrong with a bad tree', () => {
    const ok = TaskInput.parse({
      files: [
        { path: '/in/a/b', blob: BLOB },
        { path: '/in/empty', kind: 'dir' },
        { path: '/in/link', kind: 'symlink', target: 'a/b' },
      ],
    });
    expect(ok.files).toHaveLength(3);
    const under = TaskInput.safeParse({
      files: [
        { path: '/in/link', kind: 'symlink', target: 'x' },
        { path: '/in/link/f', blob: BLOB },
      ],
    });
    expect(under.error?.issues[0]?.message).toBe('/in/link/f lies under /in/link, which is a symlink, not a directory');
    const twice = TaskInput.safeParse({
      files: [
        { path: '/in/a', kind: 'dir' },
        { path: '/in/a', blob: BLOB },
      ],
    });
    expect(twice.error?.issues[0]?.message).toMatch(/given twice/);
    expect(TaskInput.safeParse({ files: [{ path: '/in/l', kind: 'symlink', target: 'a\0b' }] }).success).toBe(false);
    expect(TaskInput.safeParse({ files: [{ path: '/in/l', kind: 'symlink', target: '' }] }).success).toBe(false);
  });

  it('takes a mount at the root, and no other odd mount path', () => {
    expect(TaskInput.parse({ mounts: [{ guest: '/', writable: true }] }).mounts).toEqual([{ guest: '/', writable: true }]);
    for (const guest of ['', '//', '/a/', 'a', '/a/../b']) expect(TaskInput.safeParse({ mounts: [{ guest, writable: true }] }).success, guest).toBe(false);
  });
});
