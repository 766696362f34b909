/**
 * A liar's results revised after their job was final, with money, on a real gateway and its
 * embedded chain, nodes driven by hand. A trusted node turns liar while it is the only node
 * online: its job finishes with its forged results (nobody could check them). Its receipts for
 * them are held out of settlement, so the job's escrow stays open. When it is caught later on
 * another job, that final job is reopened: its tasks re-verified by other nodes, the rows
 * replaced, the liar's receipts withdrawn — and the requester's refund, read from the chain, is
 * the escrow minus exactly what the re-verifying nodes asked, to the wei.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createPublicClient, createWalletClient, http, type Hex, type PublicClient } from 'viem';
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from 'viem/accounts';
import { JobSpec, escrowJobId, jobIdOf, maxJobCost, resultDigest, sha256Hex, signJob, type Lease } from '@lode/protocol';
import { jobEscrowAbi, lodeTokenAbi, stakingAbi } from '@lode/ledger';
import { startGateway, testGatewayOptions, type GatewayHandle } from '../src/index.js';
import { fakeNode, pollJson, type FakeNode } from './support/fakeNode.js';
import { fetchAs, identityOf } from './support/session.js';

const requester = privateKeyToAccount(generatePrivateKey());
const liarAccount = privateKeyToAccount(generatePrivateKey());
const honestAccounts = Array.from({ length: 4 }, () => privateKeyToAccount(generatePrivateKey()));
/** What each node asks per task (token wei): the liar less than the others, so sums tell them apart. */
const P_LIAR = 700_000_000_000_000n;
const P_HONEST = 1_000_000_000_000_000n;
const MAX_PER_TASK = 2_000_000_000_000_000n;
const expected = (index: number) => `task-${index}`;

let gw: GatewayHandle;
let dir: string;
let chain: PublicClient;
let contracts: { token: Hex; escrow: Hex; staking: Hex };
let lying = false;
const live: FakeNode[] = [];

async function honestNode(account: PrivateKeyAccount): Promise<FakeNode> {
  const n = await fakeNode(gw.wsUrl, { pricePerTask: P_HONEST.toString() }, account);
  n.serve((l) => expected(l.taskIndex));
  live.push(n);
  return n;
}

async function send(account: PrivateKeyAccount, args: Parameters<ReturnType<typeof createWalletClient>['writeContract']>[0]) {
  const wallet = createWalletClient({ account, transport: http(`${gw.url}/rpc`), chain: null });
  const hash = await wallet.writeContract(args as never);
  const receipt = await chain.waitForTransactionReceipt({ hash });
  expect(receipt.status).toBe('success');
}

/** Escrows the most a job of `tasks` can cost and submits it; returns its id and deposit. */
async function paidJob(tasks: number): Promise<{ id: string; deposit: bigint }> {
  const wabt = await (await import('wabt')).default();
  const bytes = new Uint8Array(wabt.parseWat('m.wat', '(module (memory (export "memory") 1 1) (func (export "_start")))').toBinary({}).buffer);
  const sha = sha256Hex(bytes);
  await fetchAs(requester, `${gw.url}/v1/blobs/${sha}`, { method: 'PUT', body: bytes, headers: { 'content-type': 'application/octet-stream' } });
  const spec = JobSpec.parse({
    version: 1,
    requester: requester.address,
    module: sha,
    deadline: Date.now() + 120_000,
    nonce: `0x${randomBytes(32).toString('hex')}`,
    tasks: Array.from({ length: tasks }, (_, i) => ({ args: [String(i)] })),
    limits: { wallMs: 5000, maxOutputBytes: 1024 },
    price: { maxPerTask: MAX_PER_TASK.toString() },
    verification: { kind: 'target', errorRate: 0.01 },
  });
  const id = jobIdOf(spec);
  const deposit = maxJobCost(spec);
  await send(requester, { address: contracts.token, abi: lodeTokenAbi, functionName: 'approve', args: [contracts.escrow, deposit] });
  await send(requester, {
    address: contracts.escrow,
    abi: jobEscrowAbi,
    functionName: 'deposit',
    args: [escrowJobId(id), deposit, BigInt(Math.floor(spec.deadline / 1000) + 3600)],
  });
  const r = await fetchAs(requester, `${gw.url}/v1/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(await signJob(requester, spec, await identityOf(gw.url))),
  });
  expect(r.status).toBe(201);
  return { id, deposit };
}

const view = (id: string, done: (j: any) => boolean, tries = 600) => pollJson(`${gw.url}/v1/jobs/${id}`, done, tries, requester);
const results = async (id: string) => ((await (await fetchAs(requester, `${gw.url}/v1/jobs/${id}/results`)).json()) as any).results as any[];
const text = (b64: string) => Buffer.from(b64, 'base64').toString();
const escrowOf = async (id: string) => {
  const [, balance, , closed] = await chain.readContract({ address: contracts.escrow, abi: jobEscrowAbi, functionName: 'escrowOf', args: [escrowJobId(id)] });
  return { balance, closed };
};
/** The refund JobEscrow paid when it closed the job's escrow (its EscrowClosed event). */
async function refundOf(id: string): Promise<bigint | undefined> {
  const events = await chain.getContractEvents({
    address: contracts.escrow,
    abi: jobEscrowAbi,
    eventName: 'EscrowClosed',
    args: { jobId: escrowJobId(id) },
    fromBlock: 0n,
  });
  return events.length === 1 ? (events[0]!.args as { refund: bigint }).refund : undefined;
}
async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lode-revisions-ledger-'));
  gw = await startGateway(
    testGatewayOptions({
      dataDir: dir,
      logLevel: 'silent',
      ledger: 'embedded',
      settlementIntervalMs: 200,
      rpcPerMinute: 100_000,
      ledgerParams: { feeBps: 250, challengeWindow: 1, minStake: '1' },
      trust: { spotCheck: 0, canary: 0, stragglers: false },
    }),
  );
  chain = createPublicClient({ transport: http(`${gw.url}/rpc`), pollingInterval: 50 }) as PublicClient;
  contracts = ((await (await fetch(`${gw.url}/v1/ledger`)).json()) as any).contracts;
  for (const who of [requester, liarAccount, ...honestAccounts]) {
    const grant = await fetch(`${gw.url}/v1/ledger/faucet`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ address: who.address }),
    });
    expect(grant.status).toBe(200);
    if (who === requester) continue;
    // The least stake there is (1 wei): enough to be admitted, and something to slash.
    await send(who, { address: contracts.token, abi: lodeTokenAbi, functionName: 'approve', args: [contracts.staking, 1n] });
    await send(who, { address: contracts.staking, abi: stakingAbi, functionName: 'stake', args: [1n] });
  }
}, 120_000);
afterAll(async () => {
  for (const n of live.splice(0)) n.ws.close();
  await gw?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('a job final before its liar was caught', () => {
  it('is revised after the fact: right results, the liar unpaid, and the requester refunded what the wrong results cost, to the wei', async () => {
    const liar = await fakeNode(gw.wsUrl, { pricePerTask: P_LIAR.toString() }, liarAccount);
    live.push(liar);
    liar.serve((l: Lease) => (lying ? `forged ${l.taskIndex}` : expected(l.taskIndex)));
    const honest = [];
    for (const a of honestAccounts) honest.push(await honestNode(a));

    // 1. Everyone honest: every node earns a record and passes its audit.
    const a = await paidJob(60);
    expect((await view(a.id, (j) => j.finishedAt !== null)).status).toBe('completed');
    const liarView = ((await (await fetch(`${gw.url}/v1/nodes`)).json()) as any).nodes.find((n: any) => n.address === liar.address);
    expect(liarView.reputation.probation).toBe(false);

    // 2. The others leave; the liar turns. Its job's results rest on its word alone, and no
    //    other node is online to check them: the job is final with forged results.
    for (const n of honest) n.ws.close();
    await until('the honest nodes to leave', async () => {
      const { nodes } = (await (await fetch(`${gw.url}/v1/nodes`)).json()) as any;
      return nodes.filter((n: any) => n.online).length === 1 ? true : undefined;
    });
    lying = true;
    const b = await paidJob(6);
    const bDone = await view(b.id, (j) => j.finishedAt !== null);
    expect(bDone.status).toBe('completed');
    expect(bDone.revisions).toBeUndefined();
    expect((await results(b.id)).map((r) => text(r.stdout))).toEqual(Array.from({ length: 6 }, (_, i) => `forged ${i}`));
    // Its receipts are held out of settlement meanwhile: job A's escrow closes, B's stays open.
    await until("job A's escrow to close", async () => ((await escrowOf(a.id)).closed ? true : undefined));
    await new Promise((r) => setTimeout(r, 1500)); // several settlement rounds
    expect(await escrowOf(b.id)).toEqual({ balance: b.deposit, closed: false });

    // 3. The others come back; on the next job the liar lies again and is caught by the audit
    //    that job waits for — and every result it gave alone since its last passed check,
    //    job B's included, is re-verified.
    for (const acc of honestAccounts) await honestNode(acc);
    const c = await paidJob(20);
    const cDone = await view(c.id, (j) => j.finishedAt !== null);
    expect((await results(c.id)).map((r) => text(r.stdout))).toEqual(Array.from({ length: 20 }, (_, i) => expected(i)));
    expect(cDone.status).toBe('completed');

    // Job B, final before the catch, is revised: every result right, each naming the liar's.
    const revised = await view(b.id, (j) => j.revisions?.revised === 6);
    const rs = await results(b.id);
    expect(rs.map((r) => text(r.stdout))).toEqual(Array.from({ length: 6 }, (_, i) => expected(i)));
    for (const r of rs) {
      expect(r.node).not.toBe(liar.address);
      expect(r.revised).toMatchObject({
        previousNode: liar.address,
        previousResultHash: resultDigest({ exitCode: 0, stdout: new TextEncoder().encode(`forged ${r.index}`), stderr: new Uint8Array(), files: [] }),
        refunded: P_LIAR.toString(),
      });
    }
    expect(revised.status).toBe('completed');
    expect(revised.revisions).toMatchObject({ revised: 6, refunded: (6n * P_LIAR).toString() });
    expect(revised.revisions.tasks.map((t: any) => t.index).sort()).toEqual([0, 1, 2, 3, 4, 5]);

    // The money. Each task was re-verified by two honest nodes (the liar's vote is worth little
    // now, and a replacing answer never rests on one node): job B pays 2 × 6 honest executions
    // and nothing to the liar; the rest of its escrow goes back to the requester when it closes.
    const refund = await until("job B's escrow to close", () => refundOf(b.id));
    expect(refund).toBe(b.deposit - 12n * P_HONEST);
    expect(BigInt(revised.usage.cost)).toBe(12n * P_HONEST);
    expect(await escrowOf(b.id)).toEqual({ balance: 0n, closed: true });
  }, 180_000);
});
