import { describe, expect, it } from 'vitest';
import { BlobHashMismatchError, fromUtf8, GatewayUnavailableError, MissingBlobError, sha256Hex, TooLargeError, utf8 } from '@lode/protocol';
import { createBlobStore, type BlobCacheStore } from './blobs.js';
import { silentLog as log } from './log.js';

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

/** A platform cache in a Map (lode node's is files: packages/node/src/blobFiles.test.ts). */
function mapCache(entries: Array<[string, Uint8Array]> = []): BlobCacheStore & { entries: Map<string, Uint8Array> } {
  const map = new Map(entries);
  return {
    entries: map,
    read: async (sha) => map.get(sha),
    write: async (sha, bytes) => void map.set(sha, bytes),
    remove: async (sha) => void map.delete(sha),
  };
}

describe('blob store', () => {
  it('shares one fetch between concurrent requests and serves later ones from memory', async () => {
    const data = utf8('abc');
    const sha = sha256Hex(data);
    const f = fakeFetch(new Map([[sha, data]]));
    const cache = mapCache();
    const store = createBlobStore({ gateway: 'http://gw', cache, log, fetch: f.fn });
    const got = await Promise.all([store.get(sha), store.get(sha), store.get(sha)]);
    expect(got.every((b) => sha256Hex(b) === sha)).toBe(true);
    await store.get(sha);
    expect(f.calls).toEqual([`http://gw/v1/blobs/${sha}`]);
    expect(fromUtf8(cache.entries.get(sha)!)).toBe('abc');
  });

  it('refuses bytes that do not hash to the requested address, and caches nothing', async () => {
    const sha = sha256Hex('expected');
    const f = fakeFetch(new Map([[sha, utf8('something else')]]));
    const cache = mapCache();
    const store = createBlobStore({ gateway: 'http://gw', cache, log, fetch: f.fn });
    await expect(store.get(sha)).rejects.toBeInstanceOf(BlobHashMismatchError);
    await expect(store.get(sha)).rejects.toBeInstanceOf(BlobHashMismatchError);
    expect(f.calls).toHaveLength(2); // a refusal is not remembered either
    expect(store.has(sha)).toBe(false);
    expect(cache.entries.size).toBe(0);
  });

  it('reports a missing blob without retrying and retries server errors', async () => {
    const data = utf8('x');
    const sha = sha256Hex(data);
    const missing = fakeFetch(new Map());
    await expect(createBlobStore({ gateway: 'http://gw', log, fetch: missing.fn }).get(sha)).rejects.toBeInstanceOf(MissingBlobError);
    expect(missing.calls).toHaveLength(1);

    const flaky = fakeFetch(new Map([[sha, data]]), 1);
    expect(sha256Hex(await createBlobStore({ gateway: 'http://gw', log, fetch: flaky.fn }).get(sha))).toBe(sha);
    expect(flaky.calls).toHaveLength(2);

    const down = fakeFetch(new Map([[sha, data]]), 10);
    await expect(createBlobStore({ gateway: 'http://gw', log, fetch: down.fn, retries: 1 }).get(sha)).rejects.toBeInstanceOf(GatewayUnavailableError);
  });

  it('refetches a corrupted cached copy', async () => {
    const data = utf8('good bytes');
    const sha = sha256Hex(data);
    const cache = mapCache([[sha, utf8('rotten bytes')]]);
    const f = fakeFetch(new Map([[sha, data]]));
    const store = createBlobStore({ gateway: 'http://gw', cache, log, fetch: f.fn });
    expect(sha256Hex(await store.get(sha))).toBe(sha);
    expect(f.calls).toHaveLength(1);
    expect(fromUtf8(cache.entries.get(sha)!)).toBe('good bytes');
    // A fresh store (empty memory) reads the cached copy without fetching.
    const again = createBlobStore({ gateway: 'http://gw', cache, log, fetch: f.fn });
    expect(sha256Hex(await again.get(sha))).toBe(sha);
    expect(f.calls).toHaveLength(1);
  });

  it('keeps memory within its byte budget, evicting the least recently used', async () => {
    const blobs = new Map(['a', 'b', 'c'].map((c) => [sha256Hex(c.repeat(40)), utf8(c.repeat(40))]));
    const [a, b, c] = [...blobs.keys()];
    const store = createBlobStore({ gateway: 'http://gw', log, fetch: fakeFetch(blobs).fn, maxMemoryBytes: 100 });
    await store.get(a!);
    await store.get(b!);
    await store.get(a!); // a is now the most recent
    await store.get(c!);
    expect(store.memoryBytes).toBeLessThanOrEqual(100);
    expect([store.has(a!), store.has(b!), store.has(c!)]).toEqual([true, false, true]);
  });

  it('refuses a blob over the protocol limit from its declared length, without reading it', async () => {
    const sha = sha256Hex('big');
    let cancelled = false;
    const fetchBig = (async () =>
      new Response(
        new ReadableStream({
          cancel() {
            cancelled = true;
          },
        }),
        { headers: { 'content-length': String(2 ** 40) } },
      )) as unknown as typeof fetch;
    await expect(createBlobStore({ gateway: 'http://gw', log, fetch: fetchBig }).get(sha)).rejects.toBeInstanceOf(TooLargeError);
    expect(cancelled).toBe(true); // the body is let go, not read
  });

  it('refuses an address that is not 64 lowercase hex digits without fetching', async () => {
    const f = fakeFetch(new Map());
    const store = createBlobStore({ gateway: 'http://gw', log, fetch: f.fn });
    for (const bad of ['../../etc/passwd', 'AB'.repeat(32), 'ab'.repeat(31)]) await expect(store.get(bad)).rejects.toThrow(/not a blob address/);
    expect(f.calls).toHaveLength(0);
  });
});
