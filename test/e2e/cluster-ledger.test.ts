/**
 * A paid cluster on real processes: three `lode gateway`s on one PostgreSQL server (one
 * identity), settling on an EVM chain that is not Lode's code (Hardhat Network, its own process:
 * test/support/hardhat.ts) with contracts deployed by `lode ledger deploy`; six staked `lode node`s
 * that list all three gateways; a requester's `lode run` of 2,000 paid tasks that also lists all
 * three. The gateway the run and every node started on — the cluster's settler too — is
 * SIGKILLed mid-job, after it posted a settlement batch. Then, checked against independent computations:
 * - the run finishes through a survivor with the right answer (a sieve);
 * - every task has exactly one result row, and at most one receipt per (task, node): an
 *   execution is paid once, whichever gateway accepted it;
 * - another gateway became the settler, posted what was left, and every batch was posted once
 *   (its BatchPosted events on the chain, counted by the chain, match the stored batches);
 * - the ledger balances: the requester paid exactly the receipts' total (the rest refunded), the
 *   nodes received exactly their net payouts (claimed), the treasury exactly the fees, and the
 *   escrow contract holds what it held before — nothing created, nothing lost;
 * - the nodes of the killed gateway serve the survivors;
 * - a chain that stops answering (its process paused) makes the survivors' /healthz answer 503
 *   naming it, until it answers again.
 * Needs LODE_TEST_DATABASE_URL (set by .ci/run); required, not skipped, when CI=true.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { parseEther, type Hex } from 'viem';
import { getLogs, readContract } from 'viem/actions';
import { afterAll, expect, it, vi } from 'vitest';
import { createLodeClient, getPayouts, listNodes } from '@lode/sdk';
import { createLedgerClient, jobEscrowAbi, ledgerAddressesSchema, lodeTokenAbi, protocolConfigAbi, stake, transfer } from '@lode/ledger/client';
import { loadOrCreateAccount } from '@lode/keystore';
import { describePostgres } from '../../packages/gateway/test/support/postgres.js';
import { assertNoUnhandledRejections, freePort, lode, lodeRun, type Proc, waitFor } from '../support/cluster.js';
import { type ExternalChain, startHardhat } from '../support/hardhat.js';
import { primesBySieve } from '../support/requester.js';

vi.setConfig({ testTimeout: 600_000, hookTimeout: 120_000 });

const TASKS = 2000;
const HI = 40_000_000; // 2,000 ranges of 20,000 numbers
const PRICE = 10n ** 15n; // 0.001 LODE per task
const NODES = 6;

const procs: Proc[] = [];
let chain: ExternalChain | undefined;
let dir: string | undefined;
afterAll(async () => {
  for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
  await Promise.all(procs.map((p) => (p.child.exitCode === null ? p.exited : undefined)));
  await chain?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
  assertNoUnhandledRejections(procs);
});

describePostgres('three gateways settling on an external chain', (db) => {
  it('a paid 2,000-task run survives the SIGKILL of its gateway and settler: each task once, paid once, balances conserved', async () => {
    dir = mkdtempSync(join(tmpdir(), 'lode-cluster-ledger-'));
    const d = dir;
    chain = await startHardhat(d);
    const rpcUrl = chain.url;

    // One identity for the cluster: the first gateway's key, copied to the others.
    const gatewayKey = join(d, 'gw-0', 'gateway');
    const gatewayAccount = (await loadOrCreateAccount(gatewayKey, { create: true })).account.address;
    for (const i of [1, 2]) cpSync(gatewayKey, join(d, `gw-${i}`, 'gateway'), { recursive: true });
    const deployer = (await loadOrCreateAccount(join(d, 'deployer'), { create: true })).account;
    const requesterDir = join(d, 'requester');
    const requester = (await loadOrCreateAccount(requesterDir, { create: true })).account.address;
    const nodeDirs = Array.from({ length: NODES }, (_, i) => join(d, `node-${i}`));
    const nodeAccounts = await Promise.all(nodeDirs.map(async (nd) => (await loadOrCreateAccount(nd, { create: true })).account));
    for (const a of [gatewayAccount, deployer.address, requester, ...nodeAccounts.map((n) => n.address)]) await chain.fund(a, parseEther('1000'));

    // The contracts, deployed by the CLI as an operator would (short periods for a test chain).
    const addressesFile = join(d, 'ledger.json');
    const deployed = await lodeRun([
      '--data-dir',
      join(d, 'deployer'),
      'ledger',
      'deploy',
      '--rpc-url',
      rpcUrl,
      '--gateway',
      gatewayAccount,
      '--out',
      addressesFile,
      '--settlement-period',
      '2s',
      '--json',
    ]);
    expect(deployed.code, deployed.stderr).toBe(0);
    const addresses = ledgerAddressesSchema.parse(JSON.parse(readFileSync(addressesFile, 'utf8')));
    const operator = createLedgerClient({ rpcUrl, addresses, account: deployer });
    const reader = createLedgerClient({ rpcUrl, addresses });
    const minStake = (await readContract(reader, { address: addresses.config, abi: protocolConfigAbi, functionName: 'parameters' })).minStake;
    await transfer(operator, { to: requester, amount: parseEther('1000') });
    for (const account of nodeAccounts) {
      await transfer(operator, { to: account.address, amount: minStake });
      await stake(createLedgerClient({ rpcUrl, addresses, account }), { amount: minStake });
    }

    const ports = await Promise.all([0, 1, 2].map(() => freePort()));
    const urls = ports.map((p) => `http://127.0.0.1:${p}`);
    const gateways: Proc[] = [];
    const startGateway = async (i: number) => {
      mkdirSync(join(d, `gw-${i}`), { recursive: true });
      const p = lode([
        'gateway',
        '--port',
        String(ports[i]),
        '--data-dir',
        join(d, `gw-${i}`),
        '--database-url',
        db.url(),
        '--rpc-url',
        rpcUrl,
        '--ledger-addresses',
        addressesFile,
        '--cluster-lease-ms',
        '3000',
      ]);
      procs.push(p);
      gateways[i] = p;
      await waitFor(
        `gateway ${i}`,
        async () => {
          if (p.child.exitCode !== null) throw new Error(`gateway ${i} exited: ${p.output()}`);
          return (await fetch(`${urls[i]}/healthz`).catch(() => undefined))?.ok;
        },
        60_000,
      );
    };
    const health = async (url: string) => (await (await fetch(`${url}/healthz`)).json()) as { cluster?: { settler: boolean } };

    // The first gateway alone at first: it takes the settler role, and every node (listing all
    // three, the others not up yet) ends up on it. Then the other two join.
    await startGateway(0);
    await waitFor('gateway 0 is the settler', async () => (await health(urls[0]!)).cluster?.settler, 30_000);
    for (const nd of nodeDirs) {
      procs.push(lode(['node', '--gateway', urls.join(','), '--data-dir', nd, '--slots', '1', '--price', PRICE.toString(), '--claim-interval', '500']));
    }
    const victim = urls[0]!;
    const onlineAt = async (url: string) => (await listNodes(createLodeClient({ gateway: url }))).filter((n) => n.online).map((n) => n.address.toLowerCase());
    await waitFor('every node on gateway 0', async () => (await onlineAt(victim)).length === NODES, 90_000, 200);
    await startGateway(1);
    await startGateway(2);

    const balances = async () => {
      const treasury = (await readContract(reader, { address: addresses.config, abi: protocolConfigAbi, functionName: 'treasury' })) as Hex;
      const who = [requester, ...nodeAccounts.map((n) => n.address), treasury, addresses.escrow] as Hex[];
      return Promise.all(who.map((a) => readContract(reader, { address: addresses.token, abi: lodeTokenAbi, functionName: 'balanceOf', args: [a] })));
    };
    const before = await balances();

    // The requester's run: a client of all three gateways, the victim first.
    const run = lode(
      [
        'run',
        'primes',
        '--tasks',
        String(TASKS),
        '--max-price',
        (PRICE * 2n).toString(),
        '--json',
        '--gateway',
        urls.join(','),
        '--data-dir',
        requesterDir,
        '--',
        '0',
        String(HI),
      ],
      { env: { LODE_DEBUG: '1' } },
    );
    procs.push(run);
    let stdout = '';
    run.child.stdout!.on('data', (c) => (stdout += c));

    const sql = new pg.Client({ connectionString: db.url() });
    sql.on('error', () => {}); // the database is dropped after a failure: its connection ends then
    await sql.connect();
    try {
      const count = async (q: string, args: unknown[] = []) => Number((await sql.query(q, args)).rows[0]?.n ?? 0);
      const jobId = await waitFor('the job stored', async () => (await sql.query('SELECT id FROM jobs')).rows[0]?.id as string | undefined, 120_000, 100);
      // Killed once the first settler has posted a batch, and a tenth of the job is done.
      await waitFor(
        'a batch posted and a tenth of the tasks done',
        async () =>
          (await count("SELECT count(*)::int AS n FROM settlement_batches WHERE status = 'posted'")) > 0 &&
          (await count('SELECT count(*)::int AS n FROM task_results WHERE job_id = $1', [jobId])) >= TASKS / 10,
        120_000,
        50,
      );
      const batchesBefore = await count("SELECT count(*)::int AS n FROM settlement_batches WHERE status = 'posted'");
      gateways[0]!.child.kill('SIGKILL');
      await gateways[0]!.exited;
      const doneAtKill = await count('SELECT count(*)::int AS n FROM task_results WHERE job_id = $1', [jobId]);
      expect(doneAtKill).toBeLessThan(TASKS); // killed mid-job

      // The run finishes through a survivor, with the right answer.
      const code = await Promise.race([run.exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 300_000).unref())]);
      if (code !== 0) {
        const row = (await sql.query('SELECT status, counts, finished_at FROM jobs WHERE id = $1', [jobId])).rows[0];
        const owner = (await sql.query('SELECT * FROM job_owners WHERE job_id = $1', [jobId])).rows[0];
        const views = await Promise.all(urls.slice(1).map(async (u) => (await fetch(`${u}/v1/jobs/${jobId}`).catch(() => undefined))?.text()));
        const tails = [`row ${JSON.stringify(row)} owner ${JSON.stringify(owner)} views ${views.map((v) => v?.slice(0, 400)).join(' | ')}`]
          .concat(gateways.map((g, i) => `--- gateway ${i}:\n${g.output().slice(-3000)}`))
          .join('\n');
        throw new Error(`lode run ended ${code}:\n${run.output().slice(-4000)}\n${tails}`);
      }
      const out = JSON.parse(stdout) as { jobId: string; answer: { count: string | number }; usage: { cost: string } };
      expect(out.jobId).toBe(jobId);
      expect(Number(out.answer.count)).toBe(primesBySieve(0, HI));

      // Each task once: one result row per task.
      const rows = (await sql.query('SELECT count(*)::int AS rows, count(DISTINCT idx)::int AS tasks FROM task_results WHERE job_id = $1', [jobId])).rows[0];
      expect(rows).toEqual({ rows: TASKS, tasks: TASKS });
      // Paid: each task's accepted result has its node's receipt (one per (task, node): the schema's
      // key); what they add up to is checked below against the run's bill, the batches and the chain.
      expect(
        await count(
          `SELECT count(*)::int AS n FROM task_results r WHERE job_id = $1 AND status = 'done'
             AND NOT EXISTS (SELECT 1 FROM task_receipts p WHERE p.job_id = r.job_id AND p.idx = r.idx AND lower(p.payee) = lower(r.node))`,
          [jobId],
        ),
      ).toBe(0);
      const gross = BigInt((await sql.query('SELECT coalesce(sum(amount), 0)::text AS total FROM task_receipts WHERE job_id = $1', [jobId])).rows[0].total);
      expect(BigInt(out.usage.cost)).toBe(gross);

      // A survivor became the settler and settles the rest; every batch is posted once, as the chain counts them.
      const settler = await waitFor('a survivor is the settler', async () => {
        for (const url of urls.slice(1)) if ((await health(url)).cluster?.settler) return url;
        return undefined;
      });
      const nodes = nodeAccounts.map((n) => n.address);
      const payouts = await waitFor(
        'every payout posted and claimed',
        async () => {
          const all = await Promise.all(nodes.map((address) => getPayouts(createLodeClient({ gateway: settler }), { address })));
          const paid = all.reduce((s, p) => s + BigInt(p.totals.gross), 0n);
          return paid === gross && all.every((p) => p.payouts.every((x) => x.status === 'posted' && x.claimed)) ? all : undefined;
        },
        180_000,
        500,
      );
      const posted = await count("SELECT count(*)::int AS n FROM settlement_batches WHERE status = 'posted'");
      expect(posted).toBeGreaterThan(batchesBefore);
      const events = await getLogs(reader, {
        address: addresses.escrow,
        event: jobEscrowAbi.find((x) => x.type === 'event' && x.name === 'BatchPosted') as never,
        fromBlock: 0n,
      });
      expect(events).toHaveLength(posted);

      // The fees reach the treasury and the unspent escrow comes back; then every balance adds up.
      const fee = payouts.reduce((s, p) => s + BigInt(p.totals.fee), 0n);
      const after = await waitFor(
        'fees swept and the escrow refunded',
        async () => {
          const b = await balances();
          return b[0] === before[0]! - gross && b[NODES + 1] === before[NODES + 1]! + fee && b[NODES + 2] === before[NODES + 2] ? b : undefined;
        },
        120_000,
        500,
      ).catch(async (err) => {
        throw new Error(`${err.message}: before ${before.join(' ')}, now ${(await balances()).join(' ')}, gross ${gross}, fee ${fee}`);
      });
      for (const [i, p] of payouts.entries()) expect(after[i + 1]! - before[i + 1]!).toBe(BigInt(p.totals.net));
      expect(after.reduce((s, v) => s + v, 0n)).toBe(before.reduce((s, v) => s + v, 0n));

      // The nodes of the killed gateway serve the survivors.
      await waitFor('every node on a survivor', async () => (await onlineAt(urls[1]!)).length + (await onlineAt(urls[2]!)).length === NODES, 60_000, 200);

      // A chain that stops answering (its process paused): the survivors' /healthz says so (503,
      // naming the chain) until it answers again.
      const healthOf = async (url: string) => {
        const r = await fetch(`${url}/healthz`);
        return { status: r.status, problem: ((await r.json()) as { problem?: string }).problem };
      };
      chain.proc.child.kill('SIGSTOP');
      try {
        const down = await waitFor(
          'a survivor saying the chain does not answer',
          async () => {
            const h = await healthOf(urls[1]!);
            return h.status === 503 ? h : undefined;
          },
          60_000,
          250,
        );
        expect(down.problem).toContain(`the chain at ${rpcUrl} does not answer`);
      } finally {
        chain.proc.child.kill('SIGCONT');
      }
      await waitFor(
        'the survivors healthy again',
        async () => (await healthOf(urls[1]!)).status === 200 && (await healthOf(urls[2]!)).status === 200,
        60_000,
        250,
      );

      console.info(
        `cluster on an external chain: ${doneAtKill}/${TASKS} tasks done at the SIGKILL; ${posted} batches (${batchesBefore} before the kill); gross ${gross}, fee ${fee}`,
      );
    } finally {
      await sql.end();
    }
  });
});
