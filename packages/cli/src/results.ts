/**
 * Writing task results to disk. Result paths and symlink targets come from remote nodes, so
 * nothing is written outside the output directory: every path is checked to stay inside it, no
 * write goes through a symlink already there, and a symlink is made only when its target stays
 * inside too (after every file, so no file of the same results is written through one).
 */
import { toBase64 } from '@lode/protocol';
import type { TaskResult } from '@lode/sdk';
import { lstat, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';

/** `outDir` joined with a guest path (`/out/a.txt` → `<outDir>/out/a.txt`); undefined if it would escape. */
export function safeJoin(outDir: string, guestPath: string): string | undefined {
  const root = resolve(outDir);
  const target = resolve(root, `.${guestPath.startsWith('/') ? '' : '/'}${guestPath}`);
  return target.startsWith(root + sep) ? target : undefined;
}

/** True when a symlink at `linkPath` whose contents are `target` points inside `outDir` (resolved by its text alone). */
export function linkStaysInside(outDir: string, linkPath: string, target: string): boolean {
  if (target.startsWith('/')) return false;
  const root = resolve(outDir);
  const to = resolve(dirname(linkPath), target);
  return to === root || to.startsWith(root + sep);
}

/** True when no directory between `outDir` and `path` is a symlink (so writing there stays inside). */
async function noLinkOnTheWay(outDir: string, path: string): Promise<boolean> {
  const root = resolve(outDir);
  let at = root;
  for (const part of relative(root, dirname(path)).split(sep).filter(Boolean)) {
    at = join(at, part);
    const info = await lstat(at).catch(() => undefined);
    if (!info) return true; // the rest is made by mkdir, as real directories
    if (!info.isDirectory()) return false; // lstat: a symlink is not a directory here
  }
  return true;
}

export interface WriteOptions {
  /** Write each task under `<outDir>/<index>/` with its stdout and stderr; otherwise files go straight under outDir. */
  perTask: boolean;
  /** Skip files whose bytes equal these (path → sha256): inputs the task did not change. */
  unchanged?: (path: string, data: Uint8Array) => boolean;
}

/**
 * Writes results — files, the empty directories and the symlinks the tasks left — and resolves
 * to the paths written. Unsafe entries are skipped and reported in `skipped` with the reason.
 */
export async function writeResults(outDir: string, results: readonly TaskResult[], options: WriteOptions): Promise<{ written: string[]; skipped: string[] }> {
  const written: string[] = [];
  const skipped: string[] = [];
  const links: { path: string; target: string; guest: string }[] = [];
  const put = async (path: string, data: Uint8Array) => {
    await mkdir(dirname(path), { recursive: true });
    // A link or directory a previous run left there is replaced, never written through.
    if ((await lstat(path).catch(() => undefined))?.isSymbolicLink()) await rm(path);
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
      if (!f.kind && options.unchanged?.(f.path, f.data)) continue;
      const target = safeJoin(dir, f.path);
      if (!target || !(await noLinkOnTheWay(outDir, target))) {
        skipped.push(`${f.path} (outside ${outDir})`);
      } else if (f.kind === 'symlink') {
        links.push({ path: target, target: new TextDecoder().decode(f.data), guest: f.path });
      } else if (f.kind === 'dir') {
        await mkdir(target, { recursive: true });
        written.push(target);
      } else {
        await put(target, f.data);
      }
    }
  }
  for (const l of links) {
    if (!linkStaysInside(outDir, l.path, l.target) || !(await noLinkOnTheWay(outDir, l.path))) {
      skipped.push(`${l.guest} (a symlink to ${l.target}, outside ${outDir})`);
      continue;
    }
    await mkdir(dirname(l.path), { recursive: true });
    const there = await lstat(l.path).catch(() => undefined);
    if (there && !there.isDirectory()) await rm(l.path);
    await symlink(l.target, l.path);
    written.push(l.path);
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
    files: r.files.map((f) =>
      f.kind === 'symlink'
        ? { path: f.path, kind: f.kind, target: new TextDecoder().decode(f.data) }
        : f.kind === 'dir'
          ? { path: f.path, kind: f.kind }
          : { path: f.path, size: f.data.byteLength },
    ),
    deleted: r.deleted,
  };
}
