/**
 * The canonical digest of a task's result. Nodes compute it, the gateway recomputes it, and
 * (with replication) replicas are compared by it, so its encoding is part of the protocol:
 *
 *   sha256( canonicalJson({ v: 1, exitCode, stdout: sha256(stdout), stderr: sha256(stderr),
 *                           files: [[path, sha256(data)] sorted by path], deleted: [sorted] }) )
 *
 * where a directory or symlink entry of `files` is [path, sha256(data), kind] (a symlink's data
 * is its target), so a result of regular files alone digests as it always has.
 *
 * This module imports nothing but @noble/hashes, so sandbox workers and browsers can load it
 * alone (`@lode/protocol/result`) without zod or viem; Node callers may pass node:crypto's
 * sha256, which is about twice as fast on the hot path's tiny inputs.
 */
import { sha256 } from '@noble/hashes/sha2';
import { bytesToHex } from '@noble/hashes/utils';

export interface ResultContent {
  exitCode: number | null;
  stdout: Uint8Array;
  stderr: Uint8Array;
  files: ReadonlyArray<{ path: string; data: Uint8Array; kind?: 'dir' | 'symlink' }>;
  deleted?: ReadonlyArray<string>;
}

/** Most entries a result may list in `files`, and in `deleted` (LIMITS.maxOutputFiles). */
export const MAX_RESULT_ENTRIES = 10_000;

/** sha256 as 64 lowercase hex digits, of bytes or of a string's UTF-8. */
export type Sha256Fn = (data: Uint8Array | string) => string;

const encoder = new TextEncoder();
/** The portable sha256 (@noble/hashes). */
export const portableSha256Hex: Sha256Fn = (data) => bytesToHex(sha256(typeof data === 'string' ? encoder.encode(data) : data));

const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

export function resultDigest(r: ResultContent, hash: Sha256Fn = portableSha256Hex): string {
  const h = (b: Uint8Array) => (b.length === 0 ? EMPTY_SHA256 : hash(b));
  const files = r.files.map((f) => (f.kind ? [f.path, h(f.data), f.kind] : [f.path, h(f.data)])).sort((a, b) => (a[0]! < b[0]! ? -1 : a[0]! > b[0]! ? 1 : 0));
  // Keys in sorted order and no undefined members, so JSON.stringify is canonicalJson here.
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
