/**
 * The ledger as a browser provider needs it: whether the gateway settles payments, what this
 * account has earned (`GET /v1/ledger/payouts/:address`), and staking the minimum a gateway asks
 * of its nodes — from the browser's own key, through the gateway's JSON-RPC (`/rpc`, the
 * embedded chain) or the chain it names.
 *
 * Guarantees:
 * - Nothing is guessed: amounts are what the gateway and the chain answer, as integers in the
 *   token's smallest unit.
 * - `stakeMinimum` stakes only what is missing (minStake − current stake), approves Staking only
 *   when the allowance is short, asks the faucet only when the account lacks LODE or gas and the
 *   gateway has one, and waits for every transaction's receipt; a reverted transaction throws.
 */
import { createPublicClient, createWalletClient, erc20Abi, http, type Hex, type LocalAccount } from 'viem';
import { createLodeClient, getLedgerInfo, getPayouts, requestFaucet, type GetLedgerInfoReturnType } from '@lode/sdk';
import type { PayoutsView } from '@lode/protocol';

/** The part of Staking's ABI the page uses (packages/ledger/contracts/Staking.sol). */
export const stakingAbi = [
  { type: 'function', name: 'isEligible', stateMutability: 'view', inputs: [{ name: 'provider', type: 'address' }], outputs: [{ name: 'eligible', type: 'bool' }] },
  { type: 'function', name: 'stakeOf', stateMutability: 'view', inputs: [{ name: 'provider', type: 'address' }], outputs: [{ name: '', type: 'uint256' }] },
  { type: 'function', name: 'stake', stateMutability: 'nonpayable', inputs: [{ name: 'amount', type: 'uint256' }], outputs: [] },
] as const;

export type LedgerInfo = GetLedgerInfoReturnType;

/** `GET /v1/ledger` (call it only when `/v1/stats` says the ledger is on: off, it answers 404). */
export async function ledgerInfo(gateway: string): Promise<LedgerInfo> {
  return getLedgerInfo(createLodeClient({ gateway }));
}

/** What `address` has earned as a provider: totals over its settlement payouts. */
export async function earnings(gateway: string, address: Hex): Promise<PayoutsView['totals']> {
  return (await getPayouts(createLodeClient({ gateway }), { address })).totals;
}

export interface StakeStatus {
  eligible: boolean;
  staked: bigint;
  minStake: bigint;
  /** LODE the account holds (not staked). */
  balance: bigint;
}

function clients(info: LedgerInfo, account?: LocalAccount) {
  const transport = http(info.resolvedRpcUrl, { retryCount: 1, timeout: 30_000 });
  return {
    reader: createPublicClient({ transport, pollingInterval: 250 }),
    writer: account ? createWalletClient({ account, transport }) : undefined,
  };
}

export async function stakeStatus(info: LedgerInfo, address: Hex): Promise<StakeStatus> {
  const { reader } = clients(info);
  const { staking, token } = info.contracts;
  const [eligible, staked, balance] = await Promise.all([
    reader.readContract({ address: staking as Hex, abi: stakingAbi, functionName: 'isEligible', args: [address] }),
    reader.readContract({ address: staking as Hex, abi: stakingAbi, functionName: 'stakeOf', args: [address] }),
    reader.readContract({ address: token as Hex, abi: erc20Abi, functionName: 'balanceOf', args: [address] }),
  ]);
  return { eligible, staked, balance, minStake: BigInt(info.params.minStake) };
}

export type StakeStep = 'faucet' | 'approve' | 'stake' | 'done';

/** Stakes what `account` lacks of the gateway's minimum. See the guarantees above. */
export async function stakeMinimum(gateway: string, info: LedgerInfo, account: LocalAccount, onStep: (step: StakeStep) => void = () => {}): Promise<void> {
  const { reader, writer } = clients(info, account);
  const status = await stakeStatus(info, account.address);
  if (status.eligible) return onStep('done');
  const need = status.minStake > status.staked ? status.minStake - status.staked : 0n;
  const gas = await reader.getBalance({ address: account.address });
  if (status.balance < need || gas === 0n) {
    if (!info.faucet) {
      throw new Error(`Staking needs ${need} LODE (smallest units) and gas in ${account.address}; this gateway has no faucet. Fund the account, or stake with \`lode stake add\` using the exported key.`);
    }
    onStep('faucet');
    await requestFaucet(createLodeClient({ gateway }), { address: account.address });
  }
  const staking = info.contracts.staking as Hex;
  const token = info.contracts.token as Hex;
  const allowance = await reader.readContract({ address: token, abi: erc20Abi, functionName: 'allowance', args: [account.address, staking] });
  if (allowance < need) {
    onStep('approve');
    await confirm(reader, await writer!.writeContract({ address: token, abi: erc20Abi, functionName: 'approve', args: [staking, need], chain: null }), 'approving Staking');
  }
  onStep('stake');
  await confirm(reader, await writer!.writeContract({ address: staking, abi: stakingAbi, functionName: 'stake', args: [need], chain: null }), 'staking');
  onStep('done');
}

async function confirm(reader: ReturnType<typeof createPublicClient>, hash: Hex, what: string): Promise<void> {
  const receipt = await reader.waitForTransactionReceipt({ hash });
  if (receipt.status !== 'success') throw new Error(`The chain reverted the transaction ${what} (${hash}).`);
}

/** An amount in the token's smallest unit as LODE with up to `digits` decimals. */
export function formatLode(amount: bigint | string, digits = 4): string {
  const v = typeof amount === 'string' ? BigInt(amount) : amount;
  const whole = v / 10n ** 18n;
  const frac = (v % 10n ** 18n).toString().padStart(18, '0').slice(0, digits).replace(/0+$/, '');
  return `${whole.toLocaleString()}${frac ? `.${frac}` : ''} LODE`;
}
