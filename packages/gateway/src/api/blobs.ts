/**
 * Content-addressed blobs: modules and input files. Immutable; the address is the sha256 of the
 * bytes. Uploading needs a signed-in account (blob bytes are a quota per account: the first
 * uploader of a blob is charged for it); reading is public — a node must fetch what its lease
 * names, and an address is unguessable unless the content is.
 *
 * An upload is streamed, never held whole: each chunk is hashed as it comes and written to a
 * temporary file, which the store then takes (a 64 MiB body buffered, copied and hashed at once
 * held the event loop for a hundred milliseconds and more).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { BlobHashMismatchError, InvalidRequestError, LIMITS, NotFoundError, QuotaExceededError, Sha256Hex, TooLargeError } from '@lode/protocol';
import type { Store } from '../store/types.js';
import { accountOf, requireSignIn } from './auth.js';

export interface BlobLimits {
  /** Largest blob. @default LIMITS.maxBlobBytes */
  maxBlobBytes?: number;
  /** Blob bytes one account may have uploaded. */
  blobBytesPerAccount: number;
  /** Where uploads are written while they arrive (on the data directory's file system; it exists). */
  tmpDir: string;
}

/** An upload as the parser leaves it: a temporary file, its sha256 and size. */
interface Upload {
  file: string;
  sha256: string;
  size: number;
}

/** The blob routes, as a Fastify plugin: `app.register(blobsApi, { store, ...limits })`. */
export async function blobsApi(app: FastifyInstance, { store, ...limits }: BlobLimits & { store: Store }): Promise<void> {
  const maxBlobBytes = limits.maxBlobBytes ?? LIMITS.maxBlobBytes;

  // Upload routes live in a scope of their own whose only body is raw bytes, streamed to a file: no
  // other route receives such a body, and no 64 MiB body here is parsed as JSON on the loop. The
  // session is checked before the body is read, so a stranger's bytes are never received.
  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('application/octet-stream', { bodyLimit: maxBlobBytes }, (_req, payload, done) => {
      receive(payload, limits.tmpDir, maxBlobBytes).then(
        (u) => done(null, u),
        (err: Error) => done(err),
      );
    });
    const signedIn = requireSignIn('Uploading a blob');
    const addressed = async (req: FastifyRequest<{ Params: { sha256: string } }>) => {
      parseSha(req.params.sha256);
    };

    const uploadOf = (body: unknown): Upload => {
      if (!body || typeof body !== 'object' || !('file' in body))
        throw new InvalidRequestError('Send the blob as the raw body with Content-Type: application/octet-stream.');
      return body as Upload;
    };

    /** Keeps the upload for `account` unless it would pass the account's quota (a blob already stored costs nothing). */
    const keep = async (account: string, u: Upload): Promise<void> => {
      if ((await store.hasBlobs([u.sha256])).has(u.sha256)) return;
      const used = await store.blobBytesOf(account);
      if (used + u.size > limits.blobBytesPerAccount) {
        throw new QuotaExceededError(
          `${account} has uploaded ${used} bytes of blobs; this one (${u.size} bytes) would pass the ${limits.blobBytesPerAccount}-byte quota per account. Reuse uploaded blobs, or ask the gateway's operator for more.`,
          { meta: { used, size: u.size, quota: limits.blobBytesPerAccount } },
        );
      }
      await store.putBlobFile(u.sha256, u.file, u.size, account);
    };

    scope.post('/v1/blobs', { bodyLimit: maxBlobBytes, onRequest: signedIn }, async (req, reply) => {
      const upload = uploadOf(req.body);
      try {
        await keep(accountOf(req, 'Uploading a blob'), upload);
      } finally {
        await rm(upload.file, { force: true });
      }
      return reply.status(201).send({ sha256: upload.sha256, size: upload.size });
    });

    scope.put<{ Params: { sha256: string } }>('/v1/blobs/:sha256', { bodyLimit: maxBlobBytes, onRequest: [signedIn, addressed] }, async (req, reply) => {
      const upload = uploadOf(req.body);
      try {
        const account = accountOf(req, 'Uploading a blob');
        const want = parseSha(req.params.sha256);
        if (upload.sha256 !== want) throw new BlobHashMismatchError(`The bytes hash to ${upload.sha256}, not ${want}. Upload to /v1/blobs/${upload.sha256}.`);
        await keep(account, upload);
      } finally {
        await rm(upload.file, { force: true });
      }
      return reply.status(201).send({ sha256: upload.sha256, size: upload.size });
    });
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

/** Streams a request body to a temporary file, hashing it chunk by chunk, at most `max` bytes. */
async function receive(payload: NodeJS.ReadableStream, tmpDir: string, max: number): Promise<Upload> {
  const file = join(tmpDir, `upload-${randomBytes(8).toString('hex')}`);
  const hash = createHash('sha256');
  let size = 0;
  const count = new Transform({
    transform(chunk: Buffer, _enc, next) {
      size += chunk.length;
      if (size > max) return next(new TooLargeError(`The request body is larger than this gateway accepts (${max} bytes). Upload large inputs in parts.`));
      hash.update(chunk);
      next(null, chunk);
    },
  });
  try {
    await pipeline(payload, count, createWriteStream(file));
  } catch (err) {
    await rm(file, { force: true });
    throw err;
  }
  return { file, sha256: hash.digest('hex'), size };
}

function parseSha(s: string): string {
  const r = Sha256Hex.safeParse(s);
  if (!r.success) throw new InvalidRequestError(`"${s}" is not a blob address: expected 64 lowercase hex digits (sha256).`);
  return r.data;
}
