/**
 * A requester's side of the gateway's authentication, for tests that speak HTTP by hand: the
 * gateway's identity (the EIP-712 domain to sign jobs for) and a Sign-In with Ethereum session.
 */
import type { PrivateKeyAccount } from 'viem/accounts';
import { sessionMessage, type LodeDomain } from '@lode/protocol';

/** The gateway's account and chain (`GET /v1/identity`). */
export async function identityOf(gatewayUrl: string): Promise<LodeDomain> {
  const body = (await (await fetch(`${gatewayUrl}/v1/identity`)).json()) as { gateway: `0x${string}`; chainId: number };
  return { gateway: body.gateway, chainId: body.chainId };
}

const tokens = new Map<string, string>();

/** A session token of `account` on the gateway (signed in once per gateway and account, then kept). */
export async function signInAs(gatewayUrl: string, account: PrivateKeyAccount): Promise<string> {
  const key = `${gatewayUrl} ${account.address}`;
  const known = tokens.get(key);
  if (known) return known;
  const { gateway, chainId } = await identityOf(gatewayUrl);
  const { nonce } = (await (await fetch(`${gatewayUrl}/v1/auth/nonce`, { method: 'POST' })).json()) as { nonce: string };
  const message = sessionMessage({ url: gatewayUrl, address: account.address, gateway, chainId, nonce });
  const r = await fetch(`${gatewayUrl}/v1/auth/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ message, signature: await account.signMessage({ message }) }),
  });
  if (r.status !== 200) throw new Error(`sign-in: ${r.status} ${await r.text()}`);
  const { token } = (await r.json()) as { token: string };
  tokens.set(key, token);
  return token;
}

/** `fetch` as `account` (its session in the Authorization header). */
export async function fetchAs(account: PrivateKeyAccount, url: string, init: RequestInit = {}): Promise<Response> {
  const token = await signInAs(new URL(url).origin, account);
  return fetch(url, { ...init, headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${token}` } });
}
