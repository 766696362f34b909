import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resultJson, safeJoin, writeResults } from './results.js';
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
      index: 3,
      status: 'done' as const,
      exitCode: 0,
      stdout: bytes('hi'),
      stderr: new Uint8Array(),
      deleted: [],
      resultHash: null,
      node: null,
      error: null,
      files: [
        { path: '/out/new.txt', data: bytes('new') },
        { path: '/data/same.txt', data: bytes('same') },
        { path: '/../escape.txt', data: bytes('x') },
      ],
    };
    const { written, skipped } = await writeResults(dir, [result], { perTask: true, unchanged: (p) => p === '/data/same.txt' });
    expect(written).toEqual([join(dir, '3', 'stdout'), join(dir, '3', 'out', 'new.txt')]);
    expect(skipped).toEqual([`/../escape.txt (outside ${dir})`]);
    expect(await readFile(join(dir, '3', 'out', 'new.txt'), 'utf8')).toBe('new');
    await rm(dir, { recursive: true });
  });

  const bytes = (s: string) => new TextEncoder().encode(s);
  const resultWith = (files: { path: string; data: Uint8Array; kind?: 'dir' | 'symlink' }[]) => ({
    index: 0,
    status: 'done' as const,
    exitCode: 0,
    stdout: new Uint8Array(),
    stderr: new Uint8Array(),
    deleted: [],
    resultHash: null,
    node: null,
    error: null,
    files,
  });

  it('makes empty directories and symlinks as they were in the sandbox', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lode-results-'));
    await writeResults(
      dir,
      [
        resultWith([
          { path: '/out/empty', data: new Uint8Array(), kind: 'dir' },
          { path: '/out/link', data: bytes('real.txt'), kind: 'symlink' },
          { path: '/out/real.txt', data: bytes('real') },
        ]),
      ],
      { perTask: false },
    );
    expect(await readdir(join(dir, 'out', 'empty'))).toEqual([]);
    expect(await readlink(join(dir, 'out', 'link'))).toBe('real.txt');
    expect(await readFile(join(dir, 'out', 'link'), 'utf8')).toBe('real');
    await rm(dir, { recursive: true });
  });

  it('never writes outside the directory: not through a symlink already there, nor a symlink that points out', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lode-results-'));
    const outside = await mkdtemp(join(tmpdir(), 'lode-outside-'));
    await mkdir(join(dir, 'out'));
    await symlink(outside, join(dir, 'out', 'escape')); // left by an earlier run, or planted
    const { skipped } = await writeResults(
      dir,
      [
        resultWith([
          { path: '/out/escape/owned.txt', data: bytes('x') },
          { path: '/out/abs', data: bytes('/etc'), kind: 'symlink' },
          { path: '/out/up', data: bytes('../../..'), kind: 'symlink' },
          { path: '/out/inside', data: bytes('../out'), kind: 'symlink' },
        ]),
      ],
      { perTask: false },
    );
    expect(await readdir(outside)).toEqual([]);
    expect(skipped.map((s) => s.split(' ')[0])).toEqual(['/out/escape/owned.txt', '/out/abs', '/out/up']);
    await expect(lstat(join(dir, 'out', 'abs'))).rejects.toThrow(/ENOENT/);
    expect(await readlink(join(dir, 'out', 'inside'))).toBe('../out');
    await rm(dir, { recursive: true });
    await rm(outside, { recursive: true });
  });
});

describe('results as JSON', () => {
  const result = (stdout: Uint8Array, stderr = new Uint8Array()) => ({
    index: 0,
    status: 'done' as const,
    exitCode: 0,
    stdout,
    stderr,
    files: [],
    deleted: [],
    resultHash: null,
    node: null,
    error: null,
  });

  it('gives UTF-8 output as text, byte for byte (a leading BOM included), with no encoding field', () => {
    const text = '\uFEFFnaïve π ≈ 3.14\n';
    const json = resultJson(result(new TextEncoder().encode(text), new TextEncoder().encode('warn\n')));
    expect(json.stdout).toBe(text);
    expect(json.stderr).toBe('warn\n');
    expect(json).not.toHaveProperty('stdoutEncoding');
    expect(json).not.toHaveProperty('stderrEncoding');
  });

  it('gives output that is not UTF-8 as base64 with stdoutEncoding / stderrEncoding "base64", losing no byte', () => {
    const binary = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x00, 0xff, 0xfe, 0x80]);
    const json = resultJson(result(binary, new Uint8Array([0xc3]))); // a truncated 2-byte sequence
    expect(json).toMatchObject({ stdoutEncoding: 'base64', stderrEncoding: 'base64' });
    expect(new Uint8Array(Buffer.from(json.stdout, 'base64'))).toEqual(binary);
    expect(new Uint8Array(Buffer.from(json.stderr, 'base64'))).toEqual(new Uint8Array([0xc3]));
  });
});

describe('tables', () => {
  it('aligns columns and says when there is nothing', () => {
    const rows = [
      { id: 'a', n: 1 },
      { id: 'bbb', n: 22 },
    ];
    expect(
      table(rows, [
        { header: 'id', value: (r) => r.id },
        { header: 'n', value: (r) => r.n, align: 'right' },
      ]),
    ).toBe('ID    N\na     1\nbbb  22');
    expect(table([], [], 'No jobs.')).toBe('No jobs.');
  });
});
