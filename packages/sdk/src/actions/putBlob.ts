import { BlobRef, sha256Hex } from '@lode/protocol';
import type { LodeClient } from '../client.js';
import { requestJson, send } from '../request.js';

export interface PutBlobParameters {
  /** The bytes to store (a WASM module, an input file). */
  data: Uint8Array;
  /** Ask the gateway first (HEAD) and skip the upload if it already holds the blob. @default true */
  skipIfExists?: boolean;
  signal?: AbortSignal;
}
export type PutBlobReturnType = BlobRef;

/**
 * Stores bytes on the gateway under their sha256 (PUT /v1/blobs/:sha256) and returns their
 * content address. Idempotent: the same bytes always give the same ref.
 *
 * @example
 * const { sha256 } = await putBlob(client, { data: await readFile('task.wasm') });
 */
export async function putBlob(client: LodeClient, params: PutBlobParameters): Promise<PutBlobReturnType> {
  const sha256 = sha256Hex(params.data);
  const path = `/v1/blobs/${sha256}`;
  if (params.skipIfExists ?? true) {
    const exists = await send(client, { method: 'HEAD', path, signal: params.signal }).then(
      () => true,
      () => false,
    );
    if (exists) return { sha256, size: params.data.byteLength };
  }
  return requestJson(client, BlobRef, { method: 'PUT', path, body: params.data, signal: params.signal, auth: true });
}
