/**
 * Who is asking: Sign-In with Ethereum (EIP-4361) sessions.
 *
 * An account asks for a one-time nonce (`POST /v1/auth/nonce`), signs an EIP-4361 message naming
 * this gateway's host, chain and account (`sessionMessage` in @lode/protocol), and trades it for
 * a session token (`POST /v1/auth/session`). Requests then carry `Authorization: Bearer <token>`
 * (or `?access_token=` where headers cannot be set: a browser's EventSource).
 *
 * Guarantees:
 * - A token is `v1.<payload>.<mac>`: the account, this gateway's account and the expiry, under an
 *   HMAC-SHA256 with a 32-byte secret kept in the data directory (so tokens survive a restart
 *   and no session table is needed). It is checked in microseconds, with a constant-time compare.
 * - A sign-in message is accepted once (its nonce is consumed), only for this gateway's host
 *   (a configured public URL, or the Host the request came to), chain and account, and only for at
 *   most MAX_SESSION_MS. Outstanding nonces are bounded in number and time.
 * - A token never outlives its message's expiration time; a token for another gateway (another
 *   secret or gateway account) is refused.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { recoverMessageAddress, type Hex } from 'viem';
import {
  InvalidRequestError,
  InvalidSignatureError,
  MAX_SESSION_MS,
  ReplayError,
  SessionRequest,
  UnauthorizedError,
  parseSessionMessage,
  sessionStatement,
  type AuthNonceView,
  type SessionView,
} from '@lode/protocol';
import { clientKey } from '../clientKey.js';
import { rateLimited } from './limits.js';
import { zodMessage } from '../zodMessage.js';

/** How long a nonce may wait for its sign-in. @default 5 minutes */
export const NONCE_TTL_MS = 5 * 60_000;
/** Nonces outstanding at once, at most (oldest dropped first). @default 10,000 */
export const MAX_NONCES = 10_000;

export interface SessionAuthOptions {
  /** The gateway's account and chain, which every message must name. */
  gateway: Hex;
  chainId: number;
  /** Where the HMAC secret lives (created with mode 0600 when missing); absent: a random secret in memory. */
  secretFile?: string;
  /** Hosts (`host:port`) a sign-in message may name; empty: the Host the request came to. */
  hosts: string[];
  now(): number;
}

/**
 * The hosts (`host:port`, lower-case) a signed sign-in or node hello may name: the gateway's public
 * URLs' hosts when it has them, else the Host the request came to.
 */
export function allowedHosts(publicHosts: string[], requestHost: string | undefined): string[] {
  if (publicHosts.length > 0) return publicHosts;
  return requestHost ? [requestHost.toLowerCase()] : [];
}

export class SessionAuth {
  private readonly secret: Buffer;
  /** nonce → expiry (ms); insertion order is age order. */
  private readonly nonces = new Map<string, number>();

  constructor(private readonly o: SessionAuthOptions) {
    this.secret = loadSecret(o.secretFile);
  }

  /** A fresh one-time nonce. */
  nonce(): AuthNonceView {
    const now = this.o.now();
    this.sweep(now);
    while (this.nonces.size >= MAX_NONCES) this.nonces.delete(this.nonces.keys().next().value!);
    const nonce = randomBytes(16).toString('hex');
    const expiresAt = now + NONCE_TTL_MS;
    this.nonces.set(nonce, expiresAt);
    return { nonce, expiresAt };
  }

  /** Checks a signed sign-in message for this gateway (reached at `host`) and issues a token. */
  async session(body: unknown, host: string | undefined): Promise<SessionView> {
    const parsed = SessionRequest.safeParse(body);
    if (!parsed.success)
      throw new InvalidRequestError('Send { message, signature }: an EIP-4361 sign-in message and its signature.', { details: zodMessage(parsed.error) });
    const { message, signature } = parsed.data;
    const m = parseSessionMessage(message);
    const now = this.o.now();
    const hosts = allowedHosts(this.o.hosts, host);
    const how = 'Build it with sessionMessage() from @lode/protocol (the SDK and `lode` sign in for you).';
    if (!m.address || !m.domain || !m.nonce || !m.expirationTime || m.chainId === undefined) {
      throw new InvalidRequestError(`The sign-in message lacks an address, domain, nonce, chain id or expiration time. ${how}`);
    }
    if (!hosts.includes(m.domain.toLowerCase())) {
      throw new InvalidSignatureError(
        `The sign-in message is for ${m.domain}, not this gateway (${hosts.join(', ') || 'unknown host'}). Sign in to the gateway you are talking to.`,
      );
    }
    if (m.chainId !== this.o.chainId)
      throw new InvalidSignatureError(`The sign-in message is for chain ${m.chainId}; this gateway is on chain ${this.o.chainId}. ${how}`);
    if (m.statement !== sessionStatement(this.o.gateway)) {
      throw new InvalidSignatureError(`The sign-in message does not name this gateway's account (${this.o.gateway}). ${how}`);
    }
    const expiresAt = m.expirationTime.getTime();
    if (!Number.isFinite(expiresAt) || expiresAt <= now) throw new ReplayError('The sign-in message has expired. Sign a fresh one.');
    if (expiresAt > now + MAX_SESSION_MS + 60_000) {
      throw new InvalidRequestError(`A session lasts at most ${MAX_SESSION_MS / 3_600_000} hours; set the message's expiration time sooner.`);
    }
    if (m.notBefore && m.notBefore.getTime() > now) throw new InvalidRequestError('The sign-in message is not valid yet (notBefore).');
    const nonceSpent = () => {
      const issued = this.nonces.get(m.nonce!);
      return issued === undefined || issued < now;
    };
    const replay = 'The sign-in nonce is unknown, used or expired. Ask for a new one with POST /v1/auth/nonce and sign again.';
    if (nonceSpent()) throw new ReplayError(replay);
    let signer: string;
    try {
      signer = await recoverMessageAddress({ message, signature: signature as Hex });
    } catch (err) {
      throw new InvalidSignatureError('The sign-in signature is malformed.', { cause: err });
    }
    if (signer.toLowerCase() !== m.address.toLowerCase())
      throw new InvalidSignatureError("The sign-in signature is not the message's account's. Sign with that account (personal_sign).");
    // Consumed only by a valid sign-in (a bad one cannot burn someone's nonce), and checked again
    // with no await between check and use: two sign-ins with one message race past the first check.
    if (nonceSpent()) throw new ReplayError(replay);
    this.nonces.delete(m.nonce);
    const address = m.address.toLowerCase() as Hex;
    return { token: this.token(address, expiresAt), address, expiresAt };
  }

  /** The account a token stands for; throws UnauthorizedError for a bad or expired token. */
  verify(token: string): Hex {
    const parts = token.split('.');
    if (parts.length !== 3 || parts[0] !== 'v1') throw new UnauthorizedError('The session token is malformed. Sign in again (POST /v1/auth/session).');
    const mac = Buffer.from(parts[2]!, 'base64url');
    const want = this.mac(parts[1]!);
    if (mac.length !== want.length || !timingSafeEqual(mac, want))
      throw new UnauthorizedError("The session token is not this gateway's. Sign in to this gateway (POST /v1/auth/session).");
    let payload: { a?: unknown; g?: unknown; e?: unknown };
    try {
      payload = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8'));
    } catch {
      throw new UnauthorizedError('The session token is malformed. Sign in again.');
    }
    if (typeof payload.a !== 'string' || payload.g !== this.o.gateway.toLowerCase() || typeof payload.e !== 'number') {
      throw new UnauthorizedError('The session token is not for this gateway. Sign in to this gateway.');
    }
    if (payload.e <= this.o.now()) throw new UnauthorizedError('The session has expired. Sign in again (the SDK and `lode` do it for you).');
    return payload.a as Hex;
  }

  private token(address: string, expiresAt: number): string {
    const payload = Buffer.from(JSON.stringify({ a: address, g: this.o.gateway.toLowerCase(), e: expiresAt })).toString('base64url');
    return `v1.${payload}.${this.mac(payload).toString('base64url')}`;
  }

  private mac(payload: string): Buffer {
    return createHmac('sha256', this.secret).update(payload).digest();
  }

  private sweep(now: number): void {
    for (const [nonce, expiresAt] of this.nonces) {
      if (expiresAt > now) break; // insertion order: the rest are younger
      this.nonces.delete(nonce);
    }
  }
}

/** The bearer token of a request: `Authorization: Bearer …`, or `access_token` in the query (event streams). */
export function bearerOf(headers: Record<string, string | string[] | undefined>, query: unknown): string | undefined {
  const h = headers.authorization;
  const header = Array.isArray(h) ? h[0] : h;
  if (header) {
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) throw new UnauthorizedError('Send the session as `Authorization: Bearer <token>`.');
    return match[1];
  }
  const q = (query as { access_token?: unknown } | null)?.access_token;
  return typeof q === 'string' && q.length > 0 ? q : undefined;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The signed-in account (lower-case), when the request carries a valid session token. */
    account: string | undefined;
    /** Why the token the request carries was refused (expired, another gateway's), if it was. */
    authError: UnauthorizedError | undefined;
  }
}

/**
 * Reads every request's session token: sets `req.account`, or `req.authError` for a token that
 * does not verify. Routes that need an account throw (`accountOf`, `requireSignIn`); public
 * routes ignore both.
 */
export function installSessions(app: FastifyInstance, auth: SessionAuth): void {
  app.decorateRequest('account', undefined);
  app.decorateRequest('authError', undefined);
  app.addHook('onRequest', async (req) => {
    let token: string | undefined;
    try {
      token = bearerOf(req.headers, req.query);
      if (token) req.account = auth.verify(token).toLowerCase();
    } catch (err) {
      if (err instanceof UnauthorizedError) req.authError = err;
      else throw err;
    }
  });
}

/** Sign-in (EIP-4361): a nonce, then a session token for a signed message; `signInsPerMinutePerIp` per client. */
export async function authApi(
  app: FastifyInstance,
  { sessions, signInsPerMinutePerIp }: { sessions: SessionAuth; signInsPerMinutePerIp: number },
): Promise<void> {
  const config = {
    rateLimit: {
      max: signInsPerMinutePerIp,
      timeWindow: 60_000,
      keyGenerator: (req: FastifyRequest) => `signin:${clientKey(req.ip)}`,
      errorResponseBuilder: rateLimited('sign-ins from this address'),
    },
  };
  app.post('/v1/auth/nonce', { config }, async () => sessions.nonce());
  app.post('/v1/auth/session', { config }, async (req) => sessions.session(req.body, req.headers.host));
}

/** The signed-in account of a request, or UnauthorizedError naming `what` needs it. */
export function accountOf(req: FastifyRequest, what: string): string {
  if (!req.account) throw signInRequired(what, req.authError);
  return req.account;
}

/**
 * A route's `onRequest` hook that refuses a request without a session before its body is read
 * (uploads and submissions: a stranger's body is never received, written or parsed).
 */
export function requireSignIn(what: string): (req: FastifyRequest) => Promise<void> {
  return async (req) => {
    accountOf(req, what);
  };
}

/** The error for a route that needs an account when the request has none (or a bad token). */
function signInRequired(what: string, authError?: UnauthorizedError): UnauthorizedError {
  if (authError) return authError;
  return new UnauthorizedError(
    `${what} needs a signed-in account: sign in with POST /v1/auth/nonce and POST /v1/auth/session (EIP-4361), then send Authorization: Bearer <token>. The SDK and \`lode\` sign in with your key for you.`,
  );
}

function loadSecret(file: string | undefined): Buffer {
  if (!file) return randomBytes(32);
  if (existsSync(file)) {
    const hex = readFileSync(file, 'utf8').trim();
    if (/^[0-9a-f]{64}$/.test(hex)) return Buffer.from(hex, 'hex');
  }
  mkdirSync(dirname(file), { recursive: true });
  const secret = randomBytes(32);
  writeFileSync(file, `${secret.toString('hex')}\n`, { mode: 0o600 });
  return secret;
}
