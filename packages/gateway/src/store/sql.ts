/**
 * A tiny SQL executor with two drivers — PGlite (embedded, in-process) and a `pg.Pool`
 * (a PostgreSQL server) — so that one Store implementation runs on both.
 *
 * Both drivers take `$1`-style parameters and speak the same PostgreSQL dialect. What the
 * drivers return differs by type, so callers follow three rules that work on both:
 * - pass `bytea` as `Uint8Array` (or `Buffer`) and read it back through {@link bytes};
 * - pass `jsonb` as `JSON.stringify(value)` (pg would send a JS array as a PostgreSQL array);
 *   both drivers parse `jsonb` columns into values;
 * - read `int8`/`bigint` columns through {@link num} (PGlite returns numbers, pg strings).
 */
import { PGlite, types, type Transaction as PGliteTransaction } from '@electric-sql/pglite';
import pg from 'pg';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Runs statements. Implemented by a whole database and by an open transaction. */
export interface SqlRunner {
  /** One statement with `$n` parameters; resolves to its rows. */
  query<T = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<T[]>;
  /** A script of several statements without parameters (migrations). */
  exec(script: string): Promise<void>;
}

export interface SqlExecutor extends SqlRunner {
  /**
   * Runs `fn` in one transaction on one connection: committed when `fn` resolves, rolled back
   * when it throws (the error is rethrown). Transactions do not nest.
   */
  transaction<T>(fn: (tx: SqlRunner) => Promise<T>): Promise<T>;
  /** Closes the database or the pool. Idempotent. */
  close(): Promise<void>;
  /** Which driver this is, for logs and benchmarks. */
  readonly kind: 'pglite' | 'postgres';
  /**
   * Subscribes to a NOTIFY channel (on a connection of its own, on a server); resolves once
   * listening, with a function that stops. `onLost` is called once if that connection drops:
   * notifications may have been missed, and the caller subscribes again when it likes.
   */
  listen(channel: string, onNotify: (payload: string) => void, onLost: (err: Error) => void): Promise<() => Promise<void>>;
  /**
   * Round trips to the database so far: every statement, and BEGIN and COMMIT (or ROLLBACK) of
   * each transaction (`lode_db_statements_total` on /metrics; what a server's capacity is spent on).
   */
  readonly stats: { statements: number; transactions: number };
}

/** An `int8`/`numeric` column as a number (ms timestamps and counters fit in 2^53). */
export function num(value: unknown): number {
  return typeof value === 'number' ? value : Number(value);
}

/** A nullable `int8` column as a number or null. */
export function numOrNull(value: unknown): number | null {
  return value === null || value === undefined ? null : num(value);
}

/** A `bytea` column as a plain `Uint8Array` (pg's `Buffer` is viewed, not copied). */
export function bytes(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) {
    return value.constructor === Uint8Array ? value : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  }
  throw new TypeError(`expected bytea, got ${typeof value}`);
}

export interface PGliteExecutorOptions {
  /** A directory to persist to; omitted (or `memory://`) keeps the database in memory. */
  dataDir?: string;
}

/**
 * Postgres's start parameters for the embedded database. Shared buffers of 16 MB, not Postgres's
 * default 128 MB: they live in PGlite's WebAssembly memory, which never shrinks, and the
 * gateway's working set is far smaller (docs/benchmarks.md, footprint).
 */
export const PGLITE_START_PARAMS = [...PGlite.defaultStartParams, '-c', 'shared_buffers=16MB'];

/**
 * Creates the database cluster in `dataDir` in a short-lived child process when there is none
 * yet. Creating one (initdb) builds a second PGlite and copies the cluster through memory: ~450
 * MiB that this process would keep for minutes (an idle process collects nothing), so a first
 * start held ~800 MiB where a restart holds ~250. In a child, that memory goes with it.
 */
async function createCluster(dataDir: string): Promise<void> {
  if (existsSync(join(dataDir, 'PG_VERSION'))) return;
  const script = import.meta.url.endsWith('.js')
    ? fileURLToPath(new URL('./initdb.js', import.meta.url))
    : fileURLToPath(new URL('../../dist/store/initdb.js', import.meta.url)); // under vitest: the built script
  if (!existsSync(script)) throw new Error(`@lode/gateway: ${script} is missing; build first (npx tsc -b packages/gateway).`);
  const child = spawn(process.execPath, [script, dataDir], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    if (stderr.length < 8192) stderr += d.toString('utf8');
  });
  const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  if (code !== 0) {
    throw new Error(
      `Could not create the embedded database in ${dataDir} (initdb exited with ${code ?? signal}): ${stderr.trim().slice(-2000) || 'no output'}`,
    );
  }
}

/** An executor over an embedded PGlite database. PGlite runs one statement at a time; calls queue. */
export async function createPGliteExecutor(options: PGliteExecutorOptions = {}): Promise<SqlExecutor> {
  if (options.dataDir && !options.dataDir.startsWith('memory://')) await createCluster(options.dataDir);
  const db = await PGlite.create({
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    startParams: PGLITE_START_PARAMS,
    // PGlite's own bytea codecs go byte by byte in JavaScript (~10x slower); Buffer's hex is native.
    serializers: { [types.BYTEA]: (v: Uint8Array) => `\\x${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex')}` },
    parsers: { [types.BYTEA]: (s: string) => bytes(Buffer.from(s.slice(2), 'hex')) },
  });
  const stats = { statements: 0, transactions: 0 };
  const runner = (q: PGlite | PGliteTransaction): SqlRunner => ({
    async query<T>(text: string, params: readonly unknown[] = []) {
      stats.statements++;
      return (await q.query<T>(text, params as unknown[])).rows;
    },
    async exec(script: string) {
      stats.statements++;
      await q.exec(script);
    },
  });
  return {
    kind: 'pglite',
    stats,
    ...runner(db),
    transaction: (fn) => {
      stats.transactions++;
      stats.statements += 2;
      return db.transaction((tx) => fn(runner(tx)));
    },
    async listen(channel, onNotify) {
      const unsubscribe = await db.listen(checkChannel(channel), onNotify);
      return async () => {
        if (!db.closed) await unsubscribe();
      };
    },
    async close() {
      if (!db.closed) await db.close();
    },
  };
}

/** A channel name is spliced into LISTEN: lower-case letters and underscores only. */
function checkChannel(channel: string): string {
  if (!/^[a-z_]{1,63}$/.test(channel)) throw new Error(`bad NOTIFY channel name: ${channel}`);
  return channel;
}

export interface PostgresExecutorOptions {
  /** `postgres://user:password@host:port/database` */
  url: string;
  /** @default 10 */
  maxConnections?: number;
}

/** An executor over a PostgreSQL server through a connection pool. */
export function createPostgresExecutor(options: PostgresExecutorOptions): SqlExecutor {
  const pool = new pg.Pool({ connectionString: options.url, max: options.maxConnections ?? 10 });
  // An idle client that loses its connection emits 'error' on the pool; without a listener
  // that would crash the process. The next query simply gets a fresh connection.
  pool.on('error', () => {});
  const stats = { statements: 0, transactions: 0 };
  const runner = (q: pg.Pool | pg.PoolClient): SqlRunner => ({
    async query<T>(text: string, params: readonly unknown[] = []) {
      stats.statements++;
      return (await q.query(text, params as unknown[])).rows as T[];
    },
    async exec(script: string) {
      stats.statements++;
      await q.query(script);
    },
  });
  let closed = false;
  /** The connections of `listen`, ended with the pool. */
  const listeners = new Set<pg.Client>();
  return {
    kind: 'postgres',
    stats,
    ...runner(pool),
    async transaction(fn) {
      stats.transactions++;
      stats.statements += 2;
      const client = await pool.connect();
      let broken: unknown;
      try {
        await client.query('BEGIN');
        const result = await fn(runner(client));
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch((rollbackErr: unknown) => (broken = rollbackErr));
        throw err;
      } finally {
        // A connection whose rollback failed is in an unknown state: destroy it.
        client.release(broken instanceof Error ? broken : undefined);
      }
    },
    async listen(channel, onNotify, onLost) {
      const client = new pg.Client({ connectionString: options.url });
      let lost = false;
      const lose = (err: Error) => {
        if (lost) return;
        lost = true;
        listeners.delete(client);
        client.end().catch(() => {});
        onLost(err);
      };
      client.on('error', lose);
      client.on('end', () => lose(new Error('the LISTEN connection ended')));
      client.on('notification', (m) => {
        if (m.channel === channel) onNotify(m.payload ?? '');
      });
      try {
        await client.connect();
        await client.query(`LISTEN ${checkChannel(channel)}`);
      } catch (err) {
        lost = true;
        await client.end().catch(() => {});
        throw err;
      }
      listeners.add(client);
      return async () => {
        lost = true;
        listeners.delete(client);
        await client.end().catch(() => {});
      };
    },
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all([...listeners].map((c) => c.end().catch(() => {})));
      listeners.clear();
      await pool.end();
    },
  };
}
