import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { safeJoin, writeResults } from './results.js';
import { table } from './output.js';

describe('writing results', () => {
  it('keeps guest paths inside the output directory', () => {
    expect(safeJoin('/tmp/out', '/data/a.txt')).toBe('/tmp/out/data/a.txt');
    expect(safeJoin('/tmp/out', '/../../etc/passwd')).toBeUndefined();
    expect(safeJoin('/tmp/out', '/data/../../x')).toBeUndefined();
    expect(safeJoin('/tmp/out', '/')).toBeUndefined();
  });

  it('writes per-task stdout and changed files, skipping unsafe and unchanged ones', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lode-results-'));
    const bytes = (s: string) => new TextEncoder().encode(s);
    const result = {
      index: 3, status: 'done' as const, exitCode: 0, stdout: bytes('hi'), stderr: new Uint8Array(), deleted: [], resultHash: null, node: null, error: null,
      files: [
        { path: '/out/new.txt', data: bytes('new') },
        { path: '/data/same.txt', data: bytes('same') },
        { path: '/../escape.txt', data: bytes('x') },
      ],
    };
    const { written, skipped } = await writeResults(dir, [result], { perTask: true, unchanged: (p) => p === '/data/same.txt' });
    expect(written).toEqual([join(dir, '3', 'stdout'), join(dir, '3', 'out', 'new.txt')]);
    expect(skipped).toEqual(['/../escape.txt']);
    expect(await readFile(join(dir, '3', 'out', 'new.txt'), 'utf8')).toBe('new');
    await rm(dir, { recursive: true });
  });
});

describe('tables', () => {
  it('aligns columns and says when there is nothing', () => {
    const rows = [{ id: 'a', n: 1 }, { id: 'bbb', n: 22 }];
    expect(table(rows, [{ header: 'id', value: (r) => r.id }, { header: 'n', value: (r) => r.n, align: 'right' }])).toBe('ID    N\na     1\nbbb  22');
    expect(table([], [], 'No jobs.')).toBe('No jobs.');
  });
});
