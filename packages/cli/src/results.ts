/**
 * Writing task results to disk. Result paths come from remote nodes, so every path is checked
 * to stay inside the output directory before anything is written.
 */
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

const decoder = new TextDecoder();

/** A result as JSON for `--json`: text decoded as UTF-8, files by path and size. */
export function resultJson(r: TaskResult) {
  return {
    index: r.index,
    status: r.status,
    exitCode: r.exitCode,
    error: r.error,
    node: r.node,
    stdout: decoder.decode(r.stdout),
    stderr: decoder.decode(r.stderr),
    files: r.files.map((f) => ({ path: f.path, size: f.data.byteLength })),
    deleted: r.deleted,
  };
}
