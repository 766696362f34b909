/**
 * The dashboard's gateway clients: the SDK pointed at the page's own origin (the gateway serves
 * the page). Network-wide views (nodes, stats, ledger) are public; a job is readable only by its
 * requester, so the job views read as a signed-in account:
 * - the session of a sign-in link (`lode up` prints one: `…/#/?session=<token>`, signed with the
 *   CLI's key), kept in sessionStorage for the tab's life; or else
 * - this browser's account key (the one it submits jobs and contributes with), which signs in by
 *   itself (EIP-4361, no prompt: the key is the page's own).
 */
import { createLodeClient, getJob, signIn, type LodeClient } from '@lode/sdk';
import type { LocalAccount } from 'viem';
import { loadKey } from '@lode/keystore/browser';

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

let linked: { token: string; client: LodeClient } | undefined;
let keyed: { address: string; client: LodeClient } | undefined;

/**
 * The accounts job views read as, each a client: the sign-in link's session (`lode up`'s), and
 * this browser's own key (the one it submits and contributes with), when there is one. Both are
 * kept for the page's life; the key's is rebuilt when the key appears (the first submission).
 */
export async function jobReaders(): Promise<LodeClient[]> {
  const out: LodeClient[] = [];
  const token = linkSession();
  if (token) {
    if (linked?.token !== token) linked = { token, client: createLodeClient({ gateway: gatewayOrigin(), session: token }) };
    out.push(linked.client);
  }
  const key = await loadKey().catch(() => undefined);
  if (key) {
    if (keyed?.address !== key.account.address)
      keyed = { address: key.account.address, client: createLodeClient({ gateway: gatewayOrigin(), account: key.account }) };
    out.push(keyed.client);
  }
  return out;
}

const owners = new Map<string, LodeClient>();

/** Records which client may read job `id` (a list that showed it, the page that submitted it): no probing later. */
export function rememberReader(id: string, client: LodeClient): void {
  owners.set(id, client);
}

/**
 * The reader that may read job `id` (its requester's session): the one remembered for it, else the
 * readers tried in turn (the one that answers is remembered). Throws the last refusal when none may.
 */
export async function readerOf(id: string): Promise<LodeClient> {
  const known = owners.get(id);
  if (known) return known;
  const readers = await jobReaders();
  let last: unknown = new Error('Sign in to read jobs: open the link `lode up` printed, or submit a job from this browser.');
  for (const client of readers) {
    try {
      await getJob(client, { id });
      owners.set(id, client);
      return client;
    } catch (err) {
      last = err;
    }
  }
  throw last;
}

/** The session token of the reader of job `id` (for an EventSource URL or a plain fetch). */
export async function readerToken(id: string): Promise<string> {
  return (await signIn(await readerOf(id))).token;
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
