import { getAddress, type Address, type Hex } from 'viem';
import type { LedgerClient } from '../client.js';
import { deviceIdOf, deviceRegistryAbi } from '../contracts.js';
import { write } from './errors.js';

export interface UnsplitDeviceParameters {
  node: Address;
}

export interface UnsplitDeviceReturnType {
  txHash: Hex;
}

/**
 * Ends a device's split: the client's account must hold every share (`NotAllShares`); they are
 * burnt, the share contract closes (past holders still claim what they earned there) and the
 * device token returns to the account.
 *
 * @example
 * await unsplitDevice(client, { node });
 */
export async function unsplitDevice(client: LedgerClient, p: UnsplitDeviceParameters): Promise<UnsplitDeviceReturnType> {
  const node = getAddress(p.node);
  const receipt = await write(client, `Unsplitting device ${node}`, {
    address: client.addresses.registry,
    abi: deviceRegistryAbi,
    functionName: 'unsplit',
    args: [deviceIdOf(node)],
  });
  return { txHash: receipt.transactionHash };
}
