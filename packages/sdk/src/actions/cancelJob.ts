import { cancelJobTypedData, JobView, type SignedCancel } from '@lode/protocol';
import type { LodeClient } from '../client.js';
import { AccountRequiredError } from '../errors.js';
import { requestJson } from '../request.js';
import { identityOf } from '../session.js';

/** How long a signed cancel stays valid (the gateway takes at most 10 minutes). */
const CANCEL_TTL_MS = 5 * 60_000;

export interface CancelJobParameters {
  id: string;
  signal?: AbortSignal;
}
export type CancelJobReturnType = JobView;

/**
 * Cancels a job: queued tasks are dropped, running ones are told to stop. Signs the CancelJob
 * typed data (for this gateway and chain, valid for 5 minutes) with the client's account, which must be the job's requester (`ForbiddenError`
 * otherwise); a finished job answers `JobStateError`.
 *
 * @example
 * const job = await cancelJob(client, { id });
 */
export async function cancelJob(client: LodeClient, params: CancelJobParameters): Promise<CancelJobReturnType> {
  const account = client.account;
  if (!account) throw new AccountRequiredError('cancelJob');
  const { gateway, chainId } = await identityOf(client, params.signal);
  const expiresAt = Date.now() + CANCEL_TTL_MS;
  const signature = await account.signTypedData(
    cancelJobTypedData({ requester: account.address, jobId: params.id, expiresAt: BigInt(expiresAt) }, { gateway: gateway as `0x${string}`, chainId }),
  );
  const body: SignedCancel = { requester: account.address, expiresAt, signature };
  return requestJson(client, JobView, {
    method: 'POST',
    path: `/v1/jobs/${encodeURIComponent(params.id)}/cancel`,
    body,
    signal: params.signal,
  });
}
