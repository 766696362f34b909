/**
 * What this machine offers: cores, memory, OS, a device kind for the dashboard, and a short
 * benchmark. The result is what the node's hello carries (and signs, via `capabilitiesHash`).
 */
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { Capabilities } from '@lode/protocol';

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

// A fixed kernel: run(n, x) applies n xorshift32 steps to x and returns x.
//   (func (export "run") (param $n i32) (param $x i32) (result i32)
//     (loop $l  x ^= x << 13; x ^= x >>> 17; x ^= x << 5; n -= 1; (br_if $l (n > 0)))  x)
// Built inline so the benchmark needs no file and measures the same WASM engine tasks use.
const KERNEL = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 7, 1, 96, 2, 127, 127, 1, 127, 3, 2, 1, 0, 7, 7, 1, 3, 114, 117, 110, 0, 0, 10, 53, 1,
  51, 0, 3, 64, 32, 1, 32, 1, 65, 13, 116, 115, 33, 1, 32, 1, 32, 1, 65, 17, 118, 115, 33, 1, 32, 1, 32, 1, 65, 5, 116,
  115, 33, 1, 32, 0, 65, 1, 107, 33, 0, 32, 0, 65, 0, 74, 13, 0, 11, 32, 1, 11,
]);

export interface BenchmarkOptions {
  /** How long to run the kernel. @default 150 */
  durationMs?: number;
}

/**
 * Runs the fixed WASM kernel for about `durationMs` (after a short warm-up) and returns
 * kernel iterations per millisecond, rounded to an integer. Blocks the event loop meanwhile:
 * call it once, at start-up.
 */
export async function benchmark(options: BenchmarkOptions = {}): Promise<number> {
  const durationMs = options.durationMs ?? 150;
  const { instance } = await WebAssembly.instantiate(KERNEL);
  const run = instance.exports.run as (n: number, x: number) => number;
  const chunk = 50_000;
  let x = 1;
  // Warm-up so the tier-up compiler has run before we measure.
  for (let i = 0; i < 5; i++) x = run(chunk, x);
  let iterations = 0;
  const start = performance.now();
  let elapsed = 0;
  do {
    x = run(chunk, x);
    iterations += chunk;
    elapsed = performance.now() - start;
  } while (elapsed < durationMs);
  if (x === 0) throw new Error('benchmark kernel degenerated'); // xorshift never reaches 0 from 1; keeps x live
  return Math.round(iterations / elapsed);
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
