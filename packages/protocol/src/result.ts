/**
 * The canonical digest of a task's result. Nodes compute it, the gateway recomputes it, and
 * (with replication) replicas are compared by it, so its encoding is part of the protocol:
 *
 *   sha256( canonicalJson({ v: 1, exitCode, stdout: sha256(stdout), stderr: sha256(stderr),
 *                           files: [[path, sha256(data)] sorted by path], deleted: [sorted] }) )
 */
import { canonicalJson, sha256Hex } from './encoding.js';

export interface ResultContent {
  exitCode: number | null;
  stdout: Uint8Array;
  stderr: Uint8Array;
  files: ReadonlyArray<{ path: string; data: Uint8Array }>;
  deleted?: ReadonlyArray<string>;
}

export function resultDigest(r: ResultContent): string {
  const files = [...r.files]
    .map((f) => [f.path, sha256Hex(f.data)] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return sha256Hex(
    canonicalJson({
      v: 1,
      exitCode: r.exitCode,
      stdout: sha256Hex(r.stdout),
      stderr: sha256Hex(r.stderr),
      files,
      deleted: [...(r.deleted ?? [])].sort(),
    }),
  );
}
