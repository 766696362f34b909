import { TransactionRevertedError } from '@lode/protocol';
import { getAddress, type Address, type Hex } from 'viem';
import { readContract } from 'viem/actions';
import { accountOf, type LedgerClient } from '../client.js';
import { deviceSharesAbi } from '../contracts.js';
import { write } from './errors.js';

export interface TransferDeviceSharesParameters {
  /** The device's share contract (`getDevice(…).split.shares`). */
  shares: Address;
  to: Address;
  /** Whole shares. */
  amount: bigint;
}

export interface TransferDeviceSharesReturnType {
  txHash: Hex;
}

/**
 * Sells (or gives) whole shares of a split device's income. Income received before the transfer
 * stays with the seller (claimable by it); income after it is the buyer's. Holding fewer shares
 * than `amount` is refused, in shares, before anything is sent.
 *
 * @example
 * await transferDeviceShares(client, { shares: device.split.shares, to: buyer, amount: 10n });
 */
export async function transferDeviceShares(client: LedgerClient, p: TransferDeviceSharesParameters): Promise<TransferDeviceSharesReturnType> {
  const from = accountOf(client, 'Transferring device shares').address;
  const to = getAddress(p.to);
  const action = `Transferring ${p.amount} share(s) of ${p.shares} to ${to}`;
  const held = await readContract(client, { address: p.shares, abi: deviceSharesAbi, functionName: 'balanceOf', args: [from] });
  if (held < p.amount) {
    // The token's own words (ERC20InsufficientBalance) would speak of LODE; these are shares.
    throw new TransactionRevertedError(
      `${action} was refused by the contract (ERC20InsufficientBalance). The account holds fewer shares of this device than that.`,
      {
        meta: { errorName: 'ERC20InsufficientBalance', args: [from, String(held), String(p.amount)] },
        details: `It holds ${held} share(s); this needs ${p.amount}.`,
      },
    );
  }
  const receipt = await write(client, action, { address: p.shares, abi: deviceSharesAbi, functionName: 'transfer', args: [to, p.amount] });
  return { txHash: receipt.transactionHash };
}
