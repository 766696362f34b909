import { PayoutsView } from '@lode/protocol';
import type { LodeClient } from '../client.js';
import { requestJson } from '../request.js';

export interface GetPayoutsParameters {
  /** The provider. @default the client's account */
  address?: `0x${string}`;
  /** Batches created from this time (ms). */
  from?: number;
  /** Batches created before this time (ms). */
  to?: number;
  signal?: AbortSignal;
}
export type GetPayoutsReturnType = PayoutsView;

/**
 * A provider's payouts from settlement batches, newest first, with the Merkle proof each claim
 * needs and whether it is claimed yet; totals are gross, fee, net and claimed.
 *
 * @example
 * const { payouts } = await getPayouts(client, { address: node });
 * const claimable = payouts.filter((p) => !p.claimed && p.claimableAt !== null && p.claimableAt <= Date.now());
 */
export async function getPayouts(client: LodeClient, params: GetPayoutsParameters = {}): Promise<GetPayoutsReturnType> {
  const address = params.address ?? client.account?.address;
  if (!address) throw new TypeError('getPayouts needs an address or a client with an account');
  const query: Record<string, string> = {};
  if (params.from !== undefined) query.from = String(params.from);
  if (params.to !== undefined) query.to = String(params.to);
  return requestJson(client, PayoutsView, { path: `/v1/ledger/payouts/${address}`, query, signal: params.signal });
}
