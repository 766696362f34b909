/**
 * What the benchmark, the Byzantine simulation and the attack suite need to run real processes:
 * a free port, a child process of Node with its output kept, a bounded wait — and to read
 * their flags and figures (a numeric flag, a percentile).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const CLI = join(ROOT, 'packages/cli/bin/lode.js');

export async function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

/** A Node child process running `args` (a script and its arguments) with its output kept (the last 4 MB). */
export function nodeProcess(args, env = {}) {
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LODE_LOG_LEVEL: 'warn', ...env } });
  let out = '';
  const keep = (d) => {
    out += d;
    if (out.length > 4_000_000) out = out.slice(-2_000_000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
  return { child, pid: child.pid, output: () => out, exited };
}

/** A `lode` CLI process (see nodeProcess). */
export function lodeProcess(args, env = {}) {
  return nodeProcess([CLI, ...args], env);
}

/** A numeric command-line flag (`--name N`), or `fallback` when it is not given. */
export function numberArg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

/** The p-th percentile of `xs` (in any order; undefined when empty), by the nearest-rank rule. */
export function percentile(xs, p) {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Polls `fn` until it returns something truthy; errors count as "not yet"; throws after `timeoutMs`. */
export async function waitFor(what, fn, timeoutMs = 60_000, everyMs = 100) {
  const until = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * Resident memory of a process, in MiB (Linux: /proc/<pid>/status): `rss` now and `peak` (the
 * high-water mark since it started). Undefined elsewhere.
 */
export function memoryOf(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
    return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

/**
 * The PostgreSQL server a bench may create databases on (LODE_BENCH_DATABASE_URL or
 * LODE_TEST_DATABASE_URL), and one statement run on it as that role. Without one, the bench
 * says it is skipped and the process exits 0 (a bench, not a test: CI's tests have a server).
 */
export function benchDatabase(bench) {
  const url = process.env.LODE_BENCH_DATABASE_URL || process.env.LODE_TEST_DATABASE_URL;
  if (!url) {
    console.log(`${bench} bench SKIPPED: no PostgreSQL server (set LODE_BENCH_DATABASE_URL or LODE_TEST_DATABASE_URL, or run .ci/run)`);
    process.exit(0);
  }
  return {
    url,
    async admin(sql) {
      const { default: pg } = await import('pg');
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        await c.query(sql);
      } finally {
        await c.end();
      }
    },
  };
}
