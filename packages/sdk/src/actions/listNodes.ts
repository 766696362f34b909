import { NodeView } from '@lode/protocol';
import { z } from 'zod';
import type { LodeClient } from '../client.js';
import { requestJson } from '../request.js';

export interface ListNodesParameters {
  signal?: AbortSignal;
}
export type ListNodesReturnType = NodeView[];

const Body = z.object({ nodes: z.array(NodeView) });

/**
 * The provider nodes the gateway knows: capabilities, whether they are online, tasks running and done.
 *
 * @example
 * const online = (await listNodes(client)).filter((n) => n.online);
 */
export async function listNodes(client: LodeClient, params: ListNodesParameters = {}): Promise<ListNodesReturnType> {
  const body = await requestJson(client, Body, { path: '/v1/nodes', signal: params.signal });
  return body.nodes;
}
