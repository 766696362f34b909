import type { Address, Hex } from 'viem';
import type { LedgerClient } from '../client.js';
import { deviceIdOf, deviceRegistryAbi, type DeviceKind } from '../contracts.js';
import { write } from './errors.js';
import { deviceKindIndex } from './signDeviceConsent.js';

export interface RegisterDeviceParameters {
  /** The node's address (its key signed the consent). */
  node: Address;
  kind: DeviceKind;
  capabilitiesHash: Hex;
  /** The consent's deadline, as signed. */
  deadline: bigint;
  /** The node key's `RegisterDevice` signature naming the client's account as owner (`signDeviceConsent`). */
  nodeSignature: Hex;
}

export interface RegisterDeviceReturnType {
  /** The device token's id: uint160(node). */
  deviceId: bigint;
  txHash: Hex;
}

/**
 * Registers `node` as a device owned by the client's account, which receives the device token
 * (id = the node's address) and from then on the node's payouts. Refusals arrive in words before
 * anything is sent: a node registered already (`DeviceAlreadyRegistered`), a consent signed by
 * another key or for another owner or details (`InvalidNodeSignature`), past its deadline
 * (`SignatureExpired`).
 *
 * @example
 * const nodeSignature = await signDeviceConsent(nodeAccount, { registry, chainId, owner: me, kind, capabilitiesHash, deadline });
 * const { deviceId } = await registerDevice(client, { node: nodeAccount.address, kind, capabilitiesHash, deadline, nodeSignature });
 */
export async function registerDevice(client: LedgerClient, p: RegisterDeviceParameters): Promise<RegisterDeviceReturnType> {
  const receipt = await write(client, `Registering device ${p.node}`, {
    address: client.addresses.registry,
    abi: deviceRegistryAbi,
    functionName: 'register',
    args: [p.node, deviceKindIndex(p.kind), p.capabilitiesHash, p.deadline, p.nodeSignature],
  });
  return { deviceId: deviceIdOf(p.node), txHash: receipt.transactionHash };
}
