import { ReputationCredential } from '@lode/protocol';
import type { LodeClient } from '../client.js';
import { requestJson } from '../request.js';

export interface GetNodeCredentialParameters {
  /** The node. @default the client's account */
  address?: `0x${string}`;
  signal?: AbortSignal;
}
export type GetNodeCredentialReturnType = ReputationCredential;

/**
 * The node's record on this gateway — checked results right and wrong, streak, uptime — signed by
 * the gateway (EIP-712 `NodeReputation`, valid 30 days): a credential the node can carry to
 * another gateway (`importNodeCredential` there). Check it with `verifyNodeReputation`.
 *
 * @example
 * const credential = await getNodeCredential(client, { address: node });
 */
export async function getNodeCredential(client: LodeClient, params: GetNodeCredentialParameters = {}): Promise<GetNodeCredentialReturnType> {
  const address = params.address ?? client.account?.address;
  if (!address) throw new TypeError('getNodeCredential needs an address or a client with an account');
  return requestJson(client, ReputationCredential, { path: `/v1/nodes/${address}/credential`, signal: params.signal });
}
