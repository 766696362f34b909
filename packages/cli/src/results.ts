/**
 * Writing task results to disk. Result paths come from remote nodes, so every path is checked
 * to stay inside the output directory before anything is written.
 */
import { toBase64 } from '@lode/protocol';
import type { TaskResult } from '@lode/sdk';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';

/** `outDir` joined with a guest path (`/out/a.txt` → `<outDir>/out/a.txt`); undefined if it would escape. */
export function safeJoin(outDir: string, guestPath: string): string | undefined {
  const root = resolve(outDir);
  const target = resolve(root, `.${guestPath.startsWith('/') ? '' : '/'}${guestPath}`);
  return target.startsWith(root + sep) ? target : undefined;
}

export interface WriteOptions {
  /** Write each task under `<outDir>/<index>/` with its stdout and stderr; otherwise files go straight under outDir. */
  perTask: boolean;
  /** Skip files whose bytes equal these (path → sha256): inputs the task did not change. */
  unchanged?: (path: string, data: Uint8Array) => boolean;
}

/** Writes results; resolves to the paths written. Unsafe paths are skipped and reported in `skipped`. */
export async function writeResults(outDir: string, results: readonly TaskResult[], options: WriteOptions): Promise<{ written: string[]; skipped: string[] }> {
  const written: string[] = [];
  const skipped: string[] = [];
  const put = async (path: string, data: Uint8Array) => {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, data);
    written.push(path);
  };
  for (const r of results) {
    const dir = options.perTask ? join(outDir, String(r.index)) : outDir;
    if (options.perTask) {
      await put(join(dir, 'stdout'), r.stdout);
      if (r.stderr.length > 0) await put(join(dir, 'stderr'), r.stderr);
    }
    for (const f of r.files) {
      if (options.unchanged?.(f.path, f.data)) continue;
      const target = safeJoin(dir, f.path);
      if (target) await put(target, f.data);
      else skipped.push(f.path);
    }
  }
  return { written, skipped };
}

/** Strict: invalid UTF-8 throws instead of becoming U+FFFD; a leading BOM is kept as a byte of the text. */
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Output bytes for JSON without losing any: `{ text }` when they are valid UTF-8, otherwise
 * `{ text: base64, encoding: 'base64' }`.
 */
export function encodeOutput(bytes: Uint8Array): { text: string; encoding?: 'base64' } {
  try {
    return { text: strictUtf8.decode(bytes) };
  } catch {
    return { text: toBase64(bytes), encoding: 'base64' };
  }
}

/**
 * A result as JSON for `--json`: stdout and stderr as text when they are valid UTF-8, else as
 * base64 with `stdoutEncoding: "base64"` (`stderrEncoding`); files by path and size.
 */
export function resultJson(r: TaskResult) {
  const stdout = encodeOutput(r.stdout);
  const stderr = encodeOutput(r.stderr);
  return {
    index: r.index,
    status: r.status,
    exitCode: r.exitCode,
    error: r.error,
    node: r.node,
    stdout: stdout.text,
    ...(stdout.encoding ? { stdoutEncoding: stdout.encoding } : {}),
    stderr: stderr.text,
    ...(stderr.encoding ? { stderrEncoding: stderr.encoding } : {}),
    files: r.files.map((f) => ({ path: f.path, size: f.data.byteLength })),
    deleted: r.deleted,
  };
}
