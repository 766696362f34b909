/**
 * The device actions against the embedded chain: the node key's consent and the owner's
 * registration, reading one device and listing them, claiming a device's payouts without the
 * node key, splitting into shares, selling a share, each holder's claimable income to the wei,
 * unsplitting, and selling the device — and each refusal in words, with nothing sent.
 */
import { keccak256, parseEther, publicActions, toHex, walletActions, type Address } from 'viem';
import { getBlock, getTransactionCount, waitForTransactionReceipt, writeContract } from 'viem/actions';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REGISTERED_DEVICE_KINDS, TransactionRevertedError } from '@lode/protocol';
import {
  DEVICE_KINDS,
  claimDevicePayouts,
  claimDeviceShares,
  createEmbeddedChain,
  createLedgerClient,
  deployLedger,
  depositEscrow,
  getAccountLedger,
  getDevice,
  getDevicePayments,
  listDevices,
  lodeTokenAbi,
  registerDevice,
  signDeviceConsent,
  splitDevice,
  transferDevice,
  transferDeviceShares,
  unsplitDevice,
  type EmbeddedChain,
  type LedgerAddresses,
} from '../src/index.js';
import { postOneLeafBatch } from './support/batches.js';

const gateway = privateKeyToAccount(generatePrivateKey());
const owner = privateKeyToAccount(generatePrivateKey());
const node = privateKeyToAccount(generatePrivateKey());
const buyer = privateKeyToAccount(generatePrivateKey());
const stranger = privateKeyToAccount(generatePrivateKey());
const CAPS = keccak256(toHex('{"arch":"x64","cores":2,"kind":"laptop","memoryMiB":4096,"os":"linux"}'));
let chain: EmbeddedChain;
let addresses: LedgerAddresses;
const as = (account: typeof owner) => createLedgerClient({ provider: chain, addresses, account });
const lodeOf = async (who: Address) => (await getAccountLedger(as(gateway), { address: who })).lode;

async function refusal(promise: Promise<unknown>): Promise<TransactionRevertedError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TransactionRevertedError);
  return err as TransactionRevertedError;
}

async function consent(signer: typeof node, forOwner: Address, deadlineIn = 600) {
  const deadline = (await getBlock(as(gateway))).timestamp + BigInt(deadlineIn);
  const nodeSignature = await signDeviceConsent(signer, {
    registry: addresses.registry,
    chainId: addresses.chainId,
    owner: forOwner,
    kind: 'laptop',
    capabilitiesHash: CAPS,
    deadline,
  });
  return { node: node.address, kind: 'laptop' as const, capabilitiesHash: CAPS, deadline, nodeSignature };
}

/** A final batch (fee 0, challenge window 1 s) paying `amount` to the node. */
async function paidBatch(amount: bigint) {
  const jobId = keccak256(toHex(`job-${Math.random()}`)).slice(2, 34);
  await depositEscrow(as(buyer), { jobId, amount, expiresAt: BigInt(Math.floor(Date.now() / 1000) + 3600) });
  const { batchId, proof } = await postOneLeafBatch(as(gateway), { to: node.address, amount, jobId });
  await chain.request({ method: 'evm_increaseTime', params: [2] });
  await chain.request({ method: 'evm_mine' });
  return { batchId, amount, proof };
}

beforeAll(async () => {
  chain = await createEmbeddedChain({
    accounts: [gateway, owner, node, buyer, stranger].map((a) => ({ address: a.address, balance: parseEther('100') })),
  });
  const bootstrap = createLedgerClient({ provider: chain, addresses: {} as LedgerAddresses, account: gateway });
  addresses = await deployLedger(bootstrap.extend(walletActions), bootstrap.extend(publicActions), { gateway: gateway.address, challengeWindow: 1, feeBps: 0 });
  const hash = await writeContract(as(gateway), {
    address: addresses.token,
    abi: lodeTokenAbi,
    functionName: 'transfer',
    args: [buyer.address, parseEther('1000')],
    chain: null,
  });
  await waitForTransactionReceipt(as(gateway), { hash });
});
afterAll(() => chain.close());

describe('device actions', () => {
  it('name the same kinds as the protocol', () => {
    expect([...DEVICE_KINDS]).toEqual([...REGISTERED_DEVICE_KINDS]);
  });

  it("register a device with the node key's consent, owned by the account that sends it", async () => {
    expect(await getDevice(as(stranger), { node: node.address })).toBeNull();
    const { deviceId } = await registerDevice(as(owner), await consent(node, owner.address));
    expect(deviceId).toBe(BigInt(node.address));
    const device = await getDevice(as(stranger), { node: node.address });
    expect(device).toMatchObject({
      deviceId,
      node: node.address,
      holder: owner.address,
      owner: owner.address,
      payee: owner.address,
      kind: 'laptop',
      capabilitiesHash: CAPS,
      split: null,
    });
    expect(device!.joinedAt).toBeGreaterThan(0n);
    expect(await listDevices(as(stranger))).toMatchObject({
      total: 1,
      truncated: false,
      devices: [{ node: node.address, owner: owner.address, kind: 'laptop' }],
    });
    expect((await listDevices(as(stranger), { owner: owner.address })).devices.map((d) => d.node)).toEqual([node.address]);
    expect(await listDevices(as(stranger), { owner: stranger.address })).toEqual({ devices: [], total: 0, truncated: false });
    expect(await listDevices(as(stranger), { limit: 0 })).toMatchObject({ devices: [], total: 1, truncated: true });
  });

  it('refuse a second registration, a consent for another owner, and an expired one, in words and before sending', async () => {
    const before = await getTransactionCount(as(gateway), { address: stranger.address });
    const twice = await refusal(registerDevice(as(owner), await consent(node, owner.address)));
    expect(twice.meta?.errorName).toBe('DeviceAlreadyRegistered');
    expect(twice.message).toMatch(/registered as a device already/);
    // A consent naming the owner, replayed by a stranger; one signed by the wrong key.
    const other = privateKeyToAccount(generatePrivateKey());
    const replayed = await refusal(registerDevice(as(stranger), { ...(await consent(other, owner.address)), node: other.address }));
    expect(replayed.meta?.errorName).toBe('InvalidNodeSignature');
    expect(replayed.message).toMatch(/signed by the node's own key and name the sending account as owner/);
    const forged = await refusal(registerDevice(as(stranger), { ...(await consent(stranger, stranger.address)), node: other.address }));
    expect(forged.meta?.errorName).toBe('InvalidNodeSignature');
    const late = await refusal(registerDevice(as(stranger), { ...(await consent(other, stranger.address, -1)), node: other.address }));
    expect(late.meta?.errorName).toBe('SignatureExpired');
    expect(late.message).toMatch(/past its deadline/);
    expect(await getTransactionCount(as(gateway), { address: stranger.address })).toBe(before);
  });

  it("pay the device's payouts to its owner, claimed without the node key", async () => {
    const payout = await paidBatch(parseEther('4'));
    const before = await lodeOf(owner.address);
    expect(await claimDevicePayouts(as(owner), { node: node.address, payouts: [payout] })).toMatchObject({
      amount: parseEther('4'),
      batches: 1,
      payee: owner.address,
    });
    expect(await lodeOf(owner.address)).toBe(before + parseEther('4'));
    expect(await lodeOf(node.address)).toBe(0n);
    const { payments, registered, payee } = await getDevicePayments(as(stranger), { node: node.address });
    expect({ registered, payee }).toEqual({ registered: true, payee: owner.address });
    expect(payments).toMatchObject([{ batchId: payout.batchId, amount: parseEther('4'), paidTo: owner.address }]);
    const notADevice = await refusal(claimDevicePayouts(as(owner), { node: stranger.address, payouts: [payout] }));
    expect(notADevice.meta?.errorName).toBe('NotADevice');
    expect(notADevice.message).toMatch(/only its own key claims its payouts/);
  });

  it('split only by the holder; a share sold; income shared to the wei; each holder claims its part', async () => {
    const notOwner = await refusal(splitDevice(as(stranger), { node: node.address, count: 100n }));
    expect(notOwner.meta?.errorName).toBe('NotDeviceOwner');
    expect(notOwner.message).toMatch(/Only the device token's holder may do this/);
    const tooFew = await refusal(splitDevice(as(owner), { node: node.address, count: 1n }));
    expect(tooFew.message).toMatch(/2 to 1,000,000,000,000 whole shares/);

    const { shares, count } = await splitDevice(as(owner), { node: node.address, count: 100n });
    expect(count).toBe(100n);
    await transferDeviceShares(as(owner), { shares, to: buyer.address, amount: 1n });
    const short = await refusal(transferDeviceShares(as(buyer), { shares, to: stranger.address, amount: 2n }));
    expect(short.message).toMatch(/holds fewer shares of this device than that/);
    expect(short.details).toBe('It holds 1 share(s); this needs 2.');
    const again = await refusal(splitDevice(as(owner), { node: node.address, count: 10n }));
    expect(again.meta?.errorName).toBe('AlreadySplit');
    expect(again.message).toMatch(/unsplit it first/);
    const sell = await refusal(transferDevice(as(owner), { node: node.address, to: buyer.address }));
    expect(sell.meta?.errorName).toBe('ERC721InsufficientApproval');
    expect(sell.message).toMatch(/A split device's token is held by the registry/);

    const income = parseEther('7') + 13n; // not divisible by 100
    await claimDevicePayouts(as(stranger), { node: node.address, payouts: [await paidBatch(income)] });
    const device = await getDevice(as(stranger), { node: node.address });
    expect(device).toMatchObject({ holder: addresses.registry, owner: null, payee: shares });
    expect(device!.split).toEqual({
      shares,
      totalShares: 100n,
      incomeTotal: income,
      holders: [
        { holder: owner.address, shares: 99n, claimable: (income * 99n) / 100n },
        { holder: buyer.address, shares: 1n, claimable: income / 100n },
      ],
      holderCount: 2,
    });
    const before = await lodeOf(buyer.address);
    expect(await claimDeviceShares(as(buyer), { shares })).toMatchObject({ holder: buyer.address, amount: income / 100n });
    expect(await lodeOf(buyer.address)).toBe(before + income / 100n);
    const nothing = await refusal(claimDeviceShares(as(buyer), { shares }));
    expect(nothing.meta?.errorName).toBe('NothingToClaim');
    expect(nothing.message).toMatch(/no unclaimed share income/);
    expect(await claimDeviceShares(as(stranger), { shares, holder: owner.address })).toMatchObject({ holder: owner.address, amount: (income * 99n) / 100n });
  });

  it('unsplit only with every share, then sell the device: its next payout is the buyer’s', async () => {
    const device = await getDevice(as(stranger), { node: node.address });
    const shares = device!.split!.shares;
    const missing = await refusal(unsplitDevice(as(owner), { node: node.address }));
    expect(missing.meta?.errorName).toBe('NotAllShares');
    expect(missing.message).toMatch(/needs every share/);
    await transferDeviceShares(as(buyer), { shares, to: owner.address, amount: 1n });
    await unsplitDevice(as(owner), { node: node.address });
    expect(await getDevice(as(stranger), { node: node.address })).toMatchObject({ owner: owner.address, payee: owner.address, split: null });
    const notSplit = await refusal(unsplitDevice(as(owner), { node: node.address }));
    expect(notSplit.meta?.errorName).toBe('NotSplit');

    await transferDevice(as(owner), { node: node.address, to: buyer.address });
    expect((await listDevices(as(stranger), { owner: buyer.address })).devices.map((d) => d.node)).toEqual([node.address]);
    const notHers = await refusal(transferDevice(as(owner), { node: node.address, to: stranger.address }));
    expect(notHers.meta?.errorName).toBe('ERC721InsufficientApproval');
    const payout = await paidBatch(parseEther('1'));
    const before = await lodeOf(buyer.address);
    await claimDevicePayouts(as(stranger), { node: node.address, payouts: [payout] });
    expect(await lodeOf(buyer.address)).toBe(before + parseEther('1'));
    const paidTo = (await getDevicePayments(as(stranger), { node: node.address })).payments.map((p) => p.paidTo);
    expect(paidTo).toEqual([owner.address, shares, buyer.address]);
  });
});
