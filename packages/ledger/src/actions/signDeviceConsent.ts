import { InvalidRequestError } from '@lode/protocol';
import type { Address, Hex, LocalAccount } from 'viem';
import { DEVICE_KINDS, type DeviceKind } from '../contracts.js';

/** DeviceRegistry's EIP-712 `RegisterDevice` type, as the contract hashes it. */
export const REGISTER_DEVICE_TYPES = {
  RegisterDevice: [
    { name: 'node', type: 'address' },
    { name: 'owner', type: 'address' },
    { name: 'kind', type: 'uint8' },
    { name: 'capabilitiesHash', type: 'bytes32' },
    { name: 'deadline', type: 'uint256' },
  ],
} as const;

export interface SignDeviceConsentParameters {
  /** The DeviceRegistry the consent is for (its EIP-712 verifying contract). */
  registry: Address;
  chainId: number;
  /** The account that will send `register` and receive the device token. */
  owner: Address;
  kind: DeviceKind;
  /** keccak256 of the device's capabilities (`deviceCapabilitiesHash` in @lode/protocol). */
  capabilitiesHash: Hex;
  /** Unix seconds (chain time) after which the consent is refused (`SignatureExpired`). */
  deadline: bigint;
}

/** The node key that signs: any account with `signTypedData` (a local key, a keystore's). */
export type DeviceConsentSigner = Pick<LocalAccount, 'address' | 'signTypedData'>;

/** The index of a device kind in DeviceRegistry.Kind; InvalidRequestError for another name. */
export function deviceKindIndex(kind: DeviceKind): number {
  const i = DEVICE_KINDS.indexOf(kind);
  if (i < 0) throw new InvalidRequestError(`Unknown device kind "${String(kind)}"; one of ${DEVICE_KINDS.join(', ')}.`);
  return i;
}

/**
 * The node key's consent to be registered as a device owned by `owner`: its EIP-712
 * `RegisterDevice` signature in the domain {name 'Lode DeviceRegistry', version '1', chainId,
 * registry}. The signature binds the owner, kind, capabilities and deadline, so nobody can
 * register the node to another owner or with other details; the owner passes it to
 * `registerDevice`.
 *
 * @example
 * const nodeSignature = await signDeviceConsent(nodeAccount, { registry, chainId, owner, kind: 'laptop', capabilitiesHash, deadline });
 */
export async function signDeviceConsent(node: DeviceConsentSigner, p: SignDeviceConsentParameters): Promise<Hex> {
  return node.signTypedData({
    domain: { name: 'Lode DeviceRegistry', version: '1', chainId: p.chainId, verifyingContract: p.registry },
    types: REGISTER_DEVICE_TYPES,
    primaryType: 'RegisterDevice',
    message: { node: node.address, owner: p.owner, kind: deviceKindIndex(p.kind), capabilitiesHash: p.capabilitiesHash, deadline: p.deadline },
  });
}
