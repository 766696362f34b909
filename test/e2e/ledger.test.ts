/**
 * Payments end to end on real processes: a gateway with its embedded chain and staked node
 * processes started with the `lode` CLI, a requester paying through `lode run` or the SDK.
 * Every balance is checked to the unit against an independent computation: providers get
 * price × tasks minus the fee, the requester pays exactly that and gets the rest back — also
 * when the gateway is killed and restarted in the middle of a paid job.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { Hex } from 'viem';
import { getBlockNumber, readContract } from 'viem/actions';
import { createLodeClient, getJob, getPayouts, putBlob, submitJob, watchJob, getResults, type LodeClient } from '@lode/sdk';
import { createLedgerClient, depositEscrow, getAccountLedger, jobEscrowAbi, ledgerAddressesSchema, type LedgerClient } from '@lode/ledger/client';
import { escrowJobId, type PayoutsView } from '@lode/protocol';
import { loadAccount } from '@lode/keystore';
import { Cluster, lodeRun, waitFor } from '../support/cluster.js';
import { checkPrimes, primeTasks, primesBySieve, workloadBytes } from '../support/requester.js';

const PRICE = 10n ** 15n; // what each node asks per task: 0.001 LODE
const PRICE_PER_FUEL = 1000n; // and per unit of fuel (≈ one WASM instruction)
const FEE_BPS = 100n; // the deployment default (1 %)

let cluster: Cluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

async function ledgerFor(c: Cluster, dataDir?: string): Promise<LedgerClient> {
  const info = (await (await fetch(`${c.url}/v1/ledger`)).json()) as { chainId: number; contracts: object };
  const account = dataDir ? (await loadAccount(dataDir)).account : undefined;
  return createLedgerClient({ rpcUrl: `${c.url}/rpc`, addresses: ledgerAddressesSchema.parse({ ...info.contracts, chainId: info.chainId }), account });
}

async function nodeAddresses(c: Cluster): Promise<Hex[]> {
  const body = (await (await fetch(`${c.url}/v1/nodes`)).json()) as { nodes: Array<{ address: Hex }> };
  return body.nodes.map((n) => n.address);
}

/** Waits until every payout of every node is posted and claimed; returns them. */
async function settledAndClaimed(c: Cluster, tasks: number): Promise<PayoutsView[]> {
  const client = createLodeClient({ gateway: c.url });
  return waitFor(
    'every payout posted and claimed by its node',
    async () => {
      const all = await Promise.all((await nodeAddresses(c)).map((address) => getPayouts(client, { address })));
      const counted = all.reduce((n, p) => n + p.totals.tasks, 0);
      const done = all.every((p) => p.payouts.every((x) => x.status === 'posted' && x.claimed));
      return counted === tasks && done ? all : undefined;
    },
    90_000,
    250,
  );
}

/** Per batch, the fee is ⌊Σ gross × feeBps / 10,000⌋, split over the providers paid in it. */
function expectExactFees(payouts: PayoutsView[]): void {
  const byBatch = new Map<number, { gross: bigint; fee: bigint }>();
  for (const p of payouts) {
    for (const x of p.payouts) {
      const b = byBatch.get(x.batch) ?? { gross: 0n, fee: 0n };
      byBatch.set(x.batch, { gross: b.gross + BigInt(x.gross), fee: b.fee + BigInt(x.fee) });
    }
  }
  for (const [, b] of byBatch) expect(b.fee).toBe((b.gross * FEE_BPS) / 10_000n);
}

describe('payments on a real network', () => {
  it('lode run escrows, providers are paid for tasks and fuel minus the fee, and the requester gets the rest back', async () => {
    const c = (cluster = await new Cluster({
      nodes: 2,
      ledger: true,
      nodeArgs: ['--price', PRICE.toString(), '--price-per-fuel', PRICE_PER_FUEL.toString(), '--claim-interval', '300'],
    }).start());
    const requesterDir = join(c.dir, 'requester');
    const requester = await c.provision(requesterDir, false);
    const ledger = await ledgerFor(c);
    const nodes = await nodeAddresses(c);
    const before = await Promise.all([requester, ...nodes].map((address) => getAccountLedger(ledger, { address })));

    const tasks = 8;
    const run = await lodeRun([
      'run',
      'primes',
      '--tasks',
      String(tasks),
      '--max-price',
      (PRICE * 3n).toString(),
      '--max-price-per-fuel',
      (PRICE_PER_FUEL * 2n).toString(),
      '--fuel',
      '2000000000',
      '--json',
      '--gateway',
      c.url,
      '--data-dir',
      requesterDir,
      '--',
      '0',
      '400000',
    ]);
    expect(run.code, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout) as { jobId: string; answer: { count: string | number }; usage: { fuelUsed: string; cost: string } };
    expect(Number(out.answer.count)).toBe(primesBySieve(0, 400_000));

    // The price of each result: the node's price per task + its fuel × the node's price per fuel.
    // Results are the requester's to read: its own signed-in client.
    const results = await getResults(createLodeClient({ gateway: c.url, account: (await loadAccount(requesterDir)).account as never }), { id: out.jobId });
    const fuel = results.reduce((s, r) => s + BigInt(r.fuelUsed!), 0n);
    expect(results.every((r) => r.fuelUsed! > 1_000_000)).toBe(true);
    expect(BigInt(out.usage.fuelUsed)).toBe(fuel);
    const gross = PRICE * BigInt(tasks) + fuel * PRICE_PER_FUEL;
    expect(BigInt(out.usage.cost)).toBe(gross);

    const payouts = await settledAndClaimed(c, tasks);
    expectExactFees(payouts);
    expect(payouts.reduce((s, p) => s + BigInt(p.totals.gross), 0n)).toBe(gross);
    // Each node received, in LODE, exactly its net payouts (claimed by the node itself).
    for (const [i, address] of nodes.entries()) {
      const paid = BigInt(payouts.find((p) => p.provider.toLowerCase() === address.toLowerCase())?.totals.net ?? '0');
      await waitFor(`node ${i}'s balance`, async () => (await getAccountLedger(ledger, { address })).lode === before[i + 1]!.lode + paid, 30_000, 250);
    }
    // The requester paid what the nodes asked (not its 3× ceiling): the rest came back at close.
    await waitFor(
      'the refund',
      async () => {
        const [, balance, , closed] = await readContract(ledger, {
          address: ledger.addresses.escrow,
          abi: jobEscrowAbi,
          functionName: 'escrowOf',
          args: [escrowJobId(out.jobId)],
        });
        return closed && balance === 0n;
      },
      30_000,
      250,
    );
    expect((await getAccountLedger(ledger, { address: requester })).lode).toBe(before[0]!.lode - gross);
  });

  it('a gateway killed and restarted in the middle of a paid job loses no ledger state and pays each task once', async () => {
    const c = (cluster = await new Cluster({ nodes: 2, ledger: true, nodeArgs: ['--price', PRICE.toString(), '--claim-interval', '300'] }).start());
    const requesterDir = join(c.dir, 'requester');
    await c.provision(requesterDir, false);
    const ledgerAsRequester = await ledgerFor(c, requesterDir);
    const requesterAccount = ledgerAsRequester.account!;
    const client: LodeClient = createLodeClient({ gateway: c.url, account: requesterAccount as never });
    const before = await getAccountLedger(ledgerAsRequester, { address: requesterAccount.address });

    const n = 60;
    const width = 200_000;
    const { sha256 } = await putBlob(client, { data: workloadBytes('primes') });
    const job = await submitJob(client, {
      module: sha256,
      tasks: primeTasks(n, width),
      limits: { wallMs: 30_000, maxOutputBytes: 4096 },
      price: { maxPerTask: (PRICE * 2n).toString() },
      fund: ({ jobId, maxCost, spec }) =>
        depositEscrow(ledgerAsRequester, { jobId, amount: maxCost, expiresAt: BigInt(Math.ceil(spec.deadline / 1000) + 3600) }).then(() => {}),
    });
    await waitFor('some progress', async () => (await getJob(client, { id: job.id })).counts.done >= 8, 60_000);
    const blockBefore = await getBlockNumber(ledgerAsRequester);
    await c.killGateway('SIGKILL');
    await c.startGateway();
    await c.waitForNodes(2);
    expect(await getBlockNumber(ledgerAsRequester)).toBeGreaterThanOrEqual(blockBefore);

    const final = await watchJob(client, { id: job.id });
    expect(final.status).toBe('completed');
    checkPrimes(
      (await getResults(client, { id: job.id })).sort((a, b) => a.index - b.index),
      n,
      width,
    );

    const payouts = await settledAndClaimed(c, n); // exactly n tasks paid: none twice, none lost
    expectExactFees(payouts);
    expect(payouts.reduce((s, p) => s + BigInt(p.totals.gross), 0n)).toBe(PRICE * BigInt(n));
    await waitFor(
      'the refund',
      async () => {
        const [, balance, , closed] = await readContract(ledgerAsRequester, {
          address: ledgerAsRequester.addresses.escrow,
          abi: jobEscrowAbi,
          functionName: 'escrowOf',
          args: [escrowJobId(job.id)],
        });
        return closed && balance === 0n;
      },
      30_000,
      250,
    );
    const after = await getAccountLedger(ledgerAsRequester, { address: requesterAccount.address });
    expect(after.lode).toBe(before.lode - PRICE * BigInt(n));
  });
});
