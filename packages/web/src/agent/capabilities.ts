/**
 * What a browser offers: its cores, an estimate of its memory, a device kind of `browser`, and
 * the same short benchmark as `lode node` (the same WASM kernel, so figures compare). This is
 * what the hello carries and signs.
 */
import { Capabilities } from '@lode/protocol';

/** The agent string's version. */
export const WEB_AGENT_VERSION = '0.1.0';

/** What capabilities are read from (the browser's `navigator`, or a stand-in in tests). */
export interface NavigatorLike {
  hardwareConcurrency?: number;
  /** GiB, rounded down to a power of two and capped at 8 (Chromium only). */
  deviceMemory?: number;
  userAgent?: string;
  platform?: string;
  userAgentData?: { platform?: string; brands?: Array<{ brand: string; version: string }>; mobile?: boolean };
}

/**
 * Memory the page offers when the browser does not say (Firefox, Safari): 1 GiB, which every
 * device able to run a modern browser has to spare for a tab. @default 1024
 */
export const DEFAULT_BROWSER_MEMORY_MIB = 1024;
/** A wasm32 memory cannot exceed 4 GiB, whatever the device has. */
const MAX_MEMORY_MIB = 4096;

/** The cores the page may use: `navigator.hardwareConcurrency`, at least 1. */
export function browserCores(nav: NavigatorLike = (globalThis.navigator as NavigatorLike | undefined) ?? {}): number {
  const n = Math.floor(nav.hardwareConcurrency ?? 1);
  return Number.isFinite(n) && n >= 1 ? Math.min(n, 4096) : 1;
}

/** `browser-name/version` from User-Agent Client Hints or the user agent string. */
export function browserName(nav: NavigatorLike): string {
  const brand = nav.userAgentData?.brands?.find((b) => !/not.?a.?brand/i.test(b.brand) && b.brand !== 'Chromium') ??
    nav.userAgentData?.brands?.find((b) => !/not.?a.?brand/i.test(b.brand));
  if (brand) return `${brand.brand.replace(/\s+/g, '-')}/${brand.version}`;
  const ua = nav.userAgent ?? '';
  const m = /(Firefox|Edg|Chrome|Chromium|Version)\/([\d.]+)/.exec(ua);
  if (!m) return 'browser';
  const name = m[1] === 'Version' ? 'Safari' : m[1] === 'Edg' ? 'Edge' : m[1]!;
  return `${name}/${m[2]!.split('.')[0]}`;
}

// The kernel of `lode node`'s benchmark (packages/node/src/capabilities.ts), byte for byte:
// run(n, x) applies n xorshift32 steps to x and returns x.
const KERNEL = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 7, 1, 96, 2, 127, 127, 1, 127, 3, 2, 1, 0, 7, 7, 1, 3, 114, 117, 110, 0, 0, 10, 53, 1,
  51, 0, 3, 64, 32, 1, 32, 1, 65, 13, 116, 115, 33, 1, 32, 1, 32, 1, 65, 17, 118, 115, 33, 1, 32, 1, 32, 1, 65, 5, 116,
  115, 33, 1, 32, 0, 65, 1, 107, 33, 0, 32, 0, 65, 0, 74, 13, 0, 11, 32, 1, 11,
]);

/**
 * Runs the kernel for about `durationMs` after a short warm-up and returns iterations per
 * millisecond (integer). Blocks the page meanwhile: call it once, at start.
 */
export async function benchmark(durationMs = 100): Promise<number> {
  const { instance } = await WebAssembly.instantiate(KERNEL);
  const run = instance.exports.run as (n: number, x: number) => number;
  const chunk = 50_000;
  let x = 1;
  for (let i = 0; i < 5; i++) x = run(chunk, x);
  let iterations = 0;
  const start = performance.now();
  let elapsed = 0;
  do {
    x = run(chunk, x);
    iterations += chunk;
    elapsed = performance.now() - start;
  } while (elapsed < durationMs);
  if (x === 0) throw new Error('benchmark kernel degenerated');
  return Math.round(iterations / elapsed);
}

export interface BrowserCapabilitiesOptions {
  slots: number;
  nav?: NavigatorLike;
  /** A benchmark figure; `undefined` runs `benchmark()`. */
  benchmark?: number;
  /** @default '0' */
  pricePerTask?: string;
}

/** The capabilities this page announces, validated against the protocol schema. */
export async function detectBrowserCapabilities(options: BrowserCapabilitiesOptions): Promise<Capabilities> {
  const nav: NavigatorLike = options.nav ?? (globalThis.navigator as NavigatorLike | undefined) ?? {};
  const cores = browserCores(nav);
  const memoryMiB = nav.deviceMemory ? Math.min(MAX_MEMORY_MIB, Math.max(256, Math.floor(nav.deviceMemory * 1024))) : DEFAULT_BROWSER_MEMORY_MIB;
  const platform = nav.userAgentData?.platform || nav.platform || 'unknown';
  return Capabilities.parse({
    cores,
    memoryMiB,
    os: `${platform}${nav.userAgentData?.mobile ? ' (mobile)' : ''}`.slice(0, 64),
    arch: 'wasm32',
    kind: 'browser',
    slots: Math.max(1, Math.min(cores, Math.floor(options.slots))),
    pricePerTask: options.pricePerTask ?? '0',
    benchmark: options.benchmark ?? (await benchmark()),
    agent: `lode-web/${WEB_AGENT_VERSION} ${browserName(nav)}`.slice(0, 128),
  });
}
