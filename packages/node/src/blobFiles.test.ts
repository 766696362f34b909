import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sha256Hex, utf8 } from '@lode/protocol';
import { createBlobStore, silentLog as log } from '@lode/provider';
import { blobFiles } from './blobFiles.js';

function fetchServing(data: Uint8Array) {
  const calls: string[] = [];
  const fn = (async (url: string) => {
    calls.push(url);
    return new Response(data as Uint8Array<ArrayBuffer>);
  }) as unknown as typeof fetch;
  return { fn, calls };
}

describe('the disk blob cache', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lode-blobs-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps fetched blobs as whole files named by their hash, read by a later store without fetching', async () => {
    const data = utf8('abc');
    const sha = sha256Hex(data);
    const f = fetchServing(data);
    await createBlobStore({ gateway: 'http://gw', cache: blobFiles(join(dir, 'blobs')), log, fetch: f.fn }).get(sha);
    expect(await readFile(join(dir, 'blobs', sha), 'utf8')).toBe('abc');
    expect(await readdir(join(dir, 'blobs'))).toEqual([sha]); // no temporary file left
    const again = createBlobStore({ gateway: 'http://gw', cache: blobFiles(join(dir, 'blobs')), log, fetch: f.fn });
    expect(sha256Hex(await again.get(sha))).toBe(sha);
    expect(f.calls).toHaveLength(1);
  });

  it('replaces a corrupted file with the fetched bytes', async () => {
    const data = utf8('good bytes');
    const sha = sha256Hex(data);
    await writeFile(join(dir, sha), 'rotten bytes');
    const f = fetchServing(data);
    expect(sha256Hex(await createBlobStore({ gateway: 'http://gw', cache: blobFiles(dir), log, fetch: f.fn }).get(sha))).toBe(sha);
    expect(f.calls).toHaveLength(1);
    expect(await readFile(join(dir, sha), 'utf8')).toBe('good bytes');
  });
});
