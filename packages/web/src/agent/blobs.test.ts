import { describe, expect, it } from 'vitest';
import { BlobHashMismatchError, MissingBlobError, sha256Hex } from '@lode/protocol';
import { createBlobCache } from './blobs.js';
import { silentLog } from './log.js';

function fakeFetch(blobs: Map<string, Uint8Array>, calls: string[]): typeof fetch {
  return (async (url: string) => {
    calls.push(url);
    const sha = url.split('/').pop()!;
    const data = blobs.get(sha);
    if (!data) return new Response('{}', { status: 404 });
    return new Response(data as Uint8Array<ArrayBuffer>, { status: 200 });
  }) as typeof fetch;
}

describe('the page blob cache', () => {
  it('fetches a blob once for concurrent requests and keeps it', async () => {
    const data = new TextEncoder().encode('hello blob');
    const sha = sha256Hex(data);
    const calls: string[] = [];
    const cache = createBlobCache({ gateway: 'http://gw', log: silentLog, fetch: fakeFetch(new Map([[sha, data]]), calls) });
    const [a, b] = await Promise.all([cache.get(sha), cache.get(sha)]);
    expect(a).toEqual(data);
    expect(b).toEqual(data);
    await cache.get(sha);
    expect(calls).toEqual([`http://gw/v1/blobs/${sha}`]);
  });

  it('refuses bytes that do not hash to the address, and never caches them', async () => {
    const sha = sha256Hex(new TextEncoder().encode('the real thing'));
    const calls: string[] = [];
    const cache = createBlobCache({ gateway: 'http://gw', log: silentLog, fetch: fakeFetch(new Map([[sha, new TextEncoder().encode('a forgery')]]), calls) });
    await expect(cache.get(sha)).rejects.toBeInstanceOf(BlobHashMismatchError);
    await expect(cache.get(sha)).rejects.toBeInstanceOf(BlobHashMismatchError);
    expect(calls).toHaveLength(2);
  });

  it('reports a missing blob as MissingBlobError', async () => {
    const cache = createBlobCache({ gateway: 'http://gw', log: silentLog, fetch: fakeFetch(new Map(), []) });
    await expect(cache.get('ab'.repeat(32))).rejects.toBeInstanceOf(MissingBlobError);
  });

  it('drops the least recently used blobs beyond its memory bound', async () => {
    const blobs = new Map<string, Uint8Array>();
    const shas = [0, 1, 2].map((i) => {
      const d = new Uint8Array(600).fill(i);
      const sha = sha256Hex(d);
      blobs.set(sha, d);
      return sha;
    });
    const calls: string[] = [];
    const cache = createBlobCache({ gateway: 'http://gw', log: silentLog, fetch: fakeFetch(blobs, calls), maxBytes: 1300 });
    for (const sha of shas) await cache.get(sha);
    expect(cache.bytes).toBe(1200);
    await cache.get(shas[0]!); // evicted: fetched again
    expect(calls).toHaveLength(4);
  });
});
