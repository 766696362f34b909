/**
 * The dashboard's gateway client: the SDK pointed at the page's own origin (the gateway serves
 * the page), signing with the browser's account key when a job is submitted.
 */
import { createLodeClient, type LodeClient } from '@lode/sdk';
import type { LocalAccount } from 'viem';

export const gatewayOrigin = (): string => globalThis.location?.origin ?? 'http://127.0.0.1:7070';

/** A read-only client (no account). */
export const readClient: LodeClient = createLodeClient({ gateway: gatewayOrigin() });

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
