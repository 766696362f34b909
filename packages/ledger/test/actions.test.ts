/**
 * The ledger client's actions against the embedded chain: each succeeds through the real
 * contracts, and each refusal comes back as TransactionRevertedError naming the contract's error
 * (including errors raised inside another contract, like the token's during a deposit).
 */
import { parseEther, publicActions, walletActions, type Hex } from 'viem';
import { readContract, waitForTransactionReceipt, writeContract } from 'viem/actions';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TransactionRevertedError, escrowJobId, type PayoutView } from '@lode/protocol';
import {
  claimPayouts,
  createEmbeddedChain,
  createLedgerClient,
  deployLedger,
  depositEscrow,
  getAccountLedger,
  jobEscrowAbi,
  lodeTokenAbi,
  sortPayouts,
  stake,
  type EmbeddedChain,
  type LedgerAddresses,
} from '../src/index.js';
import { postOneLeafBatch } from './support/batches.js';

const admin = privateKeyToAccount(generatePrivateKey());
const requester = privateKeyToAccount(generatePrivateKey());
const provider = privateKeyToAccount(generatePrivateKey());
let chain: EmbeddedChain;
let addresses: LedgerAddresses;
const as = (account: typeof admin) => createLedgerClient({ provider: chain, addresses, account });

beforeAll(async () => {
  chain = await createEmbeddedChain({
    accounts: [admin, requester, provider].map((a) => ({ address: a.address, balance: parseEther('100') })),
  });
  const bootstrap = createLedgerClient({ provider: chain, addresses: {} as LedgerAddresses, account: admin });
  addresses = await deployLedger(bootstrap.extend(walletActions), bootstrap.extend(publicActions), { gateway: admin.address, challengeWindow: 1, feeBps: 0 });
  for (const to of [requester.address, provider.address]) {
    const hash = await writeContract(as(admin), {
      address: addresses.token,
      abi: lodeTokenAbi,
      functionName: 'transfer',
      args: [to, parseEther('1000')],
      chain: null,
    });
    await waitForTransactionReceipt(as(admin), { hash });
  }
});
afterAll(() => chain.close());

describe('ledger actions', () => {
  it('stakes (approving first) and reports balances and eligibility', async () => {
    expect((await getAccountLedger(as(provider), { address: provider.address })).eligible).toBe(false);
    const { txHashes } = await stake(as(provider), { amount: parseEther('100') });
    expect(txHashes).toHaveLength(2);
    expect(await getAccountLedger(as(provider), { address: provider.address })).toMatchObject({
      lode: parseEther('900'),
      stake: parseEther('100'),
      eligible: true,
    });
  });

  it('deposits escrow, and says in words when the account lacks the tokens', async () => {
    const jobId = 'ab'.repeat(16);
    await depositEscrow(as(requester), { jobId, amount: parseEther('5'), expiresAt: BigInt(Math.floor(Date.now() / 1000) + 3600) });
    const [who, balance] = await readContract(as(requester), {
      address: addresses.escrow,
      abi: jobEscrowAbi,
      functionName: 'escrowOf',
      args: [escrowJobId(jobId)],
    });
    expect([who, balance]).toEqual([requester.address, parseEther('5')]);
    const err = await depositEscrow(as(requester), {
      jobId: 'cd'.repeat(16),
      amount: parseEther('5000'),
      expiresAt: BigInt(Math.floor(Date.now() / 1000) + 3600),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransactionRevertedError);
    expect((err as TransactionRevertedError).meta?.errorName).toBe('ERC20InsufficientBalance');
    expect((err as Error).message).toMatch(/does not hold enough LODE/);
  });

  it('claims a posted payout once; a replay and a stranger are refused by name', async () => {
    const jobId = 'ef'.repeat(16);
    await depositEscrow(as(requester), { jobId, amount: parseEther('3'), expiresAt: BigInt(Math.floor(Date.now() / 1000) + 3600) });
    const { batchId, proof } = await postOneLeafBatch(as(admin), { to: provider.address, amount: parseEther('2'), jobId });
    await chain.request({ method: 'evm_increaseTime', params: [2] });
    await chain.request({ method: 'evm_mine' });
    const payout = { batchId, amount: parseEther('2'), proof };
    const stranger = await claimPayouts(as(requester), { payouts: [payout] }).catch((e: unknown) => e);
    expect((stranger as TransactionRevertedError).meta?.errorName).toBe('InvalidProof');
    const before = (await getAccountLedger(as(provider), { address: provider.address })).lode;
    expect(await claimPayouts(as(provider), { payouts: [payout] })).toMatchObject({ amount: parseEther('2'), batches: 1 });
    expect((await getAccountLedger(as(provider), { address: provider.address })).lode).toBe(before + parseEther('2'));
    const replay = await claimPayouts(as(provider), { payouts: [payout] }).catch((e: unknown) => e);
    expect((replay as TransactionRevertedError).meta?.errorName).toBe('AlreadyClaimed');
    expect((replay as Error).message).toMatch(/claimed already/);
  });

  it('sorts payouts by what the chain says: final and unclaimed ready, the rest later, claimed ones dropped though the gateway lists them open', async () => {
    /** Posts a one-leaf batch paying `amount` to the provider; returns the gateway's view of it (unclaimed). */
    const posted = async (jobId: string, amount: bigint, batch: number): Promise<PayoutView> => {
      await depositEscrow(as(requester), { jobId, amount, expiresAt: BigInt(Math.floor(Date.now() / 1000) + 3600) });
      const { batchId, proof, txHash } = await postOneLeafBatch(as(admin), { to: provider.address, amount, jobId });
      const view = { batch, chainBatchId: batchId.toString(), status: 'posted' as const, tasks: 1, claimed: false, claimableAt: null };
      return { ...view, gross: amount.toString(), fee: '0', amount: amount.toString(), createdAt: 0, proof, txHash };
    };
    const claimedUnseen = await posted('a1'.repeat(16), parseEther('1'), 11);
    const ready = await posted('a2'.repeat(16), parseEther('2'), 12);
    await chain.request({ method: 'evm_increaseTime', params: [2] });
    await chain.request({ method: 'evm_mine' });
    const notFinal = await posted('a3'.repeat(16), parseEther('3'), 13);
    await claimPayouts(as(provider), {
      payouts: [{ batchId: BigInt(claimedUnseen.chainBatchId!), amount: parseEther('1'), proof: claimedUnseen.proof as Hex[] }],
    });
    const unposted: PayoutView = { ...notFinal, batch: 14, status: 'prepared', chainBatchId: null, txHash: null };
    const claimedSeen: PayoutView = { ...ready, batch: 15, claimed: true };
    const empty: PayoutView = { ...ready, batch: 16, amount: '0' };

    const sorted = await sortPayouts(as(requester), { provider: provider.address, payouts: [claimedUnseen, ready, notFinal, unposted, claimedSeen, empty] });
    expect(sorted.ready.map((p) => p.batch)).toEqual([12]);
    expect(sorted.later.map((p) => p.batch)).toEqual([13, 14]);
    expect(sorted.claimable).toEqual([{ batchId: BigInt(ready.chainBatchId!), amount: parseEther('2'), proof: ready.proof }]);
    // What it calls ready, JobEscrow pays.
    expect(await claimPayouts(as(provider), { payouts: sorted.claimable })).toMatchObject({ amount: parseEther('2'), batches: 1 });
  });
});
