import { JobView, type JobStatus } from '@lode/protocol';
import { z } from 'zod';
import type { LodeClient } from '../client.js';
import { requestJson } from '../request.js';

export interface ListJobsParameters {
  /** Only jobs of this account. */
  requester?: string;
  status?: JobStatus;
  /** At most this many (the gateway may cap it). */
  limit?: number;
  signal?: AbortSignal;
}
export type ListJobsReturnType = JobView[];

const Body = z.object({ jobs: z.array(JobView) });

/**
 * Jobs on the gateway, newest first as the gateway orders them.
 *
 * @example
 * const running = await listJobs(client, { status: 'running' });
 */
export async function listJobs(client: LodeClient, params: ListJobsParameters = {}): Promise<ListJobsReturnType> {
  const { signal, ...query } = params;
  const body = await requestJson(client, Body, { path: '/v1/jobs', query, signal, auth: true });
  return body.jobs;
}
