import { DeviceCredentialView } from '@lode/protocol';
import type { LodeClient } from '../client.js';
import { requestJson } from '../request.js';

export interface GetDeviceCredentialParameters {
  /** The node. @default the client's account */
  address?: `0x${string}`;
  signal?: AbortSignal;
}
export type GetDeviceCredentialReturnType = DeviceCredentialView;

/**
 * The node's record on this gateway as a W3C Verifiable Credential: a JWT signed ES256K-R by the
 * gateway's did:pkh (valid 30 days) stating the capabilities the node declared, its checked
 * results, uptime, offences and availability. Anyone verifies `jwt` offline — with
 * `verifyDeviceCredential` from @lode/protocol, or did-jwt-vc and pkh-did-resolver alone; the
 * other members repeat what it says, for display. A node the gateway never saw is NOT_FOUND.
 * (`getNodeCredential` is the EIP-712 form gateways take as a prior.)
 *
 * @example
 * const { jwt } = await getDeviceCredential(client, { address: node });
 * const v = await verifyDeviceCredential(jwt, { trustedIssuers: [gateway] });
 */
export async function getDeviceCredential(client: LodeClient, params: GetDeviceCredentialParameters = {}): Promise<GetDeviceCredentialReturnType> {
  const address = params.address ?? client.account?.address;
  if (!address) throw new TypeError('getDeviceCredential needs an address or a client with an account');
  return requestJson(client, DeviceCredentialView, { path: `/v1/nodes/${address}/device-credential`, signal: params.signal });
}
