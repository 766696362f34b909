import { NodeView, type ReputationCredential } from '@lode/protocol';
import { z } from 'zod';
import type { LodeClient } from '../client.js';
import { requestJson } from '../request.js';

export interface ImportNodeCredentialParameters {
  /** A credential another gateway signed (`getNodeCredential` there). */
  credential: ReputationCredential;
  signal?: AbortSignal;
}

const ImportNodeCredentialReturn = z.object({
  node: z.string(),
  /** Right checks counted as this node's prior here (at most 16). */
  counted: z.number().int(),
  reputation: NodeView.shape.reputation.unwrap(),
});
export type ImportNodeCredentialReturnType = z.infer<typeof ImportNodeCredentialReturn>;

/**
 * Presents a node's credential from another gateway to this one, which counts it as a prior
 * (at most 16 right checks) when it trusts the issuer (`--trusted-issuer`); otherwise the
 * gateway answers INVALID_REQUEST saying why (untrusted issuer, bad signature, expired, records
 * wrong results).
 *
 * @example
 * await importNodeCredential(here, { credential: await getNodeCredential(there, { address: node }) });
 */
export async function importNodeCredential(client: LodeClient, params: ImportNodeCredentialParameters): Promise<ImportNodeCredentialReturnType> {
  return requestJson(client, ImportNodeCredentialReturn, { method: 'POST', path: '/v1/nodes/credentials', body: params.credential, signal: params.signal });
}
