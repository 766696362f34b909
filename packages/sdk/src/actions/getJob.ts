import { JobView } from '@lode/protocol';
import type { LodeClient } from '../client.js';
import { requestJson } from '../request.js';

export interface GetJobParameters {
  id: string;
  signal?: AbortSignal;
}
export type GetJobReturnType = JobView;

/**
 * The job's current state and task counts. Throws `NotFoundError` for an unknown id.
 *
 * @example
 * const { status, counts } = await getJob(client, { id });
 */
export async function getJob(client: LodeClient, params: GetJobParameters): Promise<GetJobReturnType> {
  return requestJson(client, JobView, { path: `/v1/jobs/${encodeURIComponent(params.id)}`, signal: params.signal, auth: true });
}

/** Statuses after which a job never changes again. */
export const FINISHED_JOB_STATUSES: ReadonlySet<JobView['status']> = new Set(['completed', 'failed', 'cancelled']);

/** True once the job is completed, failed or cancelled. */
export function isJobFinished(job: Pick<JobView, 'status'>): boolean {
  return FINISHED_JOB_STATUSES.has(job.status);
}
