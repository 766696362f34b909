/**
 * Content-addressed blobs (modules, stdin, input files) fetched from the gateway, in memory.
 *
 * Guarantees:
 * - `get(sha)` resolves only to bytes whose sha256 is `sha`; a mismatch is never cached.
 * - Concurrent requests for one blob share one fetch.
 * - Memory is bounded by `maxBytes` (least recently used blobs are dropped first).
 * - Failures reject with a protocol error: `MissingBlobError` (404), `BlobHashMismatchError`,
 *   `TooLargeError`, `GatewayUnavailableError` (network or server error, after retries), or
 *   `InvalidRequestError` for an address that is not 64 lowercase hex digits.
 */
import {
  BlobHashMismatchError,
  GatewayUnavailableError,
  InvalidRequestError,
  LIMITS,
  MissingBlobError,
  TooLargeError,
} from '@lode/protocol';
import { sha256Hex } from './hash.js';
import type { Logger } from './log.js';

export interface BlobCacheOptions {
  /** The gateway's HTTP origin, e.g. http://127.0.0.1:7070 */
  gateway: string;
  log: Logger;
  /** @default 128 MiB */
  maxBytes?: number;
  /** Extra tries after a network or 5xx failure. @default 2 */
  retries?: number;
  /** @default 60_000 */
  fetchTimeoutMs?: number;
  fetch?: typeof fetch;
}

export interface BlobCache {
  get(sha256: string): Promise<Uint8Array>;
  readonly bytes: number;
}

export function createBlobCache(options: BlobCacheOptions): BlobCache {
  const { gateway, log } = options;
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  const maxBytes = options.maxBytes ?? 128 * 1024 * 1024;
  const retries = options.retries ?? 2;
  const timeoutMs = options.fetchTimeoutMs ?? 60_000;
  /** Insertion order is recency order: a hit is re-inserted. */
  const memory = new Map<string, Uint8Array>();
  const inflight = new Map<string, Promise<Uint8Array>>();
  let bytes = 0;

  function remember(sha: string, data: Uint8Array): void {
    if (data.byteLength > maxBytes) return;
    memory.set(sha, data);
    bytes += data.byteLength;
    for (const [key, value] of memory) {
      if (bytes <= maxBytes) break;
      memory.delete(key);
      bytes -= value.byteLength;
    }
  }

  async function fetchOnce(sha: string): Promise<Uint8Array> {
    const url = `${gateway}/v1/blobs/${sha}`;
    let res: Response;
    try {
      res = await doFetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    } catch (err) {
      throw new GatewayUnavailableError(`Could not fetch blob ${sha} from ${gateway}.`, { cause: err, meta: { sha256: sha } });
    }
    if (res.status === 404) {
      await res.body?.cancel();
      throw new MissingBlobError(sha);
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new GatewayUnavailableError(`The gateway answered ${res.status} for blob ${sha}.`, { meta: { sha256: sha, status: res.status } });
    }
    let data: Uint8Array;
    try {
      data = new Uint8Array(await res.arrayBuffer());
    } catch (err) {
      throw new GatewayUnavailableError(`The download of blob ${sha} broke off.`, { cause: err, meta: { sha256: sha } });
    }
    if (data.byteLength > LIMITS.maxBlobBytes) {
      throw new TooLargeError(`Blob ${sha} is ${data.byteLength} bytes, over the ${LIMITS.maxBlobBytes}-byte limit.`);
    }
    const actual = await sha256Hex(data);
    if (actual !== sha) {
      throw new BlobHashMismatchError(`The gateway sent bytes for blob ${sha} that hash to ${actual}; refusing them.`, {
        meta: { expected: sha, actual },
      });
    }
    return data;
  }

  async function fetchWithRetry(sha: string): Promise<Uint8Array> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fetchOnce(sha);
      } catch (err) {
        if (!(err instanceof GatewayUnavailableError) || attempt >= retries) throw err;
        const delay = 200 * 2 ** attempt;
        log.warn('blob fetch failed; retrying', { sha256: sha, attempt: attempt + 1, delay });
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  return {
    get(sha) {
      if (!/^[0-9a-f]{64}$/.test(sha)) {
        return Promise.reject(new InvalidRequestError(`${JSON.stringify(sha)} is not a blob address (64 lowercase hex digits).`));
      }
      const hit = memory.get(sha);
      if (hit) {
        memory.delete(sha);
        memory.set(sha, hit);
        return Promise.resolve(hit);
      }
      let p = inflight.get(sha);
      if (!p) {
        p = fetchWithRetry(sha)
          .then((data) => {
            log.debug('fetched blob', { sha256: sha, bytes: data.byteLength });
            remember(sha, data);
            return data;
          })
          .finally(() => inflight.delete(sha));
        inflight.set(sha, p);
      }
      return p;
    },
    get bytes() {
      return bytes;
    },
  };
}
