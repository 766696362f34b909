/**
 * The gateway's persistence: one Store over PostgreSQL — embedded (PGlite, in the data
 * directory) or a server (`databaseUrl`) — plus the group committer that batches hot-path writes.
 *
 * @example
 * const store = await openStore({ dataDir: './.lode' }); // PGlite in ./.lode/db, migrated
 * const results = new GroupCommitter({ write: (rows) => store.insertTaskResults(rows) });
 * await results.add(row); // resolved once the row is committed
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createPGliteExecutor, createPostgresExecutor, type SqlExecutor } from './sql.js';
import { SqlStore } from './sqlStore.js';

export type { Store, JobRecord, TaskResultRow, NodeRecord, JobQuery } from './types.js';
export { SqlStore, INSERT_CHUNK_ROWS, DEFAULT_LIST_LIMIT } from './sqlStore.js';
export { GroupCommitter, type GroupCommitterOptions, DEFAULT_INTERVAL_MS, DEFAULT_MAX_BATCH } from './groupCommit.js';
export { migrate, MIGRATIONS, type Migration } from './migrations.js';
export { StoreWriteError, StoreRowRejectedError, StoreClosedError, SchemaTooNewError, isRowError } from './errors.js';
export {
  createPGliteExecutor,
  createPostgresExecutor,
  type SqlExecutor,
  type SqlRunner,
  type PGliteExecutorOptions,
  type PostgresExecutorOptions,
} from './sql.js';

export interface OpenStoreOptions {
  /** The gateway's data directory; the embedded database lives in `<dataDir>/db`. */
  dataDir?: string;
  /** A PostgreSQL server (`postgres://…`); wins over `dataDir`. */
  databaseUrl?: string;
}

/**
 * Opens the store and brings its schema up to date (`init()` has run; running it again is harmless).
 * `databaseUrl` → the server; else `dataDir` → PGlite in `<dataDir>/db`, blob bytes as files in
 * `<dataDir>/blobs`; neither → PGlite in memory (tests only: nothing survives `close()`).
 */
export async function openStore(options: OpenStoreOptions = {}): Promise<SqlStore> {
  let sql: SqlExecutor;
  let blobDir: string | undefined;
  if (options.databaseUrl) {
    sql = createPostgresExecutor({ url: options.databaseUrl });
  } else if (options.dataDir) {
    const dir = join(options.dataDir, 'db');
    await mkdir(dir, { recursive: true });
    sql = await createPGliteExecutor({ dataDir: dir });
    blobDir = join(options.dataDir, 'blobs');
  } else {
    sql = await createPGliteExecutor();
  }
  const store = new SqlStore(sql, blobDir);
  try {
    await store.init();
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}
