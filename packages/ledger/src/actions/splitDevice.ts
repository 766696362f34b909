import { getAddress, parseEventLogs, type Address, type Hex } from 'viem';
import type { LedgerClient } from '../client.js';
import { deviceIdOf, deviceRegistryAbi } from '../contracts.js';
import { write } from './errors.js';

export interface SplitDeviceParameters {
  node: Address;
  /** Whole shares to split the income into: 2 … 1e12 (`InvalidShareCount`). */
  count: bigint;
}

export interface SplitDeviceReturnType {
  /** The new DeviceShares contract; the client's account holds every share. */
  shares: Address;
  count: bigint;
  txHash: Hex;
}

/**
 * Splits the client's device into `count` shares: the token moves into DeviceRegistry and the
 * account receives every share of a new DeviceShares, which receives the device's payouts from
 * then on and shares them pro rata among whoever holds shares when they arrive. Only the token's
 * holder may (`NotDeviceOwner`), once (`AlreadySplit`).
 *
 * @example
 * const { shares } = await splitDevice(client, { node, count: 100n });
 */
export async function splitDevice(client: LedgerClient, p: SplitDeviceParameters): Promise<SplitDeviceReturnType> {
  const node = getAddress(p.node);
  const action = `Splitting device ${node} into ${p.count} shares`;
  const receipt = await write(client, action, {
    address: client.addresses.registry,
    abi: deviceRegistryAbi,
    functionName: 'split',
    args: [deviceIdOf(node), p.count],
  });
  const [event] = parseEventLogs({ abi: deviceRegistryAbi, eventName: 'DeviceSplit', logs: receipt.logs });
  if (!event) throw new Error(`${action}: transaction ${receipt.transactionHash} emitted no DeviceSplit event`);
  return { shares: event.args.shares, count: event.args.count, txHash: receipt.transactionHash };
}
