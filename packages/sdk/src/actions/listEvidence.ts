import { EvidenceView } from '@lode/protocol';
import { z } from 'zod';
import type { LodeClient } from '../client.js';
import { requestJson } from '../request.js';

export interface ListEvidenceParameters {
  /** The node. */
  address: `0x${string}`;
  signal?: AbortSignal;
}
export type ListEvidenceReturnType = EvidenceView[];

/**
 * Evidence that a node's results were wrong, newest first (at most 100), with what each cost
 * it on chain (`slash`, `slashed`). Each `evidence` verifies with `checkEvidence` from
 * @lode/protocol, as any third party would check it.
 *
 * @example
 * for (const e of await listEvidence(client, { address })) console.log(e.kind, e.slash, await checkEvidence(e.evidence as Evidence));
 */
export async function listEvidence(client: LodeClient, params: ListEvidenceParameters): Promise<ListEvidenceReturnType> {
  const body = await requestJson(client, z.object({ evidence: z.array(EvidenceView) }), {
    path: `/v1/nodes/${params.address}/evidence`,
    signal: params.signal,
  });
  return body.evidence;
}
