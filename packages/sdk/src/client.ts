/**
 * The Lode client: where the gateway is, who signs, and how to fetch. Actions take it as their
 * first argument (`getJob(client, { id })`), so unused actions tree-shake away.
 */
import type { LocalAccount } from 'viem';
import type { IdentityView } from '@lode/protocol';

export interface LodeClientConfig {
  /**
   * The gateway's HTTP URL, e.g. `http://127.0.0.1:7070`. A node URL (`ws://…/v1/nodes/ws`) is
   * accepted too. Several gateways of one cluster — a list, or one string with commas — make a
   * client that moves to the next gateway when the one it uses cannot be reached.
   */
  gateway: string | readonly string[];
  /** Signs job submissions and cancellations. Read-only actions work without one. */
  account?: LocalAccount;
  /** A fetch implementation (tests, proxies). @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Time limit for one ordinary request (not for event streams). @default 30_000 */
  timeoutMs?: number;
  /**
   * A session token from `POST /v1/auth/session` (for instance from `lode up`'s dashboard link).
   * Without one, a client with an `account` signs in by itself the first time it needs to.
   */
  session?: string;
}

/**
 * What a client learns from its gateway and keeps: the gateway's identity (the EIP-712 domain of
 * its signatures) and the session token (with its expiry, ms). Internal; one per client.
 */
export interface ClientSession {
  identity?: IdentityView;
  token?: string;
  expiresAt?: number;
  signingIn?: Promise<string>;
}

export interface LodeClient {
  /** The origin of the gateway in use, without a trailing slash: `http://host:port`. */
  readonly gateway: string;
  /** Every gateway this client may use (one, or several of a cluster), in order. */
  readonly gateways: readonly string[];
  /**
   * Moves to the next gateway of `gateways` after `failed` could not be reached — only if `failed`
   * is still the one in use (requests failing at once move the client on once, not past the next).
   */
  nextGateway(failed: string): void;
  readonly account: LocalAccount | undefined;
  readonly fetch: typeof fetch;
  readonly timeoutMs: number;
  /** The gateway's identity and this client's session, filled in as they are needed. */
  readonly session: ClientSession;
}

/** @default 30 s */
export const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * Creates a client for one gateway, or for several of one cluster (tried in order when one cannot be reached).
 *
 * @example
 * const client = createLodeClient({ gateway: 'http://127.0.0.1:7070', account: privateKeyToAccount(key) });
 * const job = await getJob(client, { id });
 */
export function createLodeClient(config: LodeClientConfig): LodeClient {
  const gateways = gatewayList(config.gateway).map(gatewayOrigin);
  if (gateways.length === 0) throw new TypeError('createLodeClient needs a gateway URL, e.g. http://127.0.0.1:7070.');
  let at = 0;
  return Object.freeze({
    get gateway() {
      return gateways[at]!;
    },
    gateways: Object.freeze(gateways),
    nextGateway(failed: string) {
      if (gateways[at] === failed) at = (at + 1) % gateways.length;
    },
    account: config.account,
    fetch: config.fetch ?? globalThis.fetch.bind(globalThis),
    timeoutMs: config.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    session: config.session ? { token: config.session } : {},
  });
}

/** The gateways named by a list, or by one string with commas (`--gateway A,B`, `LODE_GATEWAY`): trimmed, empties left out. */
export function gatewayList(gateways: string | readonly string[]): string[] {
  return [gateways]
    .flat()
    .flatMap((g) => g.split(','))
    .map((g) => g.trim())
    .filter((g) => g !== '');
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
