/**
 * Content-addressed blobs (modules, stdin, input files) fetched from the gateway.
 *
 * Guarantees:
 * - `get(sha)` resolves only to bytes whose sha256 is `sha`: bytes from the gateway and from
 *   the disk cache are both checked, and a mismatch is never cached.
 * - Concurrent requests for one blob share one fetch; at most `fetchConcurrency` fetches run.
 * - Memory use is bounded by `maxMemoryBytes` (LRU by bytes); the disk cache under `dir` keeps
 *   every blob fetched (files are written whole, then renamed into place).
 * - Failures reject with a protocol error: `MissingBlobError` (404), `BlobHashMismatchError`,
 *   `TooLargeError`, `GatewayUnavailableError` (network or server error, after retries), or
 *   `InvalidRequestError` for an address that is not 64 lowercase hex digits.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import {
  BlobHashMismatchError,
  GatewayUnavailableError,
  InvalidRequestError,
  LIMITS,
  MissingBlobError,
  sha256Hex,
  TooLargeError,
} from '@lode/protocol';
import { ByteLru } from './lru.js';
import { createSemaphore } from './semaphore.js';

export interface BlobStoreOptions {
  /** Gateway HTTP base, e.g. http://127.0.0.1:7070 */
  gatewayHttp: string;
  /** Disk cache directory; omit for memory only. */
  dir?: string;
  /** @default 256 MiB */
  maxMemoryBytes?: number;
  /** @default 8 */
  fetchConcurrency?: number;
  /** Per request. @default 60_000 */
  fetchTimeoutMs?: number;
  /** Extra tries after a network or 5xx failure. @default 2 */
  retries?: number;
  log: Logger;
  fetch?: typeof fetch;
}

export interface BlobStore {
  get(sha256: string): Promise<Uint8Array>;
  /** True when the blob is in memory (no I/O needed). */
  has(sha256: string): boolean;
  readonly memoryBytes: number;
}

export function createBlobStore(options: BlobStoreOptions): BlobStore {
  const { gatewayHttp, dir, log } = options;
  const doFetch = options.fetch ?? fetch;
  const timeoutMs = options.fetchTimeoutMs ?? 60_000;
  const retries = options.retries ?? 2;
  const memory = new ByteLru<Uint8Array>(options.maxMemoryBytes ?? 256 * 1024 * 1024);
  const limit = createSemaphore(options.fetchConcurrency ?? 8);
  const inflight = new Map<string, Promise<Uint8Array>>();
  let dirReady: Promise<unknown> | undefined;

  async function fromDisk(sha: string): Promise<Uint8Array | undefined> {
    if (!dir) return undefined;
    const path = join(dir, sha);
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await readFile(path));
    } catch {
      return undefined;
    }
    if (sha256Hex(bytes) === sha) return bytes;
    log.warn({ sha256: sha, path }, 'cached blob is corrupt; fetching it again');
    await unlink(path).catch(() => {});
    return undefined;
  }

  async function toDisk(sha: string, bytes: Uint8Array): Promise<void> {
    if (!dir) return;
    try {
      dirReady ??= mkdir(dir, { recursive: true });
      await dirReady;
      const tmp = join(dir, `.${sha}.${randomBytes(4).toString('hex')}.tmp`);
      await writeFile(tmp, bytes);
      await rename(tmp, join(dir, sha));
    } catch (err) {
      // The disk cache is an optimisation: a full disk must not fail the task.
      log.warn({ err, sha256: sha }, 'could not write a blob to the disk cache');
    }
  }

  async function fetchOnce(sha: string): Promise<Uint8Array> {
    const url = `${gatewayHttp}/v1/blobs/${sha}`;
    let res: Response;
    try {
      res = await doFetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    } catch (err) {
      throw new GatewayUnavailableError(`Could not fetch blob ${sha} from ${gatewayHttp}.`, { cause: err, meta: { sha256: sha } });
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
    const actual = sha256Hex(bytes);
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
        log.warn({ sha256: sha, attempt: attempt + 1, delay, err: err.shortMessage }, 'blob fetch failed; retrying');
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  async function load(sha: string): Promise<Uint8Array> {
    const cached = await fromDisk(sha);
    if (cached) return cached;
    const bytes = await limit(() => fetchWithRetry(sha));
    log.debug({ sha256: sha, bytes: bytes.byteLength }, 'fetched blob');
    await toDisk(sha, bytes);
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
