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
import type { Hex, LocalAccount } from 'viem';
import { readContract } from 'viem/actions';
// The light entry of @lode/ledger: its actions on a bare viem client, no embedded chain.
import {
  claimPayouts,
  createLedgerClient,
  depositEscrow as deposit,
  getAccountLedger,
  ledgerAddressesSchema,
  stake,
  stakingAbi,
  type LedgerClient,
} from '@lode/ledger/client';
import { createLodeClient, getLedgerInfo, getPayouts, requestFaucet, type GetLedgerInfoReturnType } from '@lode/sdk';
import { claimablePayouts, escrowExpiry, type PayoutsView } from '@lode/protocol';
import { formatLode } from '../shared/format.js';

export type LedgerInfo = GetLedgerInfoReturnType;

/** `GET /v1/ledger` (call it only when `/v1/stats` says the ledger is on: off, it answers 404). */
export async function ledgerInfo(gateway: string): Promise<LedgerInfo> {
  return getLedgerInfo(createLodeClient({ gateway }));
}

/** What `address` has earned as a provider: totals over its settlement payouts, and what can be claimed now. */
export async function earnings(gateway: string, address: Hex): Promise<PayoutsView['totals'] & { claimable: string }> {
  const { totals, payouts } = await getPayouts(createLodeClient({ gateway }), { address });
  return {
    ...totals,
    claimable: claimablePayouts(payouts, Date.now())
      .reduce((n, p) => n + BigInt(p.amount), 0n)
      .toString(),
  };
}

export interface StakeStatus {
  eligible: boolean;
  staked: bigint;
  minStake: bigint;
  /** LODE the account holds (not staked). */
  balance: bigint;
}

function chainClient(info: LedgerInfo, account?: LocalAccount): LedgerClient {
  return createLedgerClient({
    rpcUrl: info.resolvedRpcUrl,
    addresses: ledgerAddressesSchema.parse({ ...info.contracts, chainId: info.chainId }),
    account,
  });
}

/** Own stake of each address (one read per address). */
export async function stakesOf(info: LedgerInfo, addresses: Hex[]): Promise<bigint[]> {
  const reader = chainClient(info);
  return Promise.all(addresses.map((a) => readContract(reader, { address: reader.addresses.staking, abi: stakingAbi, functionName: 'stakeOf', args: [a] })));
}

export async function stakeStatus(info: LedgerInfo, address: Hex): Promise<StakeStatus> {
  const { eligible, stake: staked, lode: balance } = await getAccountLedger(chainClient(info), { address });
  return { eligible, staked, balance, minStake: BigInt(info.params.minStake) };
}

export type StakeStep = 'faucet' | 'approve' | 'stake' | 'done';

/** Stakes what `account` lacks of the gateway's minimum. See the guarantees above. */
export async function stakeMinimum(gateway: string, info: LedgerInfo, account: LocalAccount, onStep: (step: StakeStep) => void = () => {}): Promise<void> {
  const client = chainClient(info, account);
  const now = await getAccountLedger(client, { address: account.address });
  if (now.eligible) return onStep('done');
  const minStake = BigInt(info.params.minStake);
  const need = minStake > now.stake ? minStake - now.stake : 0n;
  if (now.lode < need || now.eth === 0n) {
    if (!info.faucet) {
      throw new Error(
        `Staking needs ${need} LODE (smallest units) and gas in ${account.address}; this gateway has no faucet. Fund the account, or stake with \`lode stake add\` using the exported key.`,
      );
    }
    onStep('faucet');
    await requestFaucet(createLodeClient({ gateway }), { address: account.address });
  }
  await stake(client, { amount: need, onStep });
  onStep('done');
}

/**
 * Claims every claimable payout of `account` in one transaction (as `lode node` does on its
 * own) and returns the amount claimed (0: nothing to claim, no transaction).
 */
export async function claimEarnings(gateway: string, info: LedgerInfo, account: LocalAccount): Promise<bigint> {
  const { payouts } = await getPayouts(createLodeClient({ gateway }), { address: account.address });
  const ready = claimablePayouts(payouts, Date.now());
  if (ready.length === 0) return 0n;
  const { amount } = await claimPayouts(chainClient(info, account), {
    payouts: ready.map((p) => ({ batchId: BigInt(p.chainBatchId!), amount: BigInt(p.amount), proof: p.proof as Hex[] })),
  });
  return amount;
}

export type EscrowStep = 'faucet' | 'approve' | 'deposit';

/**
 * Puts a paid job's maximum cost in escrow from `account` (as `lode run` does): test LODE from
 * the faucet first when the account holds too little and the gateway has one, an approval when
 * the allowance is short, then `JobEscrow.deposit(jobKey, amount, expiresAt)`. What the job does
 * not spend is refunded when it ends; the escrow outlives the deadline by an hour so the last
 * settlement can still be paid.
 */
export async function depositEscrow(
  gateway: string,
  info: LedgerInfo,
  account: LocalAccount,
  job: { jobId: string; amount: bigint; deadline: number },
  onStep: (step: EscrowStep) => void = () => {},
): Promise<void> {
  const client = chainClient(info, account);
  const { lode, eth } = await getAccountLedger(client, { address: account.address });
  if (lode < job.amount || eth === 0n) {
    if (!info.faucet)
      throw new Error(`The job can cost up to ${formatLode(job.amount)}; ${account.address} holds ${formatLode(lode)}. Fund the account first.`);
    onStep('faucet');
    await requestFaucet(createLodeClient({ gateway }), { address: account.address });
  }
  await deposit(client, { jobId: job.jobId, amount: job.amount, expiresAt: escrowExpiry(job.deadline), onStep });
}

export { formatLode };
