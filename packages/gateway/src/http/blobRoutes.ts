/** Content-addressed blobs: modules and input files. Immutable; the address is the sha256 of the bytes. */
import type { FastifyInstance } from 'fastify';
import { BlobHashMismatchError, InvalidRequestError, LIMITS, NotFoundError, Sha256Hex, sha256Hex } from '@lode/protocol';
import type { Store } from '../store/types.js';

export function blobRoutes(app: FastifyInstance, store: Store, maxBlobBytes: number = LIMITS.maxBlobBytes): void {
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer', bodyLimit: maxBlobBytes }, (_req, body, done) => done(null, body));

  const bytesOf = (body: unknown): Uint8Array => {
    if (!(body instanceof Buffer)) throw new InvalidRequestError('Send the blob as the raw body with Content-Type: application/octet-stream.');
    return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  };

  app.post('/v1/blobs', { bodyLimit: maxBlobBytes }, async (req, reply) => {
    const bytes = bytesOf(req.body);
    const sha256 = sha256Hex(bytes);
    await store.putBlob(sha256, bytes);
    return reply.status(201).send({ sha256, size: bytes.byteLength });
  });

  app.put<{ Params: { sha256: string } }>('/v1/blobs/:sha256', { bodyLimit: maxBlobBytes }, async (req, reply) => {
    const want = parseSha(req.params.sha256);
    const bytes = bytesOf(req.body);
    const got = sha256Hex(bytes);
    if (got !== want) throw new BlobHashMismatchError(`The bytes hash to ${got}, not ${want}. Upload to /v1/blobs/${got}.`);
    await store.putBlob(want, bytes);
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

function parseSha(s: string): string {
  const r = Sha256Hex.safeParse(s);
  if (!r.success) throw new InvalidRequestError(`"${s}" is not a blob address: expected 64 lowercase hex digits (sha256).`);
  return r.data;
}
