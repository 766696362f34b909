import { FaucetView } from '@lode/protocol';
import type { LodeClient } from '../client.js';
import { requestJson } from '../request.js';

export interface RequestFaucetParameters {
  /** Who receives the funds. @default the client's account */
  address?: `0x${string}`;
  signal?: AbortSignal;
}
export type RequestFaucetReturnType = FaucetView;

/**
 * Asks the gateway's faucet (local networks) for gas and test LODE. Throws `ForbiddenError` when
 * the gateway has no faucet, `LedgerDisabledError` without a ledger.
 *
 * @example
 * const { lode } = await requestFaucet(client);
 */
export async function requestFaucet(client: LodeClient, params: RequestFaucetParameters = {}): Promise<RequestFaucetReturnType> {
  const address = params.address ?? client.account?.address;
  if (!address) throw new TypeError('requestFaucet needs an address or a client with an account');
  return requestJson(client, FaucetView, { method: 'POST', path: '/v1/ledger/faucet', body: { address }, signal: params.signal });
}
