import { StatsView } from '@lode/protocol';
import type { LodeClient } from '../client.js';
import { requestJson } from '../request.js';

export interface GetStatsParameters {
  signal?: AbortSignal;
}
export type GetStatsReturnType = StatsView;

/**
 * The network at a glance (public): nodes online by kind, slots and busy slots, queued and
 * running tasks, tasks per second, active jobs, whether the gateway settles payments, and the
 * recent history the dashboard charts.
 *
 * @example
 * const { nodes, tasks } = await getStats(client);
 * console.log(`${nodes.online} nodes, ${tasks.perSecond} tasks/s`);
 */
export function getStats(client: LodeClient, params: GetStatsParameters = {}): Promise<GetStatsReturnType> {
  return requestJson(client, StatsView, { path: '/v1/stats', signal: params.signal });
}
