/**
 * What the `lode device` verbs share: this machine's device capabilities (the node's own
 * detection, hashed as DeviceRegistry records them), registering a node with its key's consent,
 * reading a device or failing in words, and the JSON shapes the verbs print.
 */
import { InvalidArgumentError, Option } from 'commander';
import type { Address, Hex, LocalAccount } from 'viem';
import { getBlock } from 'viem/actions';
import { DEVICE_KINDS, getDevice, registerDevice, signDeviceConsent, type DeviceKind, type GetDeviceReturnType, type LedgerClient } from '@lode/ledger/client';
import { LodeError, deviceCapabilities, deviceCapabilitiesHash, type RegisteredDeviceCapabilities } from '@lode/protocol';
import { loadNode } from '../../peers.js';
import { iso } from '../ledger/shared.js';

/** How long a node key's consent stays valid: the owner sends it at once. @default 1 hour */
export const CONSENT_TTL_S = 3600n;

/** The node is not a registered device. */
export class NotADeviceError extends LodeError {
  readonly code = 'NOT_A_DEVICE';
  override readonly httpStatus = 404;
  constructor(node: Address) {
    super(`${node} is not a registered device. Register it with \`lode device register --node <its data dir>\` (\`lode device ls\` lists the devices).`, {
      meta: { node },
    });
  }
}

/** The verb needs a split device (shares) and this one is not split. */
export class DeviceNotSplitError extends LodeError {
  readonly code = 'NOT_SPLIT';
  override readonly httpStatus = 409;
}

/** `--kind`: one of DeviceRegistry's kinds. */
export function kindOption(): Option {
  return new Option('--kind <kind>', "what the device is (default: the node's detected kind; unknown counts as server)").choices(DEVICE_KINDS);
}

/** A parser for a whole number of shares (1 or more). */
export function sharesArg(name: string): (value: string) => bigint {
  return (value) => {
    if (!/^[1-9][0-9]{0,17}$/.test(value)) throw new InvalidArgumentError(`${name} must be a whole number of shares (1 or more), got "${value}".`);
    return BigInt(value);
  };
}

/** This machine's capabilities as a device (what `lode node` detects; no benchmark run) and their hash. */
export async function localDeviceCapabilities(kind?: DeviceKind): Promise<{ capabilities: RegisteredDeviceCapabilities; capabilitiesHash: Hex }> {
  const { detectCapabilities } = await loadNode();
  const capabilities = deviceCapabilities(await detectCapabilities({ benchmark: false }), kind);
  return { capabilities, capabilitiesHash: deviceCapabilitiesHash(capabilities) };
}

/**
 * Registers `node` as a device owned by `owner`'s account: the node key signs its consent (valid
 * CONSENT_TTL_S of chain time), the owner sends it. One transaction.
 */
export async function registerWithConsent(
  owner: LedgerClient,
  node: LocalAccount,
  device: { kind: DeviceKind; capabilitiesHash: Hex },
): Promise<{ deviceId: bigint; txHash: Hex }> {
  const { timestamp } = await getBlock(owner, { blockTag: 'latest' });
  const now = BigInt(Math.floor(Date.now() / 1000));
  const deadline = (timestamp > now ? timestamp : now) + CONSENT_TTL_S;
  const nodeSignature = await signDeviceConsent(node, {
    registry: owner.addresses.registry,
    chainId: owner.addresses.chainId,
    owner: owner.account!.address,
    kind: device.kind,
    capabilitiesHash: device.capabilitiesHash,
    deadline,
  });
  return registerDevice(owner, { node: node.address, kind: device.kind, capabilitiesHash: device.capabilitiesHash, deadline, nodeSignature });
}

/** The device, or NotADeviceError. */
export async function deviceOrFail(ledger: LedgerClient, node: Address): Promise<GetDeviceReturnType> {
  const device = await getDevice(ledger, { node });
  if (!device) throw new NotADeviceError(node);
  return device;
}

/** Percent of `total` held by `shares`, to 4 decimals. */
export function percentOf(shares: bigint, total: bigint): number {
  return total === 0n ? 0 : Number((shares * 1_000_000n) / total) / 10_000;
}

/** A device as `--json` prints it: amounts and counts as decimal strings, times in ISO 8601. */
export function deviceJson(d: GetDeviceReturnType, registry: Address) {
  return {
    node: d.node,
    deviceId: d.deviceId.toString(),
    registry,
    owner: d.owner,
    holder: d.holder,
    payee: d.payee,
    kind: d.kind,
    capabilitiesHash: d.capabilitiesHash,
    joinedAt: iso(d.joinedAt),
    joinedAtSeconds: Number(d.joinedAt),
    split: d.split
      ? {
          shares: d.split.shares,
          totalShares: d.split.totalShares.toString(),
          incomeTotal: d.split.incomeTotal.toString(),
          holderCount: d.split.holderCount,
          holders: d.split.holders.map((h) => ({
            holder: h.holder,
            shares: h.shares.toString(),
            percent: percentOf(h.shares, d.split!.totalShares),
            claimable: h.claimable.toString(),
          })),
        }
      : null,
  };
}
