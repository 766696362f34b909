import { LedgerInfoView } from '@lode/protocol';
import type { LodeClient } from '../client.js';
import { requestJson } from '../request.js';

export interface GetLedgerInfoParameters {
  signal?: AbortSignal;
}
export type GetLedgerInfoReturnType = LedgerInfoView & {
  /** Where to send JSON-RPC: the external chain, or this gateway's `/rpc`. */
  resolvedRpcUrl: string;
};

/**
 * Where the gateway settles: chain, contracts, protocol parameters, settlement backlog.
 * Throws `LedgerDisabledError` when the gateway runs without a ledger.
 *
 * @example
 * const { contracts, resolvedRpcUrl } = await getLedgerInfo(client);
 */
export async function getLedgerInfo(client: LodeClient, params: GetLedgerInfoParameters = {}): Promise<GetLedgerInfoReturnType> {
  const info = await requestJson(client, LedgerInfoView, { path: '/v1/ledger', signal: params.signal });
  return { ...info, resolvedRpcUrl: info.rpcUrl ?? `${client.gateway}/rpc` };
}
