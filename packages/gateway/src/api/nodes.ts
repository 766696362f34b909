/**
 * Nodes: the provider protocol's WebSocket (`/v1/nodes/ws`, one `NodeSession` per socket, a
 * bounded number per client IP) and the list of nodes (`GET /v1/nodes`).
 */
import { QuotaExceededError, type NodeView } from '@lode/protocol';
import type { FastifyInstance } from 'fastify';
import { clientKey } from '../clientKey.js';
import { NodeSession, type SessionHost } from '../nodes/nodeSession.js';
import { OpenCounts } from '../openCounts.js';

export interface NodesApiDeps {
  /** What a session reports to, and asks of, the gateway. */
  host: SessionHost;
  views(): NodeView[];
  nodeConnectionsPerIp: number;
}

export async function nodesApi(app: FastifyInstance, { host, views, nodeConnectionsPerIp }: NodesApiDeps): Promise<void> {
  /** Node sessions per client IP (authenticated or not). */
  const connections = new OpenCounts();
  app.get('/v1/nodes/ws', { websocket: true }, (socket, req) => {
    const ip = clientKey(req.ip);
    if (!connections.tryOpen(ip, nodeConnectionsPerIp)) {
      const err = new QuotaExceededError(
        `${connections.of(ip)} node sessions are open from ${ip}; this gateway allows ${nodeConnectionsPerIp} per address. Close some, or run more slots in one node (--slots).`,
      );
      socket.send(JSON.stringify({ t: 'error', code: err.code, message: err.shortMessage }));
      socket.close(4008, 'too many connections');
      return;
    }
    socket.once('close', () => connections.close(ip));
    new NodeSession(socket, host, req.ip, req.headers.host);
  });
  app.get('/v1/nodes', async () => ({ nodes: views() }));
}
