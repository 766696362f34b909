import type { Hex } from 'viem';
import type { LedgerClient } from '../client.js';
import { jobEscrowAbi } from '../contracts.js';
import { write } from './errors.js';

export interface ClaimablePayout {
  /** JobEscrow's batch id. */
  batchId: bigint;
  amount: bigint;
  proof: Hex[];
}

export interface ClaimPayoutsParameters {
  payouts: ClaimablePayout[];
  /** Stake what is claimed with the claiming provider instead of receiving it. @default false */
  restake?: boolean;
}

export interface ClaimPayoutsReturnType {
  amount: bigint;
  batches: number;
  txHash: Hex | null;
}

/** Claims several final payouts in one transaction (nothing to do: no transaction). */
export async function claimPayouts(client: LedgerClient, p: ClaimPayoutsParameters): Promise<ClaimPayoutsReturnType> {
  const payouts = p.payouts.filter((x) => x.amount > 0n);
  if (payouts.length === 0) return { amount: 0n, batches: 0, txHash: null };
  const receipt = await write(client, `Claiming ${payouts.length} payout(s)`, {
    address: client.addresses.escrow,
    abi: jobEscrowAbi,
    functionName: 'claim',
    args: [payouts.map((x) => x.batchId), payouts.map((x) => x.amount), payouts.map((x) => x.proof), p.restake ?? false],
  });
  return { amount: payouts.reduce((s, x) => s + x.amount, 0n), batches: payouts.length, txHash: receipt.transactionHash };
}
