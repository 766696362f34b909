/**
 * The gateway's ledger end to end on a real gateway (embedded chain, JSON-RPC over its HTTP
 * port) and a real node agent: stake gate at hello, escrow gate at submit, receipts folded into
 * a settlement batch, the node's own claim with the gateway's Merkle proof, the requester's
 * refund, and every balance checked to the unit against an independent computation.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createPublicClient, createWalletClient, http, parseEther, type Hex, type PublicClient } from 'viem';
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from 'viem/accounts';
import { JobSpec, escrowJobId, jobIdOf, sha256Hex, signJob, type PayoutsView } from '@lode/protocol';
import { jobEscrowAbi, lodeTokenAbi, stakingAbi } from '@lode/ledger';
import { startNode, type NodeHandle } from '@lode/node';
import { startGateway, testGatewayOptions, type GatewayHandle } from '../src/index.js';
import { fetchAs, identityOf } from './support/session.js';

const HELLO_WAT = `(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1 1)
  (data (i32.const 16) "hi\\n")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 16)) (i32.store (i32.const 4) (i32.const 3))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))`;

const FEE_BPS = 250;
const PRICE = 10n ** 15n; // 0.001 LODE per task
const TASKS = 7;

let gw: GatewayHandle;
let dir: string;
let chain: PublicClient;
const requester = privateKeyToAccount(generatePrivateKey());
const provider = privateKeyToAccount(generatePrivateKey());
let node: NodeHandle | undefined;

async function wat(src: string): Promise<Uint8Array> {
  const wabt = await (await import('wabt')).default();
  return new Uint8Array(wabt.parseWat('m.wat', src).toBinary({}).buffer);
}

/** A JSON round trip; job routes go as the requester (they need its session). */
async function json<T = any>(path: string, init?: RequestInit): Promise<{ status: number; body: T }> {
  const req = { ...init, headers: { 'content-type': 'application/json', ...init?.headers } };
  const r = path.startsWith('/v1/jobs') ? await fetchAs(requester, `${gw.url}${path}`, req) : await fetch(`${gw.url}${path}`, req);
  return { status: r.status, body: (await r.json()) as T };
}

async function send(account: PrivateKeyAccount, args: Parameters<ReturnType<typeof wallet>['writeContract']>[0]) {
  const hash = await wallet(account).writeContract(args);
  const receipt = await chain.waitForTransactionReceipt({ hash });
  expect(receipt.status).toBe('success');
  return receipt;
}

function wallet(account: PrivateKeyAccount) {
  return createWalletClient({ account, transport: http(`${gw.url}/rpc`), chain: null });
}

const balanceOf = async (who: Hex) => {
  const { body } = await json('/v1/ledger');
  return chain.readContract({ address: body.contracts.token, abi: lodeTokenAbi, functionName: 'balanceOf', args: [who] });
};

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lode-ledger-'));
  gw = await startGateway(
    testGatewayOptions({
      dataDir: dir,
      ledger: 'embedded',
      settlementIntervalMs: 200,
      ledgerParams: { feeBps: FEE_BPS, challengeWindow: 1 },
      stakeCheckMs: 300,
    }),
  );
  chain = createPublicClient({ transport: http(`${gw.url}/rpc`), pollingInterval: 50 }) as PublicClient;
});
afterAll(async () => {
  await node?.stop();
  await gw?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('ledger on the embedded chain', () => {
  it('describes the chain, contracts and parameters', async () => {
    const { status, body } = await json('/v1/ledger');
    expect(status).toBe(200);
    expect(body).toMatchObject({
      mode: 'embedded',
      rpcUrl: null,
      faucet: true,
      params: { feeBps: FEE_BPS, challengeWindow: 1, minStake: parseEther('100').toString() },
    });
    expect(await chain.getChainId()).toBe(body.chainId);
    expect(await chain.getCode({ address: body.contracts.escrow })).toMatch(/^0x[0-9a-f]+$/);
  });

  it('funds accounts from the faucet and refuses a bad faucet request', async () => {
    for (const who of [requester.address, provider.address]) {
      const { status, body } = await json('/v1/ledger/faucet', { method: 'POST', body: JSON.stringify({ address: who }) });
      expect(status).toBe(200);
      expect(body.lode).toBe(parseEther('10000').toString());
    }
    expect(await balanceOf(provider.address)).toBe(parseEther('10000'));
    expect(await chain.getBalance({ address: provider.address })).toBe(parseEther('10'));
    expect((await json('/v1/ledger/faucet', { method: 'POST', body: JSON.stringify({ address: 'nope' }) })).status).toBe(400);
    expect((await json('/v1/ledger/faucet', { method: 'POST', body: JSON.stringify({ address: `0x${'0'.repeat(40)}` }) })).status).toBe(400);
    // One grant per address per day: the second is refused in words, with when to come back.
    const again = await fetch(`${gw.url}/v1/ledger/faucet`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ address: provider.address }),
    });
    expect(again.status).toBe(429);
    expect(Number(again.headers.get('retry-after'))).toBeGreaterThan(86_000);
    const { error } = (await again.json()) as { error: { code: string; message: string; meta: { limit: string; retryAt: number } } };
    expect(error).toMatchObject({ code: 'FAUCET_LIMIT', meta: { limit: 'address' } });
    expect(error.message).toMatch(/has had its faucet grant for the last 24 hours: the faucet gives each address one grant a day\. Come back after 20\d\d-/);
    expect(await balanceOf(provider.address)).toBe(parseEther('10000'));
    // A flood of faucet requests (refused ones too) is cut off per client before it queues.
    const flood = await Promise.all(Array.from({ length: 30 }, () => json('/v1/ledger/faucet', { method: 'POST', body: JSON.stringify({ address: 'nope' }) })));
    const limited = flood.filter((r) => r.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    expect(limited[0]!.body.error).toMatchObject({ code: 'RATE_LIMITED' });
    expect(limited[0]!.body.error.message).toMatch(/Too many faucet requests from this address: at most 30 per minute/);
  });

  it('refuses a node without the minimum stake at hello, and admits it once it stakes', async () => {
    const errors: Error[] = [];
    node = await startNode({
      gateway: gw.url,
      dataDir: join(dir, 'node'),
      account: provider,
      pricePerTask: PRICE.toString(),
      slots: 1,
      warmUp: false,
      benchmark: false,
      backoff: { initialMs: 100, maxMs: 300 },
      claimIntervalMs: 300,
      log: (await import('pino')).pino({ level: 'silent' }),
    });
    node.on('error', (e) => errors.push(e));
    await until('the stake refusal', async () =>
      errors.some((e) => /STAKE_REQUIRED|minimum stake/.test(`${(e as any).code} ${e.message}`)) ? true : undefined,
    );
    expect(node.connected).toBe(false);

    const { body: info } = await json('/v1/ledger');
    await send(provider, { address: info.contracts.token, abi: lodeTokenAbi, functionName: 'approve', args: [info.contracts.staking, parseEther('100')] });
    await send(provider, { address: info.contracts.staking, abi: stakingAbi, functionName: 'stake', args: [parseEther('100')] });
    await until('the node to connect', async () => (node!.connected ? true : undefined));
  });

  it('pays the provider exactly price × tasks minus the fee, and refunds the requester the rest', async () => {
    const { body: info } = await json('/v1/ledger');
    const module = await wat(HELLO_WAT);
    const sha = sha256Hex(module);
    await fetchAs(requester, `${gw.url}/v1/blobs/${sha}`, { method: 'PUT', body: module, headers: { 'content-type': 'application/octet-stream' } });
    const maxPerTask = PRICE * 3n; // the requester would pay up to 3× what the node asks
    const spec = JobSpec.parse({
      version: 1,
      requester: requester.address,
      module: sha,
      tasks: Array.from({ length: TASKS }, (_, i) => ({ args: [String(i)] })),
      price: { maxPerTask: maxPerTask.toString() },
      deadline: Date.now() + 60_000,
      nonce: `0x${randomBytes(32).toString('hex')}`,
    });
    const signed = await signJob(requester, spec, await identityOf(gw.url));
    const jobId = jobIdOf(spec);

    // No escrow yet: 402 with what to deposit.
    const refused = await json('/v1/jobs', { method: 'POST', body: JSON.stringify(signed) });
    expect(refused.status).toBe(402);
    expect(refused.body.error.code).toBe('INSUFFICIENT_ESCROW');
    expect(refused.body.error.meta.required).toBe((maxPerTask * BigInt(TASKS)).toString());

    // Too little escrow: still 402, saying how much more.
    const maxCost = maxPerTask * BigInt(TASKS);
    const expiresAt = BigInt(Math.floor(spec.deadline / 1000) + 3600);
    await send(requester, { address: info.contracts.token, abi: lodeTokenAbi, functionName: 'approve', args: [info.contracts.escrow, maxCost] });
    await send(requester, { address: info.contracts.escrow, abi: jobEscrowAbi, functionName: 'deposit', args: [escrowJobId(jobId), maxCost - 1n, expiresAt] });
    const short = await json('/v1/jobs', { method: 'POST', body: JSON.stringify(signed) });
    expect(short.status).toBe(402);
    expect(short.body.error.message).toMatch(/deposit 1 more/);
    await send(requester, { address: info.contracts.escrow, abi: jobEscrowAbi, functionName: 'deposit', args: [escrowJobId(jobId), 1n, expiresAt] });

    const requesterBefore = await balanceOf(requester.address);
    const providerBefore = await balanceOf(provider.address);
    const treasury = info.params.treasury as Hex;
    const treasuryBefore = await balanceOf(treasury);
    const accepted = await json('/v1/jobs', { method: 'POST', body: JSON.stringify(signed) });
    expect(accepted.status).toBe(201);
    await until('the job to complete', async () => {
      const { body } = await json(`/v1/jobs/${jobId}`);
      return body.status === 'completed' ? true : undefined;
    });

    // Settlement posts one batch for the 7 receipts; the payout becomes claimable.
    const payouts = await until('a claimable payout', async () => {
      const { body } = await json<PayoutsView>(`/v1/ledger/payouts/${provider.address}`);
      const p = body.payouts[0];
      return p && p.status === 'posted' && p.claimableAt! <= Date.now() - 1000 ? body : undefined;
    });
    const gross = PRICE * BigInt(TASKS);
    const fee = (gross * BigInt(FEE_BPS)) / 10_000n;
    expect(payouts.totals).toMatchObject({ gross: gross.toString(), fee: fee.toString(), net: (gross - fee).toString(), tasks: TASKS });
    const payout = payouts.payouts[0]!;

    // The escrow was refunded: the requester paid exactly what the node asked, not the ceiling.
    await until('the refund', async () => ((await balanceOf(requester.address)) > requesterBefore ? true : undefined));
    expect(await balanceOf(requester.address)).toBe(requesterBefore + maxCost - gross);
    const [, escrowLeft, , closed] = await chain.readContract({
      address: info.contracts.escrow,
      abi: jobEscrowAbi,
      functionName: 'escrowOf',
      args: [escrowJobId(jobId)],
    });
    expect([escrowLeft, closed]).toEqual([0n, true]);

    // The protocol fee reaches the treasury once the batch is final (the gateway sweeps it).
    await until('the fee in the treasury', async () => ((await balanceOf(treasury)) > treasuryBefore ? true : undefined));
    expect(await balanceOf(treasury)).toBe(treasuryBefore + fee);

    // A stranger cannot claim the provider's payout with its proof (whether or not it was claimed).
    const stranger = privateKeyToAccount(generatePrivateKey());
    await json('/v1/ledger/faucet', { method: 'POST', body: JSON.stringify({ address: stranger.address }) });
    const claimArgs = [[BigInt(payout.chainBatchId!)], [BigInt(payout.amount)], [payout.proof as Hex[]], false] as const;
    await expect(
      chain.simulateContract({ account: stranger, address: info.contracts.escrow, abi: jobEscrowAbi, functionName: 'claim', args: claimArgs }),
    ).rejects.toMatchObject({ cause: { data: { errorName: 'InvalidProof' } } });

    // The node claims by itself (auto-claim, signed with its key): exactly the net amount, once.
    const claimed = await until('the node to claim', async () => {
      const { body } = await json<PayoutsView>(`/v1/ledger/payouts/${provider.address}`);
      return body.totals.claimed !== '0' ? body.totals.claimed : undefined;
    });
    expect(claimed).toBe((gross - fee).toString());
    expect(await balanceOf(provider.address)).toBe(providerBefore + gross - fee);
    await expect(
      chain.simulateContract({ account: provider, address: info.contracts.escrow, abi: jobEscrowAbi, functionName: 'claim', args: claimArgs }),
    ).rejects.toMatchObject({ cause: { data: { errorName: 'AlreadyClaimed' } } });
    const after = await json<PayoutsView>(`/v1/ledger/payouts/${provider.address}`);
    expect(after.body.totals.claimed).toBe((gross - fee).toString());

    // Resubmitting the finished (and refunded) job answers the job, not a payment error.
    const again = await json('/v1/jobs', { method: 'POST', body: JSON.stringify(signed) });
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(jobId);
  });

  it('disconnects a node that unbonds below the minimum stake, and refuses it at hello', async () => {
    const { body: info } = await json('/v1/ledger');
    expect(node!.connected).toBe(true);
    await send(provider, { address: info.contracts.staking, abi: stakingAbi, functionName: 'unbond', args: [provider.address, parseEther('1')] });
    await until('the node to be disconnected', async () => (node!.connected ? undefined : true));
    const { body } = await json('/v1/nodes');
    expect(body.nodes.find((n: { address: string }) => n.address.toLowerCase() === provider.address.toLowerCase())?.online).toBe(false);
  });

  it('keeps the dev methods off the HTTP JSON-RPC', async () => {
    const { body } = await json('/rpc', { method: 'POST', body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'evm_increaseTime', params: [86_400] }) });
    expect(body.error.code).toBe(-32601);
  });
});
