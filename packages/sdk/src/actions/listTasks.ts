import { TaskView } from '@lode/protocol';
import { z } from 'zod';
import type { LodeClient } from '../client.js';
import { requestJson } from '../request.js';

export interface ListTasksParameters {
  /** The job's id. */
  id: string;
  /** First task index to list. @default 0 */
  offset?: number;
  /** At most this many (the gateway may cap it). */
  limit?: number;
  signal?: AbortSignal;
}
export type ListTasksReturnType = TaskView[];

const Body = z.object({ tasks: z.array(TaskView) });

/**
 * One page of a job's tasks (status, attempts, node, error), in index order.
 *
 * @example
 * const failed = (await listTasks(client, { id })).filter((t) => t.status === 'failed');
 */
export async function listTasks(client: LodeClient, params: ListTasksParameters): Promise<ListTasksReturnType> {
  const { id, signal, offset, limit } = params;
  const body = await requestJson(client, Body, {
    path: `/v1/jobs/${encodeURIComponent(id)}/tasks`,
    query: { offset, limit },
    signal,
    auth: true,
  });
  return body.tasks;
}
