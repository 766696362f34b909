import type { IdentityView } from '@lode/protocol';
import type { LodeClient } from '../client.js';
import { identityOf } from '../session.js';

export interface GetIdentityParameters {
  signal?: AbortSignal;
}
export type GetIdentityReturnType = IdentityView;

/**
 * Who the gateway is: the account that verifies every signature sent to it and its chain — the
 * EIP-712 domain jobs and cancels are signed for (asked once per client, then kept).
 *
 * @example
 * const { gateway, chainId } = await getIdentity(client);
 */
export async function getIdentity(client: LodeClient, params: GetIdentityParameters = {}): Promise<GetIdentityReturnType> {
  return identityOf(client, params.signal);
}
