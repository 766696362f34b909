import { getAddress, parseEventLogs, type Address, type Hex } from 'viem';
import { accountOf, type LedgerClient } from '../client.js';
import { deviceSharesAbi } from '../contracts.js';
import { write } from './errors.js';

export interface ClaimDeviceSharesParameters {
  /** The device's share contract (open, or closed by an unsplit: past holders claim there). */
  shares: Address;
  /** Claim for this holder (the tokens go to it; anyone may trigger it). @default the client's account */
  holder?: Address;
}

export interface ClaimDeviceSharesReturnType {
  holder: Address;
  /** Token wei paid to the holder. */
  amount: bigint;
  txHash: Hex;
}

/**
 * Pays a shareholder its unclaimed part of the device's income (`claim`, or `claimFor` another
 * holder). Refused with `NothingToClaim` when there is none.
 *
 * @example
 * const { amount } = await claimDeviceShares(client, { shares });
 */
export async function claimDeviceShares(client: LedgerClient, p: ClaimDeviceSharesParameters): Promise<ClaimDeviceSharesReturnType> {
  const self = accountOf(client, 'Claiming share income').address;
  const holder = getAddress(p.holder ?? self);
  const action = `Claiming the share income of ${holder}`;
  const receipt =
    holder === self
      ? await write(client, action, { address: p.shares, abi: deviceSharesAbi, functionName: 'claim', args: [] })
      : await write(client, action, { address: p.shares, abi: deviceSharesAbi, functionName: 'claimFor', args: [holder] });
  const [event] = parseEventLogs({ abi: deviceSharesAbi, eventName: 'IncomeClaimed', logs: receipt.logs });
  return { holder, amount: event?.args.amount ?? 0n, txHash: receipt.transactionHash };
}
