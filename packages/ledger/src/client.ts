/**
 * A ledger client: a viem public client for reads, an optional wallet for writes, and the
 * deployment's addresses. Actions in `actions/` take it first: `(client, params) => result`.
 *
 * @example
 * const client = createLedgerClient({ rpcUrl: 'http://127.0.0.1:7070/rpc', addresses, account });
 * await depositEscrow(client, { jobId, amount, expiresAt });
 */
import {
  createPublicClient,
  createWalletClient,
  custom,
  http,
  type Account,
  type EIP1193Provider,
  type PublicClient,
  type Transport,
  type WalletClient,
} from 'viem';
import type { LedgerAddresses } from './deploy.js';

export interface LedgerClient {
  readonly public: PublicClient;
  /** Present when the client was made with an account. */
  readonly wallet: WalletClient<Transport, undefined, Account> | undefined;
  readonly addresses: LedgerAddresses;
}

export interface CreateLedgerClientParameters {
  /** A JSON-RPC URL (an external chain, or a gateway's `/rpc`)… */
  rpcUrl?: string;
  /** …or an EIP-1193 provider (the embedded chain in process). */
  provider?: { request: EIP1193Provider['request'] } | { request(args: { method: string; params?: unknown }): Promise<unknown> };
  addresses: LedgerAddresses;
  account?: Account;
}

export function createLedgerClient(p: CreateLedgerClientParameters): LedgerClient {
  let transport: Transport;
  if (p.provider)
    transport = custom(p.provider as never, { retryCount: 0 }); // a revert is an answer, not a failure to retry
  else if (p.rpcUrl) transport = http(p.rpcUrl, { retryCount: 2, timeout: 30_000 });
  else throw new TypeError('createLedgerClient needs rpcUrl or provider');
  return {
    public: createPublicClient({ transport, pollingInterval: 250 }) as PublicClient,
    wallet: p.account ? createWalletClient({ account: p.account, transport }) : undefined,
    addresses: p.addresses,
  };
}
