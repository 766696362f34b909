import { getAddress, type Address, type Hex } from 'viem';
import { accountOf, type LedgerClient } from '../client.js';
import { deviceIdOf, deviceRegistryAbi } from '../contracts.js';
import { write } from './errors.js';

export interface TransferDeviceParameters {
  /** The device's node address. */
  node: Address;
  /** The new owner. */
  to: Address;
}

export interface TransferDeviceReturnType {
  txHash: Hex;
}

/**
 * Sells (or gives) a device: moves its token from the client's account to `to`, who receives its
 * payouts from then on (`safeTransferFrom`: a contract receiver must accept ERC-721 tokens). The
 * node's stake stays with the node key. Refused in words when the account does not hold the token
 * (`ERC721IncorrectOwner`, or `ERC721InsufficientApproval` — a split device's token is held by
 * the registry: sell shares with `transferDeviceShares`, or unsplit first).
 *
 * @example
 * await transferDevice(client, { node, to: buyer });
 */
export async function transferDevice(client: LedgerClient, p: TransferDeviceParameters): Promise<TransferDeviceReturnType> {
  const from = accountOf(client, 'Transferring a device').address;
  const to = getAddress(p.to);
  const receipt = await write(client, `Transferring device ${p.node} to ${to}`, {
    address: client.addresses.registry,
    abi: deviceRegistryAbi,
    functionName: 'safeTransferFrom',
    args: [from, to, deviceIdOf(getAddress(p.node))],
  });
  return { txHash: receipt.transactionHash };
}
