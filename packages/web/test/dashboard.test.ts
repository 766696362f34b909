/**
 * What the dashboard reads beyond the SDK, against a real gateway with its embedded chain (in
 * this process, on a real socket): settlement batches (`GET /v1/ledger/batches`) after a paid
 * job run by a browser agent, the provider's credential and evidence, and — read from the chain
 * through the gateway's `/rpc` by `src/dashboard/chain.ts` — the ledger's token balances and a
 * governance proposal with its votes. The pages themselves are covered by
 * test/e2e/browser.test.ts.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { startGateway, testGatewayOptions, type GatewayHandle } from '@lode/gateway';
import { castVote, createLedgerClient, getVotingPower, ledgerAddressesSchema, proposeParameterChange } from '@lode/ledger/client';
import { loadAccount } from '@lode/keystore';
import { verifyNodeReputation } from '@lode/protocol';
import {
  createLodeClient,
  getLedgerInfo,
  getNodeCredential,
  getPayouts,
  listBatches,
  listEvidence,
  listNodes,
  putBlob,
  submitJob,
  watchJob,
  type LodeClient,
} from '@lode/sdk';
import { readWorkload } from '@lode/workloads';
import { Contributor } from '../src/agent/contributor.js';
import { depositEscrow, type LedgerInfo } from '../src/agent/ledger.js';
import { createWorkerSandbox } from '../src/agent/sandbox.js';
import type { SocketLike } from '@lode/provider';
import { ledgerBalances, listProposals } from '../src/dashboard/chain.js';
import { reputationText } from '../src/dashboard/reputation.js';
import { inlineWorker } from './inlineWorker.js';

/** What the agent asks per task: 0.001 LODE. */
const PRICE = 10n ** 15n;

let gateway: GatewayHandle;
let dir: string;
let info: LedgerInfo;
let contributor: Contributor | undefined;
const requesterAccount = privateKeyToAccount(generatePrivateKey());
let requester: LodeClient;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lode-web-dashboard-'));
  gateway = await startGateway(testGatewayOptions({ dataDir: dir, logLevel: 'silent', ledger: 'embedded', settlementIntervalMs: 300 }));
  info = await getLedgerInfo(createLodeClient({ gateway: gateway.url }));
  requester = createLodeClient({ gateway: gateway.url, account: requesterAccount });
}, 120_000);
afterAll(async () => {
  await contributor?.dispose();
  await gateway?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("the dashboard's ledger reads", () => {
  it('lists settlement batches newest first, with their totals and chain ids but not their tree; refuses a bad limit', async () => {
    expect(await listBatches(createLodeClient({ gateway: gateway.url }))).toEqual({ batches: [], count: 0 });
    await expect(listBatches(createLodeClient({ gateway: gateway.url }), { limit: 0 })).rejects.toMatchObject({ code: 'INVALID_REQUEST' });

    // A browser agent asking 0.001 LODE per task stakes and runs a paid job of 3 tasks.
    contributor = new Contributor({
      gateway: gateway.url,
      slots: 1,
      pricePerTask: PRICE.toString(),
      pauseWhenHidden: false,
      createSandbox: (workers) => createWorkerSandbox({ workers, spawn: () => inlineWorker() }),
      keys: { get: async () => undefined, set: async () => {} },
      socket: (url) => new WebSocket(url) as unknown as SocketLike,
      nav: { hardwareConcurrency: 2 },
      benchmark: 1000,
      logLevel: 'error', // its refusal for want of stake is expected
      publishMs: 5,
    });
    await contributor.start();
    await until('needs-stake', async () => contributor!.state.status === 'needs-stake');
    await contributor.stake();
    await until('contributing', async () => contributor!.state.status === 'contributing');
    const provider = contributor.state.address!.toLowerCase();

    const { sha256 } = await putBlob(requester, { data: readWorkload('echo') });
    const job = await submitJob(requester, {
      module: sha256,
      tasks: [{ args: ['a'] }, { args: ['b'] }, { args: ['c'] }],
      price: { maxPerTask: PRICE.toString() },
      fund: ({ spec, jobId, maxCost }) => depositEscrow(gateway.url, info, requesterAccount, { jobId, amount: maxCost, deadline: spec.deadline }),
    });
    expect((await watchJob(requester, { id: job.id })).status).toBe('completed');

    // Receipts are batched as tasks are accepted, so a job's three may land in one batch or
    // several; wait until every batch is posted and together they hold all three.
    const { batches, count } = await until('posted batches holding the 3 receipts', async () => {
      const b = await listBatches(createLodeClient({ gateway: gateway.url }));
      const held = b.batches.reduce((n, x) => n + x.receipts, 0);
      return held === 3 && b.batches.every((x) => x.status === 'posted') ? b : undefined;
    });
    expect(count).toBe(batches.length);
    expect(batches.map((b) => b.id)).toEqual([...batches.map((b) => b.id)].sort((a, b) => b - a)); // newest first
    expect(batches.at(-1)!.id).toBe(1);
    const sum = (f: (b: (typeof batches)[number]) => bigint) => batches.reduce((n, b) => n + f(b), 0n);
    expect(sum((b) => BigInt(b.total))).toBe(3n * PRICE);
    expect(sum((b) => BigInt(b.fee))).toBe((3n * PRICE) / 100n);
    for (const batch of batches) {
      expect(batch).toMatchObject({ jobs: 1, error: null });
      expect(BigInt(batch.fee)).toBe(BigInt(batch.total) / 100n);
      expect(batch.chainBatchId).toMatch(/^[0-9]+$/);
      expect(batch.txHash).toMatch(/^0x[0-9a-f]{64}$/);
      expect(batch.finalAt).toBeGreaterThan(batch.createdAt - 1000); // ms, like createdAt (the chain counts seconds)
      expect(batch.finalAt).toBeLessThan(batch.createdAt + 60_000);
      expect(Object.keys(batch)).not.toContain('tree');
    }
    // The provider's statement names the same batches.
    const payouts = await getPayouts(requester, { address: provider as `0x${string}` });
    expect(payouts.payouts.map((p) => [p.batch, p.chainBatchId]).sort()).toEqual(batches.map((b) => [b.id, b.chainBatchId]).sort());

    // Balances from the chain: the job's escrow is refunded down to what the batch debits (the
    // providers' payout, unclaimed, and the fee, not yet swept); Staking holds the agent's stake.
    const balances = await until('the escrow refunded', async () => {
      const b = await ledgerBalances(info);
      return b.escrow === 3n * PRICE ? b : undefined;
    });
    expect(balances.staked).toBe(BigInt(info.params.minStake));
    expect(balances.totalSupply).toBeGreaterThan(balances.treasury + balances.escrow + balances.staked);
  }, 120_000);

  it('gives a node a credential signed by the gateway, and no evidence against an honest node', async () => {
    const provider = contributor!.state.address!.toLowerCase() as `0x${string}`;
    const credential = await getNodeCredential(createLodeClient({ gateway: gateway.url }), { address: provider });
    expect(credential.message.node.toLowerCase()).toBe(provider);
    expect(await verifyNodeReputation(credential as Parameters<typeof verifyNodeReputation>[0])).toBe(true);
    expect(await listEvidence(createLodeClient({ gateway: gateway.url }), { address: provider })).toEqual([]);
    const node = (await listNodes(requester)).find((n) => n.address === provider);
    expect(node?.reputation).toBeDefined();
    expect(reputationText(node!.reputation!).text).toMatch(/^(probation|credibility [01]\.\d{4}) · \d+ ✓ \/ 0 ✗$/);
  });

  it("lists the governor's proposals with their state, the change they make and the votes cast", async () => {
    expect(await listProposals(info)).toEqual({ proposals: [], count: 0 });
    // The operator (the data directory's own account, which the embedded chain gives 20 % of the
    // supply with its votes delegated) proposes a fee of 2 % and votes for it: faucet LODE is below
    // the proposal threshold.
    const { account: operator } = await loadAccount(dir);
    const voter = createLedgerClient({
      rpcUrl: info.resolvedRpcUrl,
      addresses: ledgerAddressesSchema.parse({ ...info.contracts, chainId: info.chainId }),
      account: operator,
    });
    const { proposalId } = await proposeParameterChange(voter, { parameter: 'feeBps', value: 200, description: 'Raise the protocol fee to 2 %' });
    const listed = await listProposals(info);
    expect(listed.count).toBe(1);
    expect(listed.proposals[0]).toMatchObject({
      id: proposalId.toString(),
      proposer: operator.address,
      description: 'Raise the protocol fee to 2 %',
      changes: [{ parameter: 'feeBps', value: '200' }],
      otherCalls: 0,
      votes: { for: 0n, against: 0n, abstain: 0n },
      eta: null,
    });
    expect(['Pending', 'Active']).toContain(listed.proposals[0]!.state);

    await until('voting open', async () => (await listProposals(info)).proposals[0]?.state === 'Active', 10_000);
    const { weight } = await castVote(voter, { proposalId, support: 'for' });
    const { votes } = await getVotingPower(voter, { address: operator.address });
    expect(weight).toBe(votes);
    const voted = (await listProposals(info)).proposals[0]!;
    expect(voted.votes).toEqual({ for: weight, against: 0n, abstain: 0n });
    expect(voted.quorum).toBeGreaterThan(0n);
    expect(voted.voteEnd).toBeGreaterThan(voted.voteStart);
  }, 60_000);
});
