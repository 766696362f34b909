/**
 * What this machine offers: cores, memory, OS, a device kind for the dashboard, and the
 * providers' short benchmark (@lode/provider benchmark.ts). The result is what the node's hello carries (and signs, via `capabilitiesHash`).
 */
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { Capabilities } from '@lode/protocol';
import { benchmark } from '@lode/provider';

export type DeviceKind = Capabilities['kind'];

/** The agent string sent in capabilities. */
export const AGENT = `lode-node/0.1.0 node/${process.versions.node}`;

export interface DeviceKindInput {
  platform: NodeJS.Platform;
  arch: string;
  memoryMiB: number;
  /** Linux power-supply class directory. @default /sys/class/power_supply */
  powerSupplyDir?: string;
}

/**
 * Guesses the device kind. A battery means a laptop (or a phone running Node, close enough);
 * an ARM machine with at most 8 GiB is a single-board computer; other Linux machines are
 * servers; macOS and Windows report `unknown` rather than guess.
 */
export function detectDeviceKind(input: DeviceKindInput): DeviceKind {
  if (input.platform === 'linux' && hasBattery(input.powerSupplyDir ?? '/sys/class/power_supply')) return 'laptop';
  if ((input.arch === 'arm' || input.arch === 'arm64') && input.memoryMiB <= 8 * 1024 && input.platform === 'linux') return 'board';
  if (input.platform === 'linux' || input.platform === 'freebsd') return 'server';
  return 'unknown';
}

function hasBattery(dir: string): boolean {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return false;
  }
  return entries.some((name) => {
    try {
      return readFileSync(join(dir, name, 'type'), 'utf8').trim() === 'Battery';
    } catch {
      return false;
    }
  });
}

export interface DetectCapabilitiesOptions {
  /** Tasks run at once. @default os.availableParallelism() */
  slots?: number;
  /** Price per task in the token's smallest unit. @default '0' */
  pricePerTask?: string;
  /** Price per unit of fuel, token's smallest unit. @default '0' */
  pricePerFuel?: string;
  /** A benchmark figure to report; `undefined` runs `benchmark()`, `false` reports 0. */
  benchmark?: number | false;
}

/**
 * Detects this machine's capabilities and validates them against the protocol schema
 * (throws a ZodError for, say, a malformed price).
 */
export async function detectCapabilities(options: DetectCapabilitiesOptions = {}): Promise<Capabilities> {
  const cores = os.availableParallelism();
  const memoryMiB = Math.max(1, Math.floor(os.totalmem() / (1024 * 1024)));
  const bench = options.benchmark === false ? 0 : (options.benchmark ?? (await benchmark()));
  return Capabilities.parse({
    cores,
    memoryMiB,
    os: `${os.platform()} ${os.release()}`.slice(0, 64),
    arch: os.arch(),
    kind: detectDeviceKind({ platform: os.platform(), arch: os.arch(), memoryMiB }),
    slots: options.slots ?? cores,
    pricePerTask: options.pricePerTask ?? '0',
    pricePerFuel: options.pricePerFuel ?? '0',
    benchmark: bench,
    agent: AGENT,
  });
}
