/**
 * A ledger client is a bare viem `Client` (a transport and, for writes, an account) that also
 * carries the deployment's addresses. Actions in `actions/` take it first, in viem's own style
 * (`(client, params) => result`, each built from `viem/actions`), so a browser page loads only
 * the actions it calls and uses the same code as the CLI and the node.
 *
 * @example
 * const client = createLedgerClient({ rpcUrl: 'http://127.0.0.1:7070/rpc', addresses, account });
 * await depositEscrow(client, { jobId, amount, expiresAt });
 */
import { createClient, custom, http, type Account, type Chain, type Client, type EIP1193Provider, type Transport } from 'viem';
import type { LedgerAddresses } from './deploy.js';

export type LedgerClient = Client<Transport, Chain | undefined, Account | undefined> & { readonly addresses: LedgerAddresses };

export interface CreateLedgerClientParameters {
  /** A JSON-RPC URL (an external chain, or a gateway's `/rpc`)… */
  rpcUrl?: string;
  /** …or an EIP-1193 provider (the embedded chain in process). */
  provider?: { request: EIP1193Provider['request'] } | { request(args: { method: string; params?: unknown }): Promise<unknown> };
  addresses: LedgerAddresses;
  /** Needed by the actions that send transactions. */
  account?: Account;
}

export function createLedgerClient(p: CreateLedgerClientParameters): LedgerClient {
  let transport: Transport;
  if (p.provider)
    transport = custom(p.provider as never, { retryCount: 0 }); // a revert is an answer, not a failure to retry
  else if (p.rpcUrl) transport = http(p.rpcUrl, { retryCount: 2, timeout: 30_000 });
  else throw new TypeError('createLedgerClient needs rpcUrl or provider');
  return withAddresses(createClient({ transport, account: p.account, pollingInterval: 250 }), p.addresses);
}

/** Any viem client (a wallet's, a page's) as a ledger client of one deployment. */
export function withAddresses(client: Client<Transport, Chain | undefined, Account | undefined>, addresses: LedgerAddresses): LedgerClient {
  return client.extend(() => ({ addresses }));
}

/** The account a sending action sends from; a clear error when the client was made without one. */
export function accountOf(client: LedgerClient, action: string): Account {
  if (!client.account) throw new TypeError(`${action} needs a ledger client with an account (createLedgerClient({ …, account }))`);
  return client.account;
}
