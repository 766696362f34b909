/**
 * The staking and token actions against the embedded chain: transfer, stake status (own stake,
 * delegations found from events, unbonding requests), unbond and withdraw — and each refusal in
 * words: too little LODE, unbonding more than is staked, withdrawing before the period ends
 * (with the release time) or with nothing unbonding.
 */
import { parseEther, publicActions, walletActions, type Hex } from 'viem';
import { getBlock, getTransactionCount, waitForTransactionReceipt, writeContract } from 'viem/actions';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TransactionRevertedError } from '@lode/protocol';
import {
  createEmbeddedChain,
  createLedgerClient,
  deployLedger,
  getAccountLedger,
  getStakeStatus,
  lodeTokenAbi,
  stake,
  transfer,
  unbond,
  withdraw,
  type EmbeddedChain,
  type LedgerAddresses,
} from '../src/index.js';

const UNBONDING = 60;
const admin = privateKeyToAccount(generatePrivateKey());
const provider = privateKeyToAccount(generatePrivateKey());
const delegator = privateKeyToAccount(generatePrivateKey());
const stranger = privateKeyToAccount(generatePrivateKey());
let chain: EmbeddedChain;
let addresses: LedgerAddresses;
const as = (account: typeof admin) => createLedgerClient({ provider: chain, addresses, account });
const lodeOf = async (who: Hex) => (await getAccountLedger(as(admin), { address: who })).lode;

async function refusal(promise: Promise<unknown>): Promise<TransactionRevertedError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TransactionRevertedError);
  return err as TransactionRevertedError;
}

beforeAll(async () => {
  chain = await createEmbeddedChain({
    accounts: [admin, provider, delegator, stranger].map((a) => ({ address: a.address, balance: parseEther('100') })),
  });
  const bootstrap = createLedgerClient({ provider: chain, addresses: {} as LedgerAddresses, account: admin });
  addresses = await deployLedger(bootstrap.extend(walletActions), bootstrap.extend(publicActions), { gateway: admin.address, unbondingPeriod: UNBONDING });
  for (const to of [provider.address, delegator.address]) {
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

describe('transfer', () => {
  it('moves LODE to another account', async () => {
    const { txHash } = await transfer(as(delegator), { to: stranger.address, amount: parseEther('12.5') });
    expect(txHash).toMatch(/^0x[0-9a-f]{64}$/);
    expect(await lodeOf(stranger.address)).toBe(parseEther('12.5'));
    expect(await lodeOf(delegator.address)).toBe(parseEther('987.5'));
  });

  it('refuses more than the balance in words, sending nothing', async () => {
    const before = await getTransactionCount(as(admin), { address: stranger.address });
    const err = await refusal(transfer(as(stranger), { to: delegator.address, amount: parseEther('13') }));
    expect(err.meta?.errorName).toBe('ERC20InsufficientBalance');
    expect(err.message).toMatch(/does not hold enough LODE/);
    expect(await getTransactionCount(as(admin), { address: stranger.address })).toBe(before);
  });

  it('asks for an account when the client has none, before anything is sent', async () => {
    const readOnly = createLedgerClient({ provider: chain, addresses });
    await expect(transfer(readOnly, { to: stranger.address, amount: 1n })).rejects.toThrow(/needs a ledger client with an account/);
    await expect(stake(readOnly, { amount: 1n })).rejects.toThrow(/Staking needs a ledger client with an account/);
  });
});

describe('stake status, unbond and withdraw', () => {
  it('reports own stake, delegations found from events, and eligibility', async () => {
    await stake(as(provider), { amount: parseEther('150') });
    await stake(as(delegator), { amount: parseEther('40'), provider: provider.address });
    const p = await getStakeStatus(as(admin), { address: provider.address });
    expect(p).toMatchObject({
      stake: parseEther('150'),
      totalStake: parseEther('190'),
      eligible: true,
      minStake: parseEther('100'),
      delegations: [],
      unbonding: [],
      withdrawable: 0n,
    });
    const d = await getStakeStatus(as(admin), { address: delegator.address });
    expect(d).toMatchObject({ stake: 0n, eligible: false, delegations: [{ provider: provider.address, amount: parseEther('40') }] });
  });

  it('unbonds with a release time one unbonding period ahead, and refuses more than is staked', async () => {
    const { amount, releaseAt, provider: from } = await unbond(as(provider), { amount: parseEther('60') });
    expect([amount, from]).toEqual([parseEther('60'), provider.address]);
    const now = (await getBlock(as(admin))).timestamp;
    expect(releaseAt).toBe(now + BigInt(UNBONDING));
    const status = await getStakeStatus(as(admin), { address: provider.address });
    expect(status).toMatchObject({ stake: parseEther('90'), eligible: false, withdrawable: 0n });
    expect(status.unbonding).toEqual([{ provider: provider.address, amount: parseEther('60'), releaseAt, released: false }]);

    const err = await refusal(unbond(as(provider), { amount: parseEther('1000') }));
    expect(err.meta?.errorName).toBe('InsufficientStake');
    expect(err.message).toMatch(/less stake than that/);
  });

  it('unbonds a whole delegation with "all"', async () => {
    const { amount } = await unbond(as(delegator), { amount: 'all', provider: provider.address });
    expect(amount).toBe(parseEther('40'));
    expect((await getStakeStatus(as(admin), { address: delegator.address })).delegations).toEqual([]);
  });

  it('refuses to withdraw before the period ends, saying when it does', async () => {
    const [request] = (await getStakeStatus(as(admin), { address: provider.address })).unbonding;
    const err = await refusal(withdraw(as(provider)));
    expect(err.meta).toMatchObject({ errorName: 'UnbondingNotFinished', releaseAt: Number(request!.releaseAt) });
    expect(err.message).toContain(new Date(Number(request!.releaseAt) * 1000).toISOString().replace('.000Z', 'Z'));
  });

  it('pays out released requests once the period has passed', async () => {
    await chain.request({ method: 'evm_increaseTime', params: [UNBONDING + 1] });
    await chain.request({ method: 'evm_mine' });
    expect((await getStakeStatus(as(admin), { address: provider.address })).withdrawable).toBe(parseEther('60'));
    const before = await lodeOf(provider.address);
    expect((await withdraw(as(provider))).amount).toBe(parseEther('60'));
    expect(await lodeOf(provider.address)).toBe(before + parseEther('60'));
    expect((await getStakeStatus(as(admin), { address: provider.address })).unbonding).toEqual([]);
  });

  it('says there is nothing to withdraw when nothing is unbonding', async () => {
    const err = await refusal(withdraw(as(stranger)));
    expect(err.meta?.errorName).toBe('NothingToWithdraw');
    expect(err.message).toMatch(/unbond first/);
  });
});
