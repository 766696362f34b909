/**
 * A gateway of a cluster (`databaseUrl`) whose PostgreSQL server stops taking its connections:
 * `/healthz` says so (503, with the reason) while the server is away, and the gateway rejoins —
 * healthy again, serving — when it comes back. A real server: connections to the test database
 * are refused (ALLOW_CONNECTIONS false) and the open ones terminated, then allowed again.
 */
import pg from 'pg';
import { afterEach, expect, it } from 'vitest';
import { type GatewayHandle, startGateway, testGatewayOptions } from '../src/index.js';
import { describePostgres, getTestDatabaseUrl } from './support/postgres.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let gw: GatewayHandle | undefined;
let dir: string | undefined;
afterEach(async () => {
  await gw?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function admin(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: getTestDatabaseUrl() });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

async function health(url: string): Promise<{ status: number; body: { ok: boolean; problem?: string } }> {
  const r = await fetch(`${url}/healthz`);
  return { status: r.status, body: (await r.json()) as { ok: boolean; problem?: string } };
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describePostgres('a cluster gateway whose database goes away', (db) => {
  it('answers /healthz 503 with the reason while the server refuses it, and is healthy again when it returns', async () => {
    dir = mkdtempSync(join(tmpdir(), 'lode-cluster-'));
    gw = await startGateway(testGatewayOptions({ dataDir: dir, databaseUrl: db.url(), clusterLeaseMs: 1500 }));
    expect(await health(gw.url)).toMatchObject({ status: 200, body: { ok: true } });
    const name = new URL(db.url()).pathname.slice(1);
    await admin(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`);
    try {
      await admin(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${name}' AND pid <> pg_backend_pid()`);
      const down = await until('/healthz 503', async () => {
        const h = await health(gw!.url);
        return h.status === 503 ? h : undefined;
      });
      expect(down.body.ok).toBe(false);
      expect(down.body.problem).toMatch(/database is unreachable/);
    } finally {
      await admin(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`);
    }
    await until('/healthz 200 again', async () => ((await health(gw!.url)).status === 200 ? true : undefined));
    // And it serves: its nodes list (a read of the database) answers.
    expect((await fetch(`${gw.url}/v1/nodes`)).status).toBe(200);
  });
});
