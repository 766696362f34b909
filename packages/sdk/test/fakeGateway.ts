/**
 * A tiny HTTP server standing in for a gateway in unit tests: routes by `METHOD /path`, records
 * every request. Real sockets, so streaming (SSE) and connection failures behave as in life.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { JobView } from '@lode/protocol';

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

export type Handler = (req: RecordedRequest, res: ServerResponse) => void | Promise<void>;

export interface FakeGateway {
  url: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

/** The account the fake gateway says it is (GET /v1/identity), and its chain. */
export const FAKE_IDENTITY = { gateway: `0x${'9a'.repeat(20)}`, chainId: 31337, protocol: 2, publicUrls: [] as string[] };

/** Sign-in as a gateway answers it; tests may replace any of these routes. */
const AUTH_ROUTES: Record<string, Handler> = {
  'GET /v1/identity': (_req, res) => json(res, 200, FAKE_IDENTITY),
  'POST /v1/auth/nonce': (_req, res) => json(res, 200, { nonce: 'abcdef0123456789', expiresAt: Date.now() + 300_000 }),
  'POST /v1/auth/session': (req, res) => {
    const { message } = JSON.parse(req.body.toString()) as { message: string };
    const address = /0x[0-9a-fA-F]{40}/.exec(message)![0];
    json(res, 200, { token: `token-for-${address.toLowerCase()}`, address: address.toLowerCase(), expiresAt: Date.now() + 3_600_000 });
  },
};

export async function startFakeGateway(routes: Record<string, Handler>): Promise<FakeGateway> {
  routes = { ...AUTH_ROUTES, ...routes };
  const requests: RecordedRequest[] = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const url = new URL(req.url ?? '/', 'http://x');
    const recorded = { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, headers: req.headers, body: Buffer.concat(chunks) };
    requests.push(recorded);
    const handler = routes[`${recorded.method} ${recorded.path}`];
    if (!handler) return json(res, 404, { error: { code: 'NOT_FOUND', message: 'No route', meta: { what: 'route', id: recorded.path } } });
    await handler(recorded, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

/** A valid JobView with the given overrides. */
export function jobView(over: Partial<JobView> = {}): JobView {
  return {
    id: '0123456789abcdef0123456789abcdef',
    name: 'test',
    requester: `0x${'11'.repeat(20)}`,
    module: 'ab'.repeat(32),
    status: 'running',
    taskCount: 2,
    counts: { queued: 1, leased: 1, done: 0, failed: 0, cancelled: 0 },
    createdAt: 1_700_000_000_000,
    finishedAt: null,
    deadline: 1_800_000_000_000,
    ...over,
  };
}
