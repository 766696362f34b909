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
import { createClient, erc20Abi, http, type Client, type Hex, type LocalAccount } from 'viem';
// Single actions on a bare client, not createPublicClient/createWalletClient: those pull every
// viem action into the page (~250 kB).
import { getBalance, readContract, waitForTransactionReceipt, writeContract } from 'viem/actions';
import { createLodeClient, getLedgerInfo, getPayouts, requestFaucet, type GetLedgerInfoReturnType } from '@lode/sdk';
import { escrowExpiry, escrowJobId, type PayoutsView } from '@lode/protocol';
import { formatLode } from '../shared/format.js';

/** The part of Staking's ABI the page uses (packages/ledger/contracts/Staking.sol). */
export const stakingAbi = [
  {
    type: 'function',
    name: 'isEligible',
    stateMutability: 'view',
    inputs: [{ name: 'provider', type: 'address' }],
    outputs: [{ name: 'eligible', type: 'bool' }],
  },
  { type: 'function', name: 'stakeOf', stateMutability: 'view', inputs: [{ name: 'provider', type: 'address' }], outputs: [{ name: '', type: 'uint256' }] },
  { type: 'function', name: 'stake', stateMutability: 'nonpayable', inputs: [{ name: 'amount', type: 'uint256' }], outputs: [] },
] as const;

/** The part of JobEscrow's ABI the page uses (packages/ledger/contracts/JobEscrow.sol). */
export const jobEscrowAbi = [
  {
    type: 'function',
    name: 'deposit',
    stateMutability: 'nonpayable',
    inputs: [
      { name: 'jobId', type: 'bytes32' },
      { name: 'amount', type: 'uint256' },
      { name: 'expiresAt', type: 'uint64' },
    ],
    outputs: [],
  },
  {
    type: 'function',
    name: 'claim',
    stateMutability: 'nonpayable',
    inputs: [
      { name: 'batchIds', type: 'uint256[]' },
      { name: 'amounts', type: 'uint256[]' },
      { name: 'proofs', type: 'bytes32[][]' },
      { name: 'restake', type: 'bool' },
    ],
    outputs: [{ name: 'total', type: 'uint256' }],
  },
] as const;

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
    claimable: claimable(payouts)
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

function chainClient(info: LedgerInfo, account?: LocalAccount): Client {
  return createClient({ account, transport: http(info.resolvedRpcUrl, { retryCount: 1, timeout: 30_000 }), pollingInterval: 250 });
}

/** Own stake of each address (one read per address). */
export async function stakesOf(info: LedgerInfo, addresses: Hex[]): Promise<bigint[]> {
  const reader = chainClient(info);
  return Promise.all(
    addresses.map((a) => readContract(reader, { address: info.contracts.staking as Hex, abi: stakingAbi, functionName: 'stakeOf', args: [a] })),
  );
}

export async function stakeStatus(info: LedgerInfo, address: Hex): Promise<StakeStatus> {
  const reader = chainClient(info);
  const { staking, token } = info.contracts;
  const [eligible, staked, balance] = await Promise.all([
    readContract(reader, { address: staking as Hex, abi: stakingAbi, functionName: 'isEligible', args: [address] }),
    readContract(reader, { address: staking as Hex, abi: stakingAbi, functionName: 'stakeOf', args: [address] }),
    readContract(reader, { address: token as Hex, abi: erc20Abi, functionName: 'balanceOf', args: [address] }),
  ]);
  return { eligible, staked, balance, minStake: BigInt(info.params.minStake) };
}

export type StakeStep = 'faucet' | 'approve' | 'stake' | 'done';

/** Stakes what `account` lacks of the gateway's minimum. See the guarantees above. */
export async function stakeMinimum(gateway: string, info: LedgerInfo, account: LocalAccount, onStep: (step: StakeStep) => void = () => {}): Promise<void> {
  const reader = chainClient(info);
  const writer = chainClient(info, account);
  const status = await stakeStatus(info, account.address);
  if (status.eligible) return onStep('done');
  const need = status.minStake > status.staked ? status.minStake - status.staked : 0n;
  const gas = await getBalance(reader, { address: account.address });
  if (status.balance < need || gas === 0n) {
    if (!info.faucet) {
      throw new Error(
        `Staking needs ${need} LODE (smallest units) and gas in ${account.address}; this gateway has no faucet. Fund the account, or stake with \`lode stake add\` using the exported key.`,
      );
    }
    onStep('faucet');
    await requestFaucet(createLodeClient({ gateway }), { address: account.address });
  }
  const staking = info.contracts.staking as Hex;
  const token = info.contracts.token as Hex;
  const allowance = await readContract(reader, { address: token, abi: erc20Abi, functionName: 'allowance', args: [account.address, staking] });
  if (allowance < need) {
    onStep('approve');
    await confirm(
      reader,
      await writeContract(writer, { account, address: token, abi: erc20Abi, functionName: 'approve', args: [staking, need], chain: null }),
      'approving Staking',
    );
  }
  onStep('stake');
  await confirm(
    reader,
    await writeContract(writer, { account, address: staking, abi: stakingAbi, functionName: 'stake', args: [need], chain: null }),
    'staking',
  );
  onStep('done');
}

/** Payouts that can be claimed now: posted, past their challenge window, not yet claimed. */
export function claimable(payouts: PayoutsView['payouts'], now = Date.now()): PayoutsView['payouts'] {
  return payouts.filter(
    (p) => p.status === 'posted' && !p.claimed && p.chainBatchId !== null && p.claimableAt !== null && p.claimableAt <= now && BigInt(p.amount) > 0n,
  );
}

/**
 * Claims every claimable payout of `account` in one transaction (as `lode node` does on its
 * own) and returns the amount claimed (0: nothing to claim, no transaction).
 */
export async function claimEarnings(gateway: string, info: LedgerInfo, account: LocalAccount): Promise<bigint> {
  const { payouts } = await getPayouts(createLodeClient({ gateway }), { address: account.address });
  const ready = claimable(payouts);
  if (ready.length === 0) return 0n;
  const reader = chainClient(info);
  const writer = chainClient(info, account);
  const hash = await writeContract(writer, {
    account,
    address: info.contracts.escrow as Hex,
    abi: jobEscrowAbi,
    functionName: 'claim',
    args: [ready.map((p) => BigInt(p.chainBatchId!)), ready.map((p) => BigInt(p.amount)), ready.map((p) => p.proof as Hex[]), false],
    chain: null,
  });
  await confirm(reader, hash, `claiming ${ready.length} payout(s)`);
  return ready.reduce((n, p) => n + BigInt(p.amount), 0n);
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
  const reader = chainClient(info);
  const writer = chainClient(info, account);
  const token = info.contracts.token as Hex;
  const escrow = info.contracts.escrow as Hex;
  const [balance, gas] = await Promise.all([
    readContract(reader, { address: token, abi: erc20Abi, functionName: 'balanceOf', args: [account.address] }),
    getBalance(reader, { address: account.address }),
  ]);
  if (balance < job.amount || gas === 0n) {
    if (!info.faucet)
      throw new Error(`The job can cost up to ${formatLode(job.amount)}; ${account.address} holds ${formatLode(balance)}. Fund the account first.`);
    onStep('faucet');
    await requestFaucet(createLodeClient({ gateway }), { address: account.address });
  }
  const allowance = await readContract(reader, { address: token, abi: erc20Abi, functionName: 'allowance', args: [account.address, escrow] });
  if (allowance < job.amount) {
    onStep('approve');
    await confirm(
      reader,
      await writeContract(writer, { account, address: token, abi: erc20Abi, functionName: 'approve', args: [escrow, job.amount], chain: null }),
      'approving the escrow',
    );
  }
  onStep('deposit');
  const expiresAt = escrowExpiry(job.deadline);
  await confirm(
    reader,
    await writeContract(writer, {
      account,
      address: escrow,
      abi: jobEscrowAbi,
      functionName: 'deposit',
      args: [escrowJobId(job.jobId), job.amount, expiresAt],
      chain: null,
    }),
    `depositing escrow for job ${job.jobId}`,
  );
}

async function confirm(reader: Client, hash: Hex, what: string): Promise<void> {
  const receipt = await waitForTransactionReceipt(reader, { hash });
  if (receipt.status !== 'success') throw new Error(`The chain reverted the transaction ${what} (${hash}).`);
}

export { formatLode };
