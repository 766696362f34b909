/**
 * Benchmark: result rows through `insertTaskResults` on PGlite (in a temp data directory) and,
 * when `LODE_TEST_DATABASE_URL` is set, on a PostgreSQL server (in a scratch database).
 *
 *   LODE_TEST_DATABASE_URL=postgres://lode:lode@127.0.0.1:5432/postgres \
 *     npx vite-node packages/gateway/src/store/bench.ts [rows]
 *
 * Prints figures; asserts nothing.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openStore, type SqlStore } from './index.js';
import { GroupCommitter } from './groupCommit.js';
import type { TaskResultRow } from './types.js';

const ROWS = Number(process.argv[2] ?? 10_000);
const REPS = 3;

function rows(jobId: string, n: number): TaskResultRow[] {
  return Array.from({ length: n }, (_, index) => ({
    jobId,
    index,
    status: 'done',
    exitCode: 0,
    stdout: new TextEncoder().encode(`task ${index}: 3.14159265358979\n`),
    stderr: new Uint8Array(),
    files: [{ path: '/out/result.txt', data: randomBytes(64) }],
    deleted: [],
    resultHash: randomBytes(32).toString('hex'),
    node: `0x${randomBytes(20).toString('hex')}`,
    attempts: 1,
    error: null,
    finishedAt: Date.now(),
  }));
}

async function time(fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function bench(label: string, store: SqlStore): Promise<void> {
  await store.insertTaskResults(rows('warmup', 100));
  const oneCall: number[] = [];
  const committed: number[] = [];
  const single: number[] = [];
  for (let r = 0; r < REPS; r++) {
    const batch = rows(`one_${r}_${randomBytes(4).toString('hex')}`, ROWS);
    oneCall.push(await time(() => store.insertTaskResults(batch)));

    const items = rows(`gc_${r}_${randomBytes(4).toString('hex')}`, ROWS);
    const gc = new GroupCommitter<TaskResultRow>({ write: (b) => store.insertTaskResults(b) });
    committed.push(await time(async () => void (await Promise.all(items.map((i) => gc.add(i))))));

    const few = rows(`single_${r}_${randomBytes(4).toString('hex')}`, 1_000);
    single.push(
      (await time(async () => {
        for (const row of few) await store.insertTaskResults([row]);
      })) *
        (ROWS / 1_000),
    );
  }
  const fmt = (ms: number) => `${ms.toFixed(0).padStart(6)} ms  (${Math.round((ROWS / ms) * 1000).toLocaleString('en-US')} rows/s)`;
  console.log(`${label}: ${ROWS.toLocaleString('en-US')} rows, median of ${REPS}`);
  console.log(`  one insertTaskResults call      ${fmt(median(oneCall))}`);
  console.log(`  GroupCommitter, ${ROWS} adds      ${fmt(median(committed))}`);
  console.log(`  one row per call (extrapolated) ${fmt(median(single))}`);
}

const dir = await mkdtemp(join(tmpdir(), 'lode-bench-'));
try {
  const store = await openStore({ dataDir: dir });
  await bench('PGlite (data directory)', store);
  await store.close();
} finally {
  await rm(dir, { recursive: true, force: true });
}

const adminUrl = process.env.LODE_TEST_DATABASE_URL;
if (adminUrl) {
  const name = `lode_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  try {
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    const store = await openStore({ databaseUrl: url.toString() });
    await bench('PostgreSQL server', store);
    await store.close();
  } finally {
    await admin.query(`DROP DATABASE ${name} WITH (FORCE)`);
    await admin.end();
  }
} else {
  console.log('PostgreSQL server: skipped (set LODE_TEST_DATABASE_URL)');
}
