/**
 * Tasks for an arbitrary module from `lode run` flags: `--tasks N` copies, or one task per
 * `--input FILE` (the file is the task's stdin), each with the same args, env and `--dir` files.
 */
import { GuestPath, LIMITS, toBase64, type TaskInputInit } from '@lode/protocol';
import { putBlob, type LodeClient } from '@lode/sdk';
import { readdir, readFile, stat } from 'node:fs/promises';
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
  const files: { path: string; blob: string }[] = [];
  const mounts: { guest: string; writable: boolean }[] = [];
  for (const { host, guest } of dirs) {
    for (const file of await listFiles(host)) {
      const path = `${guest}/${relative(host, file).split(sep).join('/')}`;
      const { sha256 } = await putBlob(client, { data: await readFile(file) });
      files.push({ path, blob: sha256 });
      placed.set(path, sha256);
    }
    // /in and /out always exist (read-only and writable); anything else is mounted writable.
    if (guest !== '/in' && guest !== '/out') mounts.push({ guest, writable: true });
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

/**
 * `--dir` in wasmtime's forms: `HOST::GUEST`, or `HOST` alone for the same path in the guest (a
 * relative HOST is placed under the root: `--dir data` → `/data`). A mount at the guest root
 * itself (`HOST::/`, `--dir .`) is not offered yet: it says so and what to give instead.
 */
export function parseDir(spec: string): { host: string; guest: string } {
  const at = spec.lastIndexOf('::');
  const host = at >= 0 ? spec.slice(0, at) : spec;
  const given = at >= 0 ? spec.slice(at + 2) : `/${spec.replace(/^(\.\/)+/, '')}`;
  const guest = given.replace(/\/+$/, '').replace(/\/{2,}/g, '/');
  if (host && (guest === '' || guest === '/.' || guest === '/')) {
    throw new UsageError(
      `--dir "${spec}" mounts at the guest's root (/), which Lode does not offer yet.`,
      'Mount it at a directory instead, e.g. --dir ./data::/data (the module sees ./data at /data, writable).',
    );
  }
  if (!host || !GuestPath.safeParse(guest).success) {
    throw new UsageError(
      `--dir "${spec}" is not HOST::GUEST with an absolute guest path (or HOST alone, for the same path).`,
      'Example: --dir ./data::/data (the module sees ./data at /data, writable).',
    );
  }
  return { host, guest };
}

/** Every regular file under `dir`, sorted, following no symlinks. */
async function listFiles(dir: string): Promise<string[]> {
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) throw new UsageError(`--dir: ${dir} is not a directory.`);
  const out: string[] = [];
  const walk = async (d: string) => {
    for (const entry of await readdir(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile()) out.push(path);
    }
  };
  await walk(dir);
  return out.sort();
}
