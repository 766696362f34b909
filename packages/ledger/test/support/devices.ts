/**
 * Device helpers for the contract tests: the node key's EIP-712 consent to be registered, and a
 * registration sent by the owner.
 *
 * @example
 * await registerDevice(f, 'p1', 'alice'); // p1's node key consents, alice sends and gets the token
 */
import { keccak256, toHex, type Address, type Hex, type LocalAccount } from 'viem';
import { DEVICE_KINDS, type DeviceKind } from '../../src/contracts.js';
import { REGISTER_DEVICE_TYPES } from '../../src/actions/signDeviceConsent.js';
import { accounts, type ActorName, type LedgerFixture } from './ledger.js';

export interface Consent {
  node: Address;
  owner: Address;
  kind: number;
  capabilitiesHash: Hex;
  deadline: bigint;
}

/** `signer`'s signature of `consent` in the registry's domain (the node key signs its own). */
export async function signConsent(f: LedgerFixture, signer: LocalAccount, consent: Consent): Promise<Hex> {
  return signer.signTypedData({
    domain: { name: 'Lode DeviceRegistry', version: '1', chainId: f.addresses.chainId, verifyingContract: f.addresses.registry },
    types: REGISTER_DEVICE_TYPES,
    primaryType: 'RegisterDevice',
    message: consent,
  });
}

/** Registers `node` (an actor's key) as a device owned by `owner`; returns the token id. */
export async function registerDevice(
  f: LedgerFixture,
  node: ActorName,
  owner: ActorName,
  options: { kind?: DeviceKind; capabilities?: string } = {},
): Promise<bigint> {
  const consent: Consent = {
    node: accounts[node].address,
    owner: accounts[owner].address,
    kind: DEVICE_KINDS.indexOf(options.kind ?? 'server'),
    capabilitiesHash: keccak256(toHex(options.capabilities ?? '{"cores":2,"memoryMiB":4096}')),
    deadline: (await f.now()) + 600n,
  };
  const signature = await signConsent(f, accounts[node] as LocalAccount, consent);
  await f.tx(f.registry(owner).write.register([consent.node, consent.kind, consent.capabilitiesHash, consent.deadline, signature]));
  return BigInt(consent.node);
}
