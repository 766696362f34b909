import { getAddress, parseEventLogs, type Address, type Hex } from 'viem';
import type { LedgerClient } from '../client.js';
import { jobEscrowAbi } from '../contracts.js';
import type { ClaimablePayout } from './claimPayouts.js';
import { write } from './errors.js';

export interface ClaimDevicePayoutsParameters {
  /** The registered device's node (the address in the payout trees). */
  node: Address;
  payouts: ClaimablePayout[];
}

export interface ClaimDevicePayoutsReturnType {
  amount: bigint;
  batches: number;
  /** Who was paid: the device's owner, or its share contract while split. */
  payee: Address | null;
  txHash: Hex | null;
}

/**
 * Claims a registered device's final payouts without the node key (`JobEscrow.claimDevice`):
 * anyone may send it, the sum goes to the device's payee. Nothing to do: no transaction.
 * Refused with `NotADevice` for a node that is not registered (its own key claims).
 *
 * @example
 * await claimDevicePayouts(ownerClient, { node, payouts });
 */
export async function claimDevicePayouts(client: LedgerClient, p: ClaimDevicePayoutsParameters): Promise<ClaimDevicePayoutsReturnType> {
  const payouts = p.payouts.filter((x) => x.amount > 0n);
  if (payouts.length === 0) return { amount: 0n, batches: 0, payee: null, txHash: null };
  const node = getAddress(p.node);
  const receipt = await write(client, `Claiming ${payouts.length} payout(s) of device ${node}`, {
    address: client.addresses.escrow,
    abi: jobEscrowAbi,
    functionName: 'claimDevice',
    args: [node, payouts.map((x) => x.batchId), payouts.map((x) => x.amount), payouts.map((x) => x.proof)],
  });
  const [paid] = parseEventLogs({ abi: jobEscrowAbi, eventName: 'DevicePaid', logs: receipt.logs });
  return {
    amount: payouts.reduce((s, x) => s + x.amount, 0n),
    batches: payouts.length,
    payee: paid ? getAddress(paid.args.payee) : null,
    txHash: receipt.transactionHash,
  };
}
