import { getAddress, zeroAddress, type Address, type Hex } from 'viem';
import { getBlockNumber, readContract } from 'viem/actions';
import type { LedgerClient } from '../client.js';
import { DEVICE_KINDS, deviceRegistryAbi, nodeOfDeviceId, type DeviceKind } from '../contracts.js';

/** The most devices `listDevices` returns (each costs two reads); `truncated` says when there are more. */
export const DEVICE_LIST_LIMIT = 1000;
/** Reads in flight at once while listing. */
const CONCURRENCY = 16;

export interface ListDevicesParameters {
  /** Only the devices whose token this account holds (a split device's token is held by the registry). */
  owner?: Address;
  /** @default DEVICE_LIST_LIMIT (also the most allowed) */
  limit?: number;
}

export interface DeviceSummary {
  deviceId: bigint;
  node: Address;
  /** The token's holder (DeviceRegistry while split). */
  holder: Address;
  /** The holder, or null while split. */
  owner: Address | null;
  kind: DeviceKind;
  capabilitiesHash: Hex;
  /** Unix seconds, chain time. */
  joinedAt: bigint;
  /** The share contract while split, else null. */
  shares: Address | null;
}

export interface ListDevicesReturnType {
  /** In DeviceRegistry's enumeration order (by owner: that owner's token order). */
  devices: DeviceSummary[];
  /** How many devices there are (registered, or held by `owner`). */
  total: number;
  /** More devices exist than were returned. */
  truncated: boolean;
}

/**
 * The registered devices, or those whose token `owner` holds, through ERC721Enumerable: the
 * count, then each token id and its `deviceOf`, read at one block. At most `limit` devices
 * (DEVICE_LIST_LIMIT, 1,000) are read: a public registry can hold more than a caller should
 * read at once, and a gateway's `/rpc` rate-limits its clients.
 *
 * @example
 * const { devices, total } = await listDevices(client, { owner: me });
 */
export async function listDevices(client: LedgerClient, p: ListDevicesParameters = {}): Promise<ListDevicesReturnType> {
  const address = client.addresses.registry;
  const limit = Math.max(0, Math.min(p.limit ?? DEVICE_LIST_LIMIT, DEVICE_LIST_LIMIT));
  const owner = p.owner ? getAddress(p.owner) : undefined;
  const blockNumber = await getBlockNumber(client, { cacheTime: 0 });
  const total = Number(
    owner
      ? await readContract(client, { address, abi: deviceRegistryAbi, functionName: 'balanceOf', args: [owner], blockNumber })
      : await readContract(client, { address, abi: deviceRegistryAbi, functionName: 'totalSupply', blockNumber }),
  );
  const indexes = [...Array(Math.min(total, limit)).keys()].map(BigInt);
  const devices = await mapLimit(indexes, CONCURRENCY, async (i) => {
    const deviceId = owner
      ? await readContract(client, { address, abi: deviceRegistryAbi, functionName: 'tokenOfOwnerByIndex', args: [owner, i], blockNumber })
      : await readContract(client, { address, abi: deviceRegistryAbi, functionName: 'tokenByIndex', args: [i], blockNumber });
    const [device, holder] = await readContract(client, { address, abi: deviceRegistryAbi, functionName: 'deviceOf', args: [deviceId], blockNumber });
    const split = device.shares !== zeroAddress;
    return {
      deviceId,
      node: nodeOfDeviceId(deviceId),
      holder,
      owner: split ? null : holder,
      kind: DEVICE_KINDS[device.kind] ?? 'server',
      capabilitiesHash: device.capabilitiesHash,
      joinedAt: BigInt(device.joinedAt),
      shares: split ? device.shares : null,
    } satisfies DeviceSummary;
  });
  return { devices, total, truncated: total > devices.length };
}

/** `items.map(fn)` with at most `limit` calls in flight, results in order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
