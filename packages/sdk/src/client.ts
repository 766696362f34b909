/**
 * The Lode client: where the gateway is, who signs, and how to fetch. Actions take it as their
 * first argument (`getJob(client, { id })`), so unused actions tree-shake away.
 */
import type { LocalAccount } from 'viem';

export interface LodeClientConfig {
  /** The gateway's HTTP URL, e.g. `http://127.0.0.1:7070`. A node URL (`ws://…/v1/nodes/ws`) is accepted too. */
  gateway: string;
  /** Signs job submissions and cancellations. Read-only actions work without one. */
  account?: LocalAccount;
  /** A fetch implementation (tests, proxies). @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Time limit for one ordinary request (not for event streams). @default 30_000 */
  timeoutMs?: number;
}

export interface LodeClient {
  /** The gateway's origin, without a trailing slash: `http://host:port`. */
  readonly gateway: string;
  readonly account: LocalAccount | undefined;
  readonly fetch: typeof fetch;
  readonly timeoutMs: number;
}

/** @default 30 s */
export const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * Creates a client for one gateway.
 *
 * @example
 * const client = createLodeClient({ gateway: 'http://127.0.0.1:7070', account: privateKeyToAccount(key) });
 * const job = await getJob(client, { id });
 */
export function createLodeClient(config: LodeClientConfig): LodeClient {
  return Object.freeze({
    gateway: gatewayOrigin(config.gateway),
    account: config.account,
    fetch: config.fetch ?? globalThis.fetch.bind(globalThis),
    timeoutMs: config.timeoutMs ?? DEFAULT_TIMEOUT_MS,
  });
}

/**
 * The HTTP origin of a gateway URL: `ws(s)://` becomes `http(s)://`, paths are dropped.
 * Throws a TypeError for something that is not an http(s) or ws(s) URL.
 */
export function gatewayOrigin(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(`"${url}" is not a gateway URL. Use one like http://127.0.0.1:7070.`);
  }
  const protocol = { 'http:': 'http:', 'https:': 'https:', 'ws:': 'http:', 'wss:': 'https:' }[parsed.protocol];
  if (!protocol) throw new TypeError(`"${url}" is not a gateway URL (use http:// or https://, e.g. http://127.0.0.1:7070).`);
  return `${protocol}//${parsed.host}`;
}
