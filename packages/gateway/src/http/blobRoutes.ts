/**
 * Content-addressed blobs: modules and input files. Immutable; the address is the sha256 of the
 * bytes. Uploading needs a signed-in account (blob bytes are a quota per account: the first
 * uploader of a blob is charged for it); reading is public — a node must fetch what its lease
 * names, and an address is unguessable unless the content is.
 */
import type { FastifyInstance } from 'fastify';
import { BlobHashMismatchError, InvalidRequestError, LIMITS, NotFoundError, QuotaExceededError, Sha256Hex } from '@lode/protocol';
import type { Store } from '../store/types.js';
import { accountOf } from './jobRoutes.js';

export interface BlobLimits {
  /** Largest blob. @default LIMITS.maxBlobBytes */
  maxBlobBytes?: number;
  /** Blob bytes one account may have uploaded. */
  blobBytesPerAccount: number;
}

export function blobRoutes(app: FastifyInstance, store: Store, limits: BlobLimits): void {
  const maxBlobBytes = limits.maxBlobBytes ?? LIMITS.maxBlobBytes;
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer', bodyLimit: maxBlobBytes }, (_req, body, done) => done(null, body));

  const bytesOf = (body: unknown): Uint8Array => {
    if (!(body instanceof Buffer)) throw new InvalidRequestError('Send the blob as the raw body with Content-Type: application/octet-stream.');
    return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  };

  /** Stores `bytes` for `account` unless it would pass the account's quota (a blob already stored costs nothing). */
  const put = async (account: string, sha256: string, bytes: Uint8Array): Promise<void> => {
    if ((await store.hasBlobs([sha256])).has(sha256)) return;
    const used = await store.blobBytesOf(account);
    if (used + bytes.byteLength > limits.blobBytesPerAccount) {
      throw new QuotaExceededError(
        `${account} has uploaded ${used} bytes of blobs; this one (${bytes.byteLength} bytes) would pass the ${limits.blobBytesPerAccount}-byte quota per account. Reuse uploaded blobs, or ask the gateway's operator for more.`,
        { meta: { used, size: bytes.byteLength, quota: limits.blobBytesPerAccount } },
      );
    }
    await store.putBlob(sha256, bytes, account);
  };

  app.post('/v1/blobs', { bodyLimit: maxBlobBytes }, async (req, reply) => {
    const account = accountOf(req, 'Uploading a blob');
    const bytes = bytesOf(req.body);
    const sha256 = await digest(bytes);
    await put(account, sha256, bytes);
    return reply.status(201).send({ sha256, size: bytes.byteLength });
  });

  app.put<{ Params: { sha256: string } }>('/v1/blobs/:sha256', { bodyLimit: maxBlobBytes }, async (req, reply) => {
    const account = accountOf(req, 'Uploading a blob');
    const want = parseSha(req.params.sha256);
    const bytes = bytesOf(req.body);
    const got = await digest(bytes);
    if (got !== want) throw new BlobHashMismatchError(`The bytes hash to ${got}, not ${want}. Upload to /v1/blobs/${got}.`);
    await put(account, want, bytes);
    return reply.status(201).send({ sha256: want, size: bytes.byteLength });
  });

  app.get<{ Params: { sha256: string } }>('/v1/blobs/:sha256', async (req, reply) => {
    const sha = parseSha(req.params.sha256);
    const bytes = await store.getBlob(sha);
    if (!bytes) throw new NotFoundError('blob', sha);
    return reply
      .header('content-type', 'application/octet-stream')
      .header('cache-control', 'public, max-age=31536000, immutable')
      .header('etag', `"${sha}"`)
      .send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  });
}

/**
 * sha256 as 64 hex digits, computed off the event loop (WebCrypto runs on libuv's thread pool):
 * hashing a 64 MiB blob takes long enough to matter.
 */
async function digest(bytes: Uint8Array): Promise<string> {
  return Buffer.from(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>)).toString('hex');
}

function parseSha(s: string): string {
  const r = Sha256Hex.safeParse(s);
  if (!r.success) throw new InvalidRequestError(`"${s}" is not a blob address: expected 64 lowercase hex digits (sha256).`);
  return r.data;
}
