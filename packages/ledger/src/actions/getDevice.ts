import { getAddress, zeroAddress, type Address, type Hex } from 'viem';
import { getBlockNumber, getContractEvents, readContract } from 'viem/actions';
import type { LedgerClient } from '../client.js';
import { DEVICE_KINDS, deviceIdOf, deviceRegistryAbi, deviceSharesAbi, lodeTokenAbi, type DeviceKind } from '../contracts.js';

/** The most shareholders `getDevice` lists (each costs one `claimableOf` read); the largest first. */
export const DEVICE_HOLDERS_LIMIT = 100;

export interface GetDeviceParameters {
  /** The device's node address (its token id is uint160(node)). */
  node: Address;
}

export interface DeviceShareHolder {
  holder: Address;
  /** Whole shares held now (0 for a past holder that still has income to claim). */
  shares: bigint;
  /** What `claim` would pay the holder now (token wei). */
  claimable: bigint;
}

export interface DeviceSplit {
  /** The DeviceShares contract (an ERC-20 of whole shares) that receives the device's payouts. */
  shares: Address;
  totalShares: bigint;
  /** Income the share contract has received so far (token wei): what the holders share. */
  incomeTotal: bigint;
  /** Holders now, and past holders with income still to claim; most shares first, at most DEVICE_HOLDERS_LIMIT. */
  holders: DeviceShareHolder[];
  /** How many accounts hold shares now (may be more than `holders` lists). */
  holderCount: number;
}

export interface GetDeviceReturnType {
  /** The device token's id: uint160(node). */
  deviceId: bigint;
  node: Address;
  /** Who holds the device token (DeviceRegistry itself while the device is split). */
  holder: Address;
  /** The device's owner: the token's holder; null while split (the shareholders own its income). */
  owner: Address | null;
  /** Where JobEscrow pays the device's claims: the owner, or the share contract while split. */
  payee: Address;
  kind: DeviceKind;
  capabilitiesHash: Hex;
  /** When it registered (Unix seconds, chain time). */
  joinedAt: bigint;
  split: DeviceSplit | null;
}

/**
 * One device as DeviceRegistry holds it: token, holder, kind, capabilities hash, join time, and
 * when split its share contract with the holders' shares and claimable income. The holders come
 * from the share contract's `Transfer` events (since the deployment) and are read at one block,
 * so shares and income agree. Null when the node is not a registered device.
 *
 * @example
 * const device = await getDevice(client, { node });
 * if (device?.split) for (const h of device.split.holders) console.log(h.holder, h.shares, h.claimable);
 */
export async function getDevice(client: LedgerClient, p: GetDeviceParameters): Promise<GetDeviceReturnType | null> {
  const node = getAddress(p.node);
  const registry = client.addresses.registry;
  const deviceId = deviceIdOf(node);
  // One block for every read (not a cached number: a write just made must be seen).
  const blockNumber = await getBlockNumber(client, { cacheTime: 0 });
  const [payee, registered] = await readContract(client, { address: registry, abi: deviceRegistryAbi, functionName: 'payeeOf', args: [node], blockNumber });
  if (!registered) return null;
  const [device, holder] = await readContract(client, { address: registry, abi: deviceRegistryAbi, functionName: 'deviceOf', args: [deviceId], blockNumber });
  const split = device.shares === zeroAddress ? null : await splitOf(client, device.shares, blockNumber);
  return {
    deviceId,
    node,
    holder,
    owner: split ? null : holder,
    payee,
    kind: DEVICE_KINDS[device.kind] ?? 'server',
    capabilitiesHash: device.capabilitiesHash,
    joinedAt: BigInt(device.joinedAt),
    split,
  };
}

/** A share contract's totals and holders at `blockNumber`. */
export async function splitOf(client: LedgerClient, shares: Address, blockNumber: bigint): Promise<DeviceSplit> {
  const read = <const name extends 'totalShares' | 'closed' | 'incomeTotal' | 'withdrawnTotal' | 'strayPaid'>(functionName: name) =>
    readContract(client, { address: shares, abi: deviceSharesAbi, functionName, blockNumber });
  const [totalShares, closed, recognised, withdrawn, stray, balance, transfers] = await Promise.all([
    read('totalShares'),
    read('closed'),
    read('incomeTotal'),
    read('withdrawnTotal'),
    read('strayPaid'),
    readContract(client, { address: client.addresses.token, abi: lodeTokenAbi, functionName: 'balanceOf', args: [shares], blockNumber }),
    getContractEvents(client, {
      address: shares,
      abi: deviceSharesAbi,
      eventName: 'Transfer',
      fromBlock: BigInt(client.addresses.deployBlock),
      toBlock: blockNumber,
    }),
  ]);
  // Balances replayed from the events (mint, transfers, burn): no read per holder.
  const held = new Map<Address, bigint>();
  for (const e of transfers) {
    const { from, to, value } = e.args;
    if (from && from !== zeroAddress) held.set(getAddress(from), (held.get(getAddress(from)) ?? 0n) - (value ?? 0n));
    if (to && to !== zeroAddress) held.set(getAddress(to), (held.get(getAddress(to)) ?? 0n) + (value ?? 0n));
  }
  const ranked = [...held.entries()].sort(([a, x], [b, y]) => (x === y ? a.localeCompare(b) : x > y ? -1 : 1)).slice(0, DEVICE_HOLDERS_LIMIT);
  const claimable = await Promise.all(
    ranked.map(([holder]) => readContract(client, { address: shares, abi: deviceSharesAbi, functionName: 'claimableOf', args: [holder], blockNumber })),
  );
  return {
    shares,
    totalShares,
    // Income not yet recognised (arrived since the last transfer or claim) is shared too, as claimableOf counts it.
    incomeTotal: closed ? recognised : balance + withdrawn + stray,
    holders: ranked.map(([holder, n], i) => ({ holder, shares: n, claimable: claimable[i]! })).filter((h) => h.shares > 0n || h.claimable > 0n),
    holderCount: [...held.values()].filter((n) => n > 0n).length,
  };
}
