/**
 * The dashboard's gateway clients: the SDK pointed at the page's own origin (the gateway serves
 * the page). Network-wide views (nodes, stats, ledger) are public; a job is readable only by its
 * requester, so the job views read as a signed-in account:
 * - the session of a sign-in link (`lode up` prints one: `…/#/?session=<token>`, signed with the
 *   CLI's key), kept in sessionStorage for the tab's life; or else
 * - this browser's account key (the one it submits jobs and contributes with), which signs in by
 *   itself (EIP-4361, no prompt: the key is the page's own).
 */
import { createLodeClient, signIn, type LodeClient } from '@lode/sdk';
import type { LocalAccount } from 'viem';
import { loadKey } from '../agent/keystore.js';

export const gatewayOrigin = (): string => globalThis.location?.origin ?? 'http://127.0.0.1:7070';

/** A client for public reads (no account). */
export const readClient: LodeClient = createLodeClient({ gateway: gatewayOrigin() });

const SESSION_KEY = 'lode.session';

/** A session token from the page's sign-in link (`#/…?session=…`), moved to sessionStorage and out of the address bar. */
function linkSession(): string | undefined {
  const hash = globalThis.location?.hash ?? '';
  const q = hash.indexOf('?');
  if (q >= 0) {
    const params = new URLSearchParams(hash.slice(q + 1));
    const token = params.get('session');
    if (token) {
      params.delete('session');
      const rest = params.toString();
      globalThis.history?.replaceState(null, '', `${hash.slice(0, q)}${rest ? `?${rest}` : ''}`);
      try {
        globalThis.sessionStorage?.setItem(SESSION_KEY, token);
      } catch {
        // storage refused (private mode): the token still serves this page's life
      }
      return token;
    }
  }
  try {
    return globalThis.sessionStorage?.getItem(SESSION_KEY) ?? undefined;
  } catch {
    return undefined;
  }
}

let reader: { client: LodeClient; address: string | undefined } | undefined;

/**
 * The client job views read with: the sign-in link's session, else this browser's key (rebuilt
 * when the key appears, e.g. after the first submission). Without either, reads answer
 * UNAUTHORIZED and the page says how to sign in.
 */
export async function jobReader(): Promise<LodeClient> {
  const token = linkSession();
  if (token) {
    if (!reader || reader.address !== `session:${token}`) reader = { client: createLodeClient({ gateway: gatewayOrigin(), session: token }), address: `session:${token}` };
    return reader.client;
  }
  const key = await loadKey().catch(() => undefined);
  const address = key?.account.address;
  if (!reader || reader.address !== address) reader = { client: createLodeClient({ gateway: gatewayOrigin(), account: key?.account }), address };
  return reader.client;
}

/** The reader's session token (for an EventSource URL or a plain fetch). */
export async function readerToken(): Promise<string> {
  return (await signIn(await jobReader())).token;
}

/** A client that signs with `account`. */
export function signingClient(account: LocalAccount): LodeClient {
  return createLodeClient({ gateway: gatewayOrigin(), account });
}

/** One line for an error shown on the page (the gateway's message when there is one). */
export function errorText(err: unknown): string {
  if (err && typeof err === 'object' && 'shortMessage' in err && typeof (err as { shortMessage: unknown }).shortMessage === 'string') {
    const e = err as { shortMessage: string; code?: string };
    return e.code ? `${e.shortMessage} (${e.code})` : e.shortMessage;
  }
  return err instanceof Error ? err.message : String(err);
}
