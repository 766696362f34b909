/**
 * Two gateways on one PostgreSQL server (`lode gateway --database-url`, sharing one identity),
 * real processes on real sockets: a node that lists both (`lode node --gateway A,B`, it picks one
 * at random) and a node that knows only B. A job submitted to the gateway the listing node chose
 * runs there; that gateway is SIGKILLed mid-job; the other takes the job over
 * (cluster/ownership.ts) and finishes it: every task has exactly one result row, every result is
 * right (checked against a sieve), the requester (a client of both gateways) follows the job on
 * through the survivor, and the listing node ends up serving the survivor. And work flows to where
 * nodes are: a job submitted to a gateway without nodes runs on nodes its idle peer sends it
 * (cluster/rebalance.ts), while a requester follows it through the peer.
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

async function gateway(dataDir: string, databaseUrl: string, port?: number): Promise<string> {
  port ??= await freePort();
  const p = lode(['gateway', '--port', String(port), '--data-dir', dataDir, '--database-url', databaseUrl, '--ledger', 'off', '--cluster-lease-ms', '3000']);
  procs.push(p);
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`gateway on ${port}`, async () => (await fetch(`${url}/healthz`).catch(() => undefined))?.ok, 60_000);
  return url;
}

/** `gateways`: one http:// URL, or several comma-separated (the node derives each one's socket address). */
function node(gateways: string, dataDir: string): void {
  procs.push(lode(['node', '--gateway', gateways, '--data-dir', dataDir, '--slots', '1']));
}

describePostgres('two gateways on one PostgreSQL server', (db) => {
  it('a job on a gateway killed mid-job is taken over by the other and finishes, each task once', async () => {
    dir = mkdtempSync(join(tmpdir(), 'lode-gateways-'));
    const a = await gateway(join(dir, 'a'), db.url());
    // One identity for the cluster: the second gateway gets the first one's key and session secret.
    cpSync(join(dir, 'a', 'gateway'), join(dir, 'b', 'gateway'), { recursive: true });
    const b = await gateway(join(dir, 'b'), db.url());
    // A node that lists both gateways (it picks one at random), and one that knows only the second.
    const { loadOrCreateAccount } = await import('@lode/keystore');
    const mover = (await loadOrCreateAccount(join(dir, 'node-ab'), { create: true })).account.address.toLowerCase();
    node(`${a},${b}`, join(dir, 'node-ab'));
    node(b, join(dir, 'node-b'));
    const account = privateKeyToAccount(generatePrivateKey());
    const clients = { [a]: createLodeClient({ gateway: a, account }), [b]: createLodeClient({ gateway: b, account }) };
    const onlineAt = async (url: string, address: string) => (await listNodes(clients[url]!)).some((x) => x.online && x.address.toLowerCase() === address);
    // The gateway the listing node chose is the one killed; the other survives.
    const victim = await waitFor(
      'the listing node connected',
      async () => ((await onlineAt(a, mover)) ? a : (await onlineAt(b, mover)) ? b : undefined),
      60_000,
    );
    const survivor = victim === a ? b : a;
    const onVictim = clients[victim]!;
    const onSurvivor = clients[survivor]!;
    // The requester knows both gateways, the one it submits to first.
    const requester = createLodeClient({ gateway: [victim, survivor], account });

    const n = 60;
    const width = 200_000;
    const { sha256 } = await putBlob(onVictim, { data: workloadBytes('primes') });
    const job = await submitJob(requester, { module: sha256, tasks: primeTasks(n, width), limits: { wallMs: 30_000, maxOutputBytes: 4096 } });
    await waitFor('some progress on the gateway that took the job', async () => (await getJob(onVictim, { id: job.id })).counts.done >= 5, 60_000);
    const client = new pg.Client({ connectionString: db.url() });
    await client.connect();
    try {
      const [owner] = (await client.query('SELECT gateway, epoch FROM job_owners WHERE job_id = $1', [job.id])).rows;
      expect(owner.epoch).toBe(1);

      // The requester is following the job on the victim when it dies: its watch goes on at the survivor.
      const following = watchJob(requester, { id: job.id, reconnectDelayMs: 100 });
      await new Promise((r) => setTimeout(r, 200));
      const killed = procs[victim === a ? 0 : 1]!;
      killed.child.kill('SIGKILL');
      await killed.exited;
      const killedAt = Date.now();
      const final = await following;
      expect(requester.gateway).toBe(survivor);
      const tookMs = Date.now() - killedAt;
      expect(final.status).toBe('completed');
      expect(final.counts.done).toBe(n);
      const results = (await getResults(onSurvivor, { id: job.id })).sort((x, y) => x.index - y.index);
      checkPrimes(results, n, width);

      const [rows] = (await client.query('SELECT count(*)::int AS rows, count(DISTINCT idx)::int AS tasks FROM task_results WHERE job_id = $1', [job.id])).rows;
      expect(rows).toEqual({ rows: n, tasks: n });
      const [after] = (await client.query('SELECT gateway, epoch FROM job_owners WHERE job_id = $1', [job.id])).rows;
      expect(after.epoch).toBe(2);
      expect(after.gateway).not.toBe(owner.gateway);
      // The node that listed both gateways now serves the survivor.
      await waitFor('the listing node on the survivor', () => onlineAt(survivor, mover), 30_000).catch((err) => {
        throw new Error(`${err.message}\n${procs[2]!.output().slice(-3000)}`);
      });
      console.info(`takeover: job finished on the survivor ${tookMs} ms after the SIGKILL (lease 3 s)`);
    } finally {
      await client.end();
    }
  });

  it('a job submitted to a gateway without nodes runs on nodes an idle gateway sends it; a requester following it elsewhere hears it end', async () => {
    dir = mkdtempSync(join(tmpdir(), 'lode-gateways-'));
    const portA = await freePort();
    const b = await gateway(join(dir, 'b'), db.url());
    cpSync(join(dir, 'b', 'gateway'), join(dir, 'a', 'gateway'), { recursive: true });
    const a = `http://127.0.0.1:${portA}`;
    // Three nodes listing both gateways; A is not up yet, so all three settle on B.
    const { loadOrCreateAccount } = await import('@lode/keystore');
    const nodes: string[] = [];
    for (let i = 0; i < 3; i++) {
      nodes.push((await loadOrCreateAccount(join(dir, `node-${i}`), { create: true })).account.address.toLowerCase());
      node(`${a},${b}`, join(dir, `node-${i}`));
    }
    const account = privateKeyToAccount(generatePrivateKey());
    const onB = createLodeClient({ gateway: b, account });
    const online = async (client: typeof onB) => (await listNodes(client)).filter((x) => x.online).map((x) => x.address.toLowerCase());
    await waitFor('three nodes on B', async () => (await online(onB)).length === 3, 60_000);
    await gateway(join(dir, 'a'), db.url(), portA);
    const onA = createLodeClient({ gateway: a, account });
    expect(await online(onA)).toEqual([]);

    const n = 40;
    const width = 200_000;
    const { sha256 } = await putBlob(onA, { data: workloadBytes('primes') });
    const job = await submitJob(onA, { module: sha256, tasks: primeTasks(n, width), limits: { wallMs: 30_000, maxOutputBytes: 4096 } });
    const client = new pg.Client({ connectionString: db.url() });
    await client.connect();
    try {
      const [owner] = (await client.query('SELECT gateway FROM job_owners WHERE job_id = $1', [job.id])).rows;
      const health = (await (await fetch(`${a}/healthz`)).json()) as { cluster: { incarnation: string } };
      expect(owner.gateway).toBe(health.cluster.incarnation); // A runs it, though it has no node
      // Followed through B, which does not run it: its stream ends when the cluster says the job did.
      const final = await watchJob(onB, { id: job.id });
      expect(final.status).toBe('completed');
      expect(final.counts.done).toBe(n);
      checkPrimes(
        (await getResults(onA, { id: job.id })).sort((x, y) => x.index - y.index),
        n,
        width,
      );
      const [rows] = (await client.query('SELECT count(*)::int AS rows, count(DISTINCT idx)::int AS tasks FROM task_results WHERE job_id = $1', [job.id])).rows;
      expect(rows).toEqual({ rows: n, tasks: n });
      // The nodes that ran it moved to A; B kept one (a job submitted there next starts at once).
      const [onAnow, onBnow] = [await online(onA), await online(onB)];
      expect(onAnow.length).toBeGreaterThanOrEqual(1);
      expect(onBnow.length).toBeGreaterThanOrEqual(1);
      expect([...onAnow, ...onBnow].sort()).toEqual([...nodes].sort());
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${procs.map((p) => p.output().slice(-1500)).join('\n---\n')}`);
    } finally {
      await client.end();
    }
  });
});
