/**
 * The result digest with a pluggable sha256. It is `resultDigest` from @lode/protocol — the
 * same canonical encoding, byte for byte (a test checks) — but lets the Node worker use
 * node:crypto, about twice as fast as the portable hash for the tiny inputs of the hot path.
 */
import { canonicalJson, sha256Hex, type ResultContent } from '@lode/protocol';

export type Sha256Hex = (data: Uint8Array | string) => string;

const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** `resultDigest(r)`, computed with `hash`. */
export function digestResult(r: ResultContent, hash: Sha256Hex = sha256Hex): string {
  const h = (b: Uint8Array) => (b.length === 0 ? EMPTY_SHA256 : hash(b));
  const files = r.files.map((f) => [f.path, h(f.data)] as const).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return hash(
    canonicalJson({
      v: 1,
      exitCode: r.exitCode,
      stdout: h(r.stdout),
      stderr: h(r.stderr),
      files,
      deleted: [...(r.deleted ?? [])].sort(),
    }),
  );
}
