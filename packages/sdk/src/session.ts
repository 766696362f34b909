/**
 * The client's sign-in: the gateway's identity (`GET /v1/identity`, once per client) and an
 * EIP-4361 session, signed with the client's account the first time a request needs one and
 * renewed shortly before it expires. Concurrent requests share one sign-in.
 */
import type { z } from 'zod';
import { AuthNonceView, IdentityView, SessionView, sessionMessage } from '@lode/protocol';
import type { LodeClient } from './client.js';
import { AccountRequiredError } from './errors.js';
import { parseJson, sendOnce, type RequestOptions } from './http.js';

/** A request that needs no session (these are the ones that make it). */
async function publicJson<S extends z.ZodType>(client: LodeClient, schema: S, options: RequestOptions): Promise<z.infer<S>> {
  return parseJson(client, await sendOnce(client, options, undefined), options, schema);
}

/** Renew a session this long before it expires. */
const RENEW_BEFORE_MS = 60_000;

/** The gateway's account and chain (cached for the client's life). */
export async function identityOf(client: LodeClient, signal?: AbortSignal): Promise<IdentityView> {
  client.session.identity ??= await publicJson(client, IdentityView, { path: '/v1/identity', signal });
  return client.session.identity;
}

/**
 * A session token for requests that need one: the client's (or the one it was given), signing in
 * with its account when there is none or it is about to expire.
 */
export async function sessionToken(client: LodeClient, signal?: AbortSignal): Promise<string> {
  const s = client.session;
  if (s.token && (s.expiresAt === undefined || s.expiresAt - RENEW_BEFORE_MS > Date.now())) return s.token;
  if (!client.account) {
    if (s.token) return s.token; // a given token: the gateway says whether it still holds
    throw new AccountRequiredError('Reading jobs');
  }
  s.signingIn ??= signIn(client, signal).finally(() => (s.signingIn = undefined));
  return s.signingIn;
}

async function signIn(client: LodeClient, signal?: AbortSignal): Promise<string> {
  const account = client.account!;
  const identity = await identityOf(client, signal);
  const { nonce } = await publicJson(client, AuthNonceView, { method: 'POST', path: '/v1/auth/nonce', body: {}, signal });
  const message = sessionMessage({
    url: client.gateway,
    address: account.address,
    gateway: identity.gateway as `0x${string}`,
    chainId: identity.chainId,
    nonce,
  });
  const signature = await account.signMessage({ message });
  const session = await publicJson(client, SessionView, { method: 'POST', path: '/v1/auth/session', body: { message, signature }, signal });
  client.session.token = session.token;
  client.session.expiresAt = session.expiresAt;
  return session.token;
}
