import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BlobHashMismatchError, GatewayUnavailableError, MissingBlobError, sha256Hex, utf8 } from '@lode/protocol';
import { createBlobStore } from './blobStore.js';

const log = pino({ level: 'silent' });

/** A fetch double serving `blobs`, counting calls; `fail` answers 500 that many times first. */
function fakeFetch(blobs: Map<string, Uint8Array>, fail = 0) {
  const calls: string[] = [];
  const fn = (async (url: string) => {
    calls.push(url);
    if (fail-- > 0) return new Response('boom', { status: 500 });
    const sha = url.split('/').pop()!;
    const bytes = blobs.get(sha);
    return bytes ? new Response(bytes) : new Response('nope', { status: 404 });
  }) as unknown as typeof fetch;
  return { fn, calls };
}

describe('blob store', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lode-blobs-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('shares one fetch between concurrent requests and serves later ones from memory', async () => {
    const data = utf8('abc');
    const sha = sha256Hex(data);
    const f = fakeFetch(new Map([[sha, data]]));
    const store = createBlobStore({ gatewayHttp: 'http://gw', dir, log, fetch: f.fn });
    const got = await Promise.all([store.get(sha), store.get(sha), store.get(sha)]);
    expect(got.every((b) => sha256Hex(b) === sha)).toBe(true);
    await store.get(sha);
    expect(f.calls).toEqual([`http://gw/v1/blobs/${sha}`]);
    expect(await readFile(join(dir, sha), 'utf8')).toBe('abc');
  });

  it('refuses bytes that do not hash to the requested address, and caches nothing', async () => {
    const sha = sha256Hex('expected');
    const f = fakeFetch(new Map([[sha, utf8('something else')]]));
    const store = createBlobStore({ gatewayHttp: 'http://gw', dir, log, fetch: f.fn });
    await expect(store.get(sha)).rejects.toBeInstanceOf(BlobHashMismatchError);
    expect(store.has(sha)).toBe(false);
    await expect(readFile(join(dir, sha))).rejects.toThrow();
  });

  it('reports a missing blob without retrying and retries server errors', async () => {
    const data = utf8('x');
    const sha = sha256Hex(data);
    const missing = fakeFetch(new Map());
    await expect(createBlobStore({ gatewayHttp: 'http://gw', log, fetch: missing.fn }).get(sha)).rejects.toBeInstanceOf(MissingBlobError);
    expect(missing.calls).toHaveLength(1);

    const flaky = fakeFetch(new Map([[sha, data]]), 1);
    expect(sha256Hex(await createBlobStore({ gatewayHttp: 'http://gw', log, fetch: flaky.fn }).get(sha))).toBe(sha);
    expect(flaky.calls).toHaveLength(2);

    const down = fakeFetch(new Map([[sha, data]]), 10);
    await expect(createBlobStore({ gatewayHttp: 'http://gw', log, fetch: down.fn, retries: 1 }).get(sha)).rejects.toBeInstanceOf(
      GatewayUnavailableError,
    );
  });

  it('refetches a corrupted disk copy', async () => {
    const data = utf8('good bytes');
    const sha = sha256Hex(data);
    await writeFile(join(dir, sha), 'rotten bytes');
    const f = fakeFetch(new Map([[sha, data]]));
    const store = createBlobStore({ gatewayHttp: 'http://gw', dir, log, fetch: f.fn });
    expect(sha256Hex(await store.get(sha))).toBe(sha);
    expect(f.calls).toHaveLength(1);
    expect(await readFile(join(dir, sha), 'utf8')).toBe('good bytes');
    // A fresh store (empty memory) reads the disk copy without fetching.
    const again = createBlobStore({ gatewayHttp: 'http://gw', dir, log, fetch: f.fn });
    expect(sha256Hex(await again.get(sha))).toBe(sha);
    expect(f.calls).toHaveLength(1);
  });

  it('keeps memory within its byte budget, evicting the least recently used', async () => {
    const blobs = new Map(['a', 'b', 'c'].map((c) => [sha256Hex(c.repeat(40)), utf8(c.repeat(40))]));
    const [a, b, c] = [...blobs.keys()];
    const store = createBlobStore({ gatewayHttp: 'http://gw', log, fetch: fakeFetch(blobs).fn, maxMemoryBytes: 100 });
    await store.get(a!);
    await store.get(b!);
    await store.get(a!); // a is now the most recent
    await store.get(c!);
    expect(store.memoryBytes).toBeLessThanOrEqual(100);
    expect([store.has(a!), store.has(b!), store.has(c!)]).toEqual([true, false, true]);
  });
});
