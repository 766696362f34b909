import { cancelJobTypedData, JobView, type SignedCancel } from '@lode/protocol';
import type { LodeClient } from '../client.js';
import { AccountRequiredError } from '../errors.js';
import { requestJson } from '../request.js';

export interface CancelJobParameters {
  id: string;
  signal?: AbortSignal;
}
export type CancelJobReturnType = JobView;

/**
 * Cancels a job: queued tasks are dropped, running ones are told to stop. Signs the CancelJob
 * typed data with the client's account, which must be the job's requester (`ForbiddenError`
 * otherwise); a finished job answers `JobStateError`.
 *
 * @example
 * const job = await cancelJob(client, { id });
 */
export async function cancelJob(client: LodeClient, params: CancelJobParameters): Promise<CancelJobReturnType> {
  const account = client.account;
  if (!account) throw new AccountRequiredError('cancelJob');
  const timestamp = Date.now();
  const signature = await account.signTypedData(
    cancelJobTypedData({ requester: account.address, jobId: params.id, timestamp: BigInt(timestamp) }),
  );
  const body: SignedCancel = { requester: account.address, timestamp, signature };
  return requestJson(client, JobView, {
    method: 'POST',
    path: `/v1/jobs/${encodeURIComponent(params.id)}/cancel`,
    body,
    signal: params.signal,
  });
}
