/**
 * A device's capabilities as DeviceRegistry records them: the hash the node key signs when it
 * consents to be registered (`RegisterDevice.capabilitiesHash`), over what identifies the machine
 * rather than what changes with each start (slots, prices, the benchmark).
 *
 *   capabilitiesHash = keccak256(utf8(canonicalJson({ arch, cores, kind, memoryMiB, os })))
 *
 * @example
 * const caps = deviceCapabilities(await detectCapabilities({ benchmark: false }));
 * const hash = deviceCapabilitiesHash(caps); // what `lode device register` signs
 */
import { keccak256, toBytes, type Hex } from 'viem';
import { canonicalJson } from './encoding.js';
import type { Capabilities } from './messages.js';

/** DeviceRegistry.Kind, in the contract's order (a node's 'unknown' kind has no place there). */
export const REGISTERED_DEVICE_KINDS = ['server', 'laptop', 'board', 'browser', 'phone'] as const;
export type RegisteredDeviceKind = (typeof REGISTERED_DEVICE_KINDS)[number];

/** What a registered device's capabilities hash covers. */
export interface RegisteredDeviceCapabilities {
  cores: number;
  memoryMiB: number;
  os: string;
  arch: string;
  kind: RegisteredDeviceKind;
}

/**
 * The registered part of a node's capabilities. The kind is `kind` when given, else the node's
 * detected kind, with 'unknown' (macOS, Windows: the node does not guess) registered as 'server'.
 */
export function deviceCapabilities(
  caps: Pick<Capabilities, 'cores' | 'memoryMiB' | 'os' | 'arch' | 'kind'>,
  kind?: RegisteredDeviceKind,
): RegisteredDeviceCapabilities {
  return { cores: caps.cores, memoryMiB: caps.memoryMiB, os: caps.os, arch: caps.arch, kind: kind ?? (caps.kind === 'unknown' ? 'server' : caps.kind) };
}

/** keccak256 of the capabilities' canonical JSON (keys sorted, no whitespace), as bytes32 hex. */
export function deviceCapabilitiesHash(caps: RegisteredDeviceCapabilities): Hex {
  const { cores, memoryMiB, os, arch, kind } = caps;
  return keccak256(toBytes(canonicalJson({ cores, memoryMiB, os, arch, kind })));
}
