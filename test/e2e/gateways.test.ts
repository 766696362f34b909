/**
 * Two gateways on one PostgreSQL server (`lode gateway --database-url`, sharing one identity),
 * each with its own node, real processes on real sockets. A job submitted to the first runs
 * there; the first is SIGKILLed mid-job; the second takes the job over (cluster/ownership.ts)
 * and finishes it with its node: every task has exactly one result row, every result is right
 * (checked against a sieve), and the requester follows the job on the survivor.
 * Needs LODE_TEST_DATABASE_URL (set by .ci/run); required, not skipped, when CI=true.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterEach, expect, it } from 'vitest';
import { createLodeClient, getJob, getResults, listNodes, putBlob, submitJob, watchJob } from '@lode/sdk';
import { describePostgres } from '../../packages/gateway/test/support/postgres.js';
import { assertNoUnhandledRejections, freePort, lode, waitFor, type Proc } from '../support/cluster.js';
import { checkPrimes, primeTasks, workloadBytes } from '../support/requester.js';

const procs: Proc[] = [];
let dir: string | undefined;
afterEach(async () => {
  for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
  await Promise.all(procs.map((p) => (p.child.exitCode === null ? p.exited : undefined)));
  assertNoUnhandledRejections(procs);
  procs.length = 0;
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function gateway(dataDir: string, databaseUrl: string): Promise<string> {
  const port = await freePort();
  const p = lode(['gateway', '--port', String(port), '--data-dir', dataDir, '--database-url', databaseUrl, '--ledger', 'off', '--cluster-lease-ms', '3000']);
  procs.push(p);
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`gateway on ${port}`, async () => (await fetch(`${url}/healthz`).catch(() => undefined))?.ok, 60_000);
  return url;
}

function node(gatewayUrl: string, dataDir: string): void {
  procs.push(lode(['node', '--gateway', gatewayUrl.replace('http', 'ws') + '/v1/nodes/ws', '--data-dir', dataDir, '--slots', '1']));
}

describePostgres('two gateways on one PostgreSQL server', (db) => {
  it('a job on a gateway killed mid-job is taken over by the other and finishes, each task once', async () => {
    dir = mkdtempSync(join(tmpdir(), 'lode-gateways-'));
    const a = await gateway(join(dir, 'a'), db.url());
    // One identity for the cluster: the second gateway gets the first one's key and session secret.
    cpSync(join(dir, 'a', 'gateway'), join(dir, 'b', 'gateway'), { recursive: true });
    const b = await gateway(join(dir, 'b'), db.url());
    node(a, join(dir, 'node-a'));
    node(b, join(dir, 'node-b'));
    const account = privateKeyToAccount(generatePrivateKey());
    const onA = createLodeClient({ gateway: a, account });
    const onB = createLodeClient({ gateway: b, account });
    await waitFor('a node on each gateway', async () => (await listNodes(onA)).some((n) => n.online) && (await listNodes(onB)).some((n) => n.online), 60_000);

    const n = 60;
    const width = 200_000;
    const { sha256 } = await putBlob(onA, { data: workloadBytes('primes') });
    const job = await submitJob(onA, { module: sha256, tasks: primeTasks(n, width), limits: { wallMs: 30_000, maxOutputBytes: 4096 } });
    await waitFor('some progress on the first gateway', async () => (await getJob(onA, { id: job.id })).counts.done >= 5, 60_000);
    // Only the first gateway's node has worked on it: the second does not run a job it does not own.
    const client = new pg.Client({ connectionString: db.url() });
    await client.connect();
    try {
      const [owner] = (await client.query('SELECT gateway, epoch FROM job_owners WHERE job_id = $1', [job.id])).rows;
      expect(owner.epoch).toBe(1);

      procs[0]!.child.kill('SIGKILL');
      await procs[0]!.exited;
      const killedAt = Date.now();
      // The survivor answers the job's reads and follows it to its end.
      const final = await watchJob(onB, { id: job.id });
      const tookMs = Date.now() - killedAt;
      expect(final.status).toBe('completed');
      expect(final.counts.done).toBe(n);
      const results = (await getResults(onB, { id: job.id })).sort((x, y) => x.index - y.index);
      checkPrimes(results, n, width);

      const [rows] = (await client.query('SELECT count(*)::int AS rows, count(DISTINCT idx)::int AS tasks FROM task_results WHERE job_id = $1', [job.id])).rows;
      expect(rows).toEqual({ rows: n, tasks: n });
      const [after] = (await client.query('SELECT gateway, epoch FROM job_owners WHERE job_id = $1', [job.id])).rows;
      expect(after.epoch).toBe(2);
      expect(after.gateway).not.toBe(owner.gateway);
      console.info(`takeover: job finished on the survivor ${tookMs} ms after the SIGKILL (lease 3 s)`);
    } finally {
      await client.end();
    }
  });
});
