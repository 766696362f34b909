/**
 * Content-addressed blobs (modules, stdin, input files) fetched from the gateway.
 *
 * Guarantees:
 * - `get(sha)` resolves only to bytes whose sha256 is `sha`: bytes from the gateway and from a
 *   platform cache (`lode node`'s disk) are both checked, and a mismatch is never cached.
 * - Concurrent requests for one blob share one fetch; at most `fetchConcurrency` fetches run.
 * - Memory is bounded by `maxMemoryBytes` (least recently used blobs are dropped first); the
 *   platform cache keeps what it keeps.
 * - A declared or actual size over the protocol's blob limit is refused before it is hashed.
 * - Failures reject with a protocol error: `MissingBlobError` (404), `BlobHashMismatchError`,
 *   `TooLargeError`, `GatewayUnavailableError` (network or server error, after retries), or
 *   `InvalidRequestError` for an address that is not 64 lowercase hex digits.
 */
import { BlobHashMismatchError, GatewayUnavailableError, InvalidRequestError, LIMITS, MissingBlobError, TooLargeError } from '@lode/protocol';
import { sha256Hex } from './hash.js';
import { errorText, type Logger } from './log.js';
import { ByteLru } from './lru.js';
import { createSemaphore } from './semaphore.js';

/** A second cache level kept by the platform (`lode node`: files under `<dataDir>/blobs`). */
export interface BlobCacheStore {
  /** The bytes kept under `sha`, unchecked (the store checks them), or undefined. */
  read(sha256: string): Promise<Uint8Array | undefined>;
  /** Keeps bytes whose hash was checked. May fail: the cache is an optimisation. */
  write(sha256: string, bytes: Uint8Array): Promise<void>;
  /** Forgets a corrupt entry. */
  remove(sha256: string): Promise<void>;
}

export interface BlobStoreOptions {
  /** The gateway's HTTP origin, e.g. http://127.0.0.1:7070 — or, for a node of a cluster, the one it is connected to now. */
  gateway: string | (() => string);
  log: Logger;
  /** A platform cache below memory. @default none */
  cache?: BlobCacheStore;
  /** @default 256 MiB */
  maxMemoryBytes?: number;
  /** @default 8 */
  fetchConcurrency?: number;
  /** Per request. @default 60_000 */
  fetchTimeoutMs?: number;
  /** Extra tries after a network or 5xx failure. @default 2 */
  retries?: number;
  fetch?: typeof fetch;
}

export interface BlobStore {
  get(sha256: string): Promise<Uint8Array>;
  /** True when the blob is in memory (no I/O needed). */
  has(sha256: string): boolean;
  readonly memoryBytes: number;
}

export function createBlobStore(options: BlobStoreOptions): BlobStore {
  const { gateway, log, cache } = options;
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  const timeoutMs = options.fetchTimeoutMs ?? 60_000;
  const retries = options.retries ?? 2;
  const memory = new ByteLru<Uint8Array>(options.maxMemoryBytes ?? 256 * 1024 * 1024);
  const limit = createSemaphore(options.fetchConcurrency ?? 8);
  const inflight = new Map<string, Promise<Uint8Array>>();

  async function fromCache(sha: string): Promise<Uint8Array | undefined> {
    if (!cache) return undefined;
    const bytes = await cache.read(sha).catch(() => undefined);
    if (!bytes) return undefined;
    if ((await sha256Hex(bytes)) === sha) return bytes;
    log.warn('a cached blob is corrupt; fetching it again', { sha256: sha });
    await cache.remove(sha).catch(() => {});
    return undefined;
  }

  async function toCache(sha: string, bytes: Uint8Array): Promise<void> {
    if (!cache) return;
    try {
      await cache.write(sha, bytes);
    } catch (err) {
      // The cache is an optimisation: a full disk must not fail the task.
      log.warn('could not keep a blob in the cache', { sha256: sha, err: errorText(err) });
    }
  }

  async function fetchOnce(sha: string): Promise<Uint8Array> {
    const from = typeof gateway === 'function' ? gateway() : gateway;
    const url = `${from}/v1/blobs/${sha}`;
    let res: Response;
    try {
      res = await doFetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    } catch (err) {
      throw new GatewayUnavailableError(`Could not fetch blob ${sha} from ${from}.`, { cause: err, meta: { sha256: sha } });
    }
    if (res.status === 404) {
      await res.body?.cancel();
      throw new MissingBlobError(sha);
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new GatewayUnavailableError(`The gateway answered ${res.status} for blob ${sha}.`, {
        meta: { sha256: sha, status: res.status },
      });
    }
    const declared = Number(res.headers.get('content-length') ?? NaN);
    if (declared > LIMITS.maxBlobBytes) {
      await res.body?.cancel();
      throw new TooLargeError(`Blob ${sha} is ${declared} bytes, over the ${LIMITS.maxBlobBytes}-byte limit.`);
    }
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await res.arrayBuffer());
    } catch (err) {
      throw new GatewayUnavailableError(`The download of blob ${sha} broke off.`, { cause: err, meta: { sha256: sha } });
    }
    if (bytes.byteLength > LIMITS.maxBlobBytes) {
      throw new TooLargeError(`Blob ${sha} is ${bytes.byteLength} bytes, over the ${LIMITS.maxBlobBytes}-byte limit.`);
    }
    const actual = await sha256Hex(bytes);
    if (actual !== sha) {
      throw new BlobHashMismatchError(`The gateway sent bytes for blob ${sha} that hash to ${actual}; refusing them.`, {
        meta: { expected: sha, actual },
      });
    }
    return bytes;
  }

  async function fetchWithRetry(sha: string): Promise<Uint8Array> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fetchOnce(sha);
      } catch (err) {
        if (!(err instanceof GatewayUnavailableError) || attempt >= retries) throw err;
        const delay = 200 * 2 ** attempt;
        log.warn('blob fetch failed; retrying', { sha256: sha, attempt: attempt + 1, delay, err: err.shortMessage });
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  async function load(sha: string): Promise<Uint8Array> {
    const cached = await fromCache(sha);
    if (cached) return cached;
    const bytes = await limit(() => fetchWithRetry(sha));
    log.debug('fetched blob', { sha256: sha, bytes: bytes.byteLength });
    await toCache(sha, bytes);
    return bytes;
  }

  return {
    get(sha) {
      if (!/^[0-9a-f]{64}$/.test(sha)) {
        return Promise.reject(new InvalidRequestError(`${JSON.stringify(sha)} is not a blob address (64 lowercase hex digits).`));
      }
      const hit = memory.get(sha);
      if (hit) return Promise.resolve(hit);
      let p = inflight.get(sha);
      if (!p) {
        p = load(sha)
          .then((bytes) => {
            memory.set(sha, bytes);
            return bytes;
          })
          .finally(() => inflight.delete(sha));
        inflight.set(sha, p);
      }
      return p;
    },
    has(sha) {
      return memory.get(sha) !== undefined;
    },
    get memoryBytes() {
      return memory.bytes;
    },
  };
}
