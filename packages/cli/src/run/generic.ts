/**
 * Tasks for an arbitrary module from `lode run` flags: `--tasks N` copies, or one task per
 * `--input FILE` (the file is the task's stdin), each with the same args, env and `--dir` files.
 */
import { GuestPath, LIMITS, toBase64, type TaskInputInit, type TreeEntry } from '@lode/protocol';
import { putBlob, type LodeClient } from '@lode/sdk';
import { readdir, readFile, readlink, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { UsageError } from '../errors.js';

export interface GenericFlags {
  tasks?: number;
  input: string[];
  env: string[];
  dir: string[];
  args: string[];
}

export interface GenericPlan {
  tasks: TaskInputInit[];
  /** Guest path → sha256 of every file placed by --dir, to tell changed outputs from inputs. */
  placed: Map<string, string>;
}

export async function planGenericTasks(client: LodeClient, flags: GenericFlags): Promise<GenericPlan> {
  const env = parseEnv(flags.env);
  const dirs = flags.dir.map(parseDir);
  if (flags.input.length > 0 && flags.tasks !== undefined && flags.tasks !== flags.input.length) {
    throw new UsageError(
      `--tasks ${flags.tasks} does not match the ${flags.input.length} --input file(s): each input file is one task.`,
      'Drop --tasks, or pass that many --input files.',
    );
  }
  const placed = new Map<string, string>();
  const files: TreeEntry[] = [];
  const mounts: { guest: string; writable: boolean }[] = [];
  for (const { host, guest } of dirs) {
    for (const entry of await listTree(host)) {
      const path = `${guest === '/' ? '' : guest}/${relative(host, entry.path).split(sep).join('/')}`;
      if (entry.kind === 'file') {
        const { sha256 } = await putBlob(client, { data: await readFile(entry.path) });
        files.push({ path, blob: sha256 });
        placed.set(path, sha256);
      } else {
        files.push(entry.kind === 'dir' ? { path, kind: 'dir' } : { path, kind: 'symlink', target: entry.target });
      }
    }
    // /in and /out always exist (read-only and writable); anything else is mounted writable.
    if (guest !== '/in' && guest !== '/out') mounts.push({ guest, writable: true });
  }
  if (files.length > MAX_ENTRIES) {
    throw new UsageError(
      `--dir holds ${files.length} entries (files, symlinks, empty directories); a task takes at most ${MAX_ENTRIES}.`,
      'Pack small files into an archive the module unpacks, or mount fewer directories.',
    );
  }
  const base = { args: flags.args, env, files, mounts };
  if (flags.input.length === 0) return { tasks: Array.from({ length: flags.tasks ?? 1 }, () => ({ ...base })), placed };
  const tasks: TaskInputInit[] = [];
  for (const file of flags.input) tasks.push({ ...base, ...(await stdinOf(client, file)) });
  return { tasks, placed };
}

/** A file as a task's stdin: inline up to 64 KiB, a blob beyond. */
async function stdinOf(client: LodeClient, file: string): Promise<Pick<TaskInputInit, 'stdin' | 'stdinBlob'>> {
  const data = await readFile(file).catch((err: NodeJS.ErrnoException) => {
    throw new UsageError(`Cannot read --input ${file}: ${err.code ?? err.message}.`);
  });
  if (data.byteLength <= LIMITS.maxInlineStdinBytes) return { stdin: toBase64(data) };
  return { stdinBlob: (await putBlob(client, { data })).sha256 };
}

function parseEnv(pairs: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--env "${pair}" is not KEY=VALUE.`, 'Example: --env MODE=fast');
    env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return env;
}

const MAX_ENTRIES = 10_000;

/**
 * `--dir` in wasmtime's forms: `HOST::GUEST`, `HOST::/` (the guest's root; /in and /out stay
 * their own mounts beside it), or `HOST` alone for the same path in the guest (a relative HOST is
 * placed under the root: `--dir data` → `/data`, `--dir .` → `/`).
 */
export function parseDir(spec: string): { host: string; guest: string } {
  const at = spec.lastIndexOf('::');
  const host = at >= 0 ? spec.slice(0, at) : spec;
  const given = at >= 0 ? spec.slice(at + 2) : `/${spec.replace(/^(\.\/)+/, '')}`;
  const guest =
    given
      .replace(/\/{2,}/g, '/')
      .replace(/(\/\.)+$/, '')
      .replace(/(.)\/+$/, '$1') || '/';
  if (host && given !== '' && guest === '/') return { host, guest };
  if (!host || !GuestPath.safeParse(guest).success) {
    throw new UsageError(
      `--dir "${spec}" is not HOST::GUEST with an absolute guest path (or HOST alone, for the same path).`,
      'Example: --dir ./data::/data (the module sees ./data at /data, writable).',
    );
  }
  return { host, guest };
}

type HostEntry = { path: string; kind: 'file' } | { path: string; kind: 'dir' } | { path: string; kind: 'symlink'; target: string };

/**
 * The tree under `dir`, sorted: regular files, empty directories (a full one is implied by what
 * it holds), and symlinks as symlinks (their text, never followed on the host). Sockets, FIFOs
 * and devices are left out: a task's filesystem holds none.
 */
async function listTree(dir: string): Promise<HostEntry[]> {
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) throw new UsageError(`--dir: ${dir} is not a directory.`);
  const out: HostEntry[] = [];
  const walk = async (d: string) => {
    const entries = await readdir(d, { withFileTypes: true });
    if (entries.length === 0 && d !== dir) out.push({ path: d, kind: 'dir' });
    for (const entry of entries) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile()) out.push({ path, kind: 'file' });
      else if (entry.isSymbolicLink()) out.push({ path, kind: 'symlink', target: await readlink(path) });
    }
  };
  await walk(dir);
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
