/**
 * The result digest with a pluggable sha256. It is `resultDigest` from @lode/protocol — the
 * same canonical encoding, byte for byte (a property test checks) — but lets the Node worker
 * use node:crypto (about twice as fast for the hot path's tiny inputs), and does not load the
 * protocol package (zod, viem: ~0.6 s) into every sandbox worker.
 */
import type { ResultContent } from '@lode/protocol';
import { sha256 } from '@noble/hashes/sha2';
import { bytesToHex } from '@noble/hashes/utils';

export type Sha256Hex = (data: Uint8Array | string) => string;

const encoder = new TextEncoder();
/** The portable sha256 (@noble/hashes), as the protocol computes it. */
export const portableSha256Hex: Sha256Hex = (data) => bytesToHex(sha256(typeof data === 'string' ? encoder.encode(data) : data));

const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** `resultDigest(r)`, computed with `hash`. */
export function digestResult(r: ResultContent, hash: Sha256Hex = portableSha256Hex): string {
  const h = (b: Uint8Array) => (b.length === 0 ? EMPTY_SHA256 : hash(b));
  const files = r.files.map((f) => [f.path, h(f.data)] as const).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  // Keys in sorted order, no undefined members: JSON.stringify gives the protocol's canonicalJson.
  return hash(
    JSON.stringify({
      deleted: [...(r.deleted ?? [])].sort(),
      exitCode: r.exitCode,
      files,
      stderr: h(r.stderr),
      stdout: h(r.stdout),
      v: 1,
    }),
  );
}
