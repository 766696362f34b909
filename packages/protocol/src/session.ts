/**
 * Signing in to a gateway: an EIP-4361 (Sign-In with Ethereum) message, built and parsed with
 * viem's `viem/siwe`, signed by the account (`personal_sign`, as any wallet does), exchanged for
 * a short-lived session token at `POST /v1/auth/session`.
 *
 * Why a session rather than a signature on every request: a signature costs ~1 ms to check and
 * the dashboard polls; a wallet would prompt on every read. One signature per day per account,
 * then an HMAC check per request (microseconds). Why EIP-4361: wallets show it as a sign-in, it
 * names the site (domain and URI), the chain, a one-time nonce and an expiry — every part a
 * replayed or phished message would get wrong.
 *
 * @example
 * const { nonce } = await (await fetch(`${url}/v1/auth/nonce`, { method: 'POST' })).json();
 * const message = sessionMessage({ url, address: account.address, gateway, chainId, nonce });
 * const { token } = await post('/v1/auth/session', { message, signature: await account.signMessage({ message }) });
 */
import { createSiweMessage, parseSiweMessage } from 'viem/siwe';
import type { Hex } from 'viem';

/** The longest session a gateway grants. @default 24 h */
export const MAX_SESSION_MS = 24 * 60 * 60 * 1000;
/** What a session message asks for by default. @default 12 h */
export const DEFAULT_SESSION_MS = 12 * 60 * 60 * 1000;

/** The statement every Lode sign-in shows the user. */
export function sessionStatement(gateway: string): string {
  return `Sign in to the Lode gateway ${gateway.toLowerCase()} to read your jobs and results.`;
}

export interface SessionMessageParameters {
  /** The gateway's URL as the client reaches it (its host becomes the message's domain). */
  url: string;
  address: Hex;
  /** The gateway's account and chain (`GET /v1/identity`). */
  gateway: Hex;
  chainId: number;
  /** From `POST /v1/auth/nonce`. */
  nonce: string;
  /** @default now */
  issuedAt?: Date;
  /** @default issuedAt + DEFAULT_SESSION_MS */
  expirationTime?: Date;
}

/** The EIP-4361 text an account signs to sign in to a gateway. */
export function sessionMessage(p: SessionMessageParameters): string {
  const origin = new URL(p.url);
  const issuedAt = p.issuedAt ?? new Date();
  return createSiweMessage({
    domain: origin.host,
    uri: origin.origin,
    address: p.address,
    statement: sessionStatement(p.gateway),
    version: '1',
    chainId: p.chainId,
    nonce: p.nonce,
    issuedAt,
    expirationTime: p.expirationTime ?? new Date(issuedAt.getTime() + DEFAULT_SESSION_MS),
  });
}

/** The fields of a sign-in message (viem's parser; fields it cannot find are undefined). */
export function parseSessionMessage(message: string) {
  return parseSiweMessage(message);
}
