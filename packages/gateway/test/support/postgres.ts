/**
 * A real PostgreSQL server for integration tests.
 *
 * `LODE_TEST_DATABASE_URL` points at a server where the role may CREATE DATABASE (`.ci/run`
 * sets it up). Each test file that calls {@link describePostgres} gets a fresh database,
 * `lode_test_<random>`, dropped afterwards. Without the variable, the tests are skipped
 * loudly — except in CI (`CI=true`), where they fail: a skipped server suite must never pass CI.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { describe, it, beforeAll, afterAll } from 'vitest';

export const TEST_DATABASE_ENV = 'LODE_TEST_DATABASE_URL';

const HOW_TO_START =
  `${TEST_DATABASE_ENV} is not set, so the PostgreSQL server tests cannot run. ` +
  `Run .ci/run (installs and starts Debian's postgresql, creates role lode/lode), or start a server yourself and ` +
  `export ${TEST_DATABASE_ENV}=postgres://lode:lode@127.0.0.1:5432/postgres (a role allowed to CREATE DATABASE).`;

/** The admin URL of the test server, or undefined when none is configured. */
export function getTestDatabaseUrl(): string | undefined {
  return process.env[TEST_DATABASE_ENV] || undefined;
}

export interface TestDatabase {
  /** URL of the fresh database. */
  url: string;
  name: string;
  /** Drops the database, closing any connections left open. */
  drop(): Promise<void>;
}

/** Creates `lode_test_<random>` on the server behind `adminUrl`. */
export async function createTestDatabase(adminUrl: string): Promise<TestDatabase> {
  const name = `lode_test_${randomBytes(6).toString('hex')}`;
  await admin(adminUrl, `CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: () => admin(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

async function admin(adminUrl: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

/**
 * `describe` for tests that need a PostgreSQL server: a fresh database is created before the
 * block and dropped after it; `db.url()` gives its URL inside tests and hooks.
 */
export function describePostgres(name: string, fn: (db: { url(): string }) => void): void {
  const adminUrl = getTestDatabaseUrl();
  if (!adminUrl) {
    if (process.env.CI === 'true') {
      describe(name, () => {
        it('needs a PostgreSQL server', () => {
          throw new Error(HOW_TO_START);
        });
      });
    } else {
      console.warn(`\n*** SKIPPING "${name}": ${HOW_TO_START}\n`);
      describe.skip(`${name} — SKIPPED: ${TEST_DATABASE_ENV} is not set (run .ci/run)`, () => fn({ url: () => '' }));
    }
    return;
  }
  describe(name, () => {
    let db: TestDatabase | undefined;
    beforeAll(async () => {
      db = await createTestDatabase(adminUrl);
    });
    afterAll(async () => {
      await db?.drop();
    });
    fn({
      url() {
        if (!db) throw new Error('the test database is created in beforeAll; call url() inside a test or hook');
        return db.url;
      },
    });
  });
}
