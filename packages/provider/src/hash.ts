/**
 * sha256 as 64 lowercase hex digits. WebCrypto where there is one (Node; a page in a secure context:
 * https, or http on localhost) — much faster on large blobs — and @noble/hashes elsewhere
 * (a gateway reached over plain http on a LAN address is not a secure context).
 */
import { sha256Hex as nobleSha256Hex } from '@lode/protocol';

export async function sha256Hex(data: Uint8Array): Promise<string> {
  const subtle = globalThis.crypto?.subtle;
  if (subtle && data.byteLength >= 4096) {
    const digest = new Uint8Array(await subtle.digest('SHA-256', data as Uint8Array<ArrayBuffer>));
    let hex = '';
    for (const b of digest) hex += b.toString(16).padStart(2, '0');
    return hex;
  }
  return nobleSha256Hex(data);
}
