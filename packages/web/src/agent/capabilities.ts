/**
 * What a browser offers: its cores, an estimate of its memory, a device kind of `browser`, and
 * the providers' short benchmark (@lode/provider benchmark.ts, the same kernel as `lode node`). This is
 * what the hello carries and signs.
 */
import { Capabilities } from '@lode/protocol';
import { benchmark } from '@lode/provider';

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
  const brand =
    nav.userAgentData?.brands?.find((b) => !/not.?a.?brand/i.test(b.brand) && b.brand !== 'Chromium') ??
    nav.userAgentData?.brands?.find((b) => !/not.?a.?brand/i.test(b.brand));
  if (brand) return `${brand.brand.replace(/\s+/g, '-')}/${brand.version}`;
  const ua = nav.userAgent ?? '';
  const m = /(Firefox|Edg|Chrome|Chromium|Version)\/([\d.]+)/.exec(ua);
  if (!m) return 'browser';
  const name = m[1] === 'Version' ? 'Safari' : m[1] === 'Edg' ? 'Edge' : m[1]!;
  return `${name}/${m[2]!.split('.')[0]}`;
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
    benchmark: options.benchmark ?? (await benchmark({ durationMs: 100 })),
    agent: `lode-web/${WEB_AGENT_VERSION} ${browserName(nav)}`.slice(0, 128),
  });
}
