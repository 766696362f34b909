import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it, expect } from 'vitest';
import { describePostgres } from '../../test/support/postgres.js';
import { describeStoreSuite } from './store.suite.js';
import { openStore } from './index.js';
import { createPostgresExecutor } from './sql.js';
import { migrate, MIGRATIONS } from './migrations.js';
import { SchemaTooNewError } from './errors.js';

describeStoreSuite('PGlite in a data directory', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'lode-store-'));
  return {
    open: () => openStore({ dataDir }),
    destroy: () => rm(dataDir, { recursive: true, force: true }),
  };
});

describePostgres('PostgreSQL server', (db) => {
  describeStoreSuite('PostgreSQL server', async () => ({
    open: () => openStore({ databaseUrl: db.url() }),
    destroy: async () => {}, // describePostgres drops the database
  }));

  it('several gateways migrating one database at once apply each migration once', async () => {
    const executors = Array.from({ length: 4 }, () => createPostgresExecutor({ url: db.url() }));
    try {
      const applied = await Promise.all(executors.map((e) => migrate(e)));
      expect(applied.flat()).toEqual([]); // the suite above already migrated this database
      const rows = await executors[0].query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
      expect(rows.map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
    } finally {
      await Promise.all(executors.map((e) => e.close()));
    }
  });

  it('refuses a database migrated by a newer Lode', async () => {
    const sql = createPostgresExecutor({ url: db.url() });
    try {
      await expect(migrate(sql, MIGRATIONS.slice(0, 0))).rejects.toBeInstanceOf(SchemaTooNewError);
    } finally {
      await sql.close();
    }
  });
});
