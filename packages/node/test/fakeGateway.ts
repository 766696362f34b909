/**
 * A small in-test gateway: the node WebSocket protocol (challenge → hello verified with
 * recoverNodeHello → welcome) plus GET /v1/blobs/:sha256. Tests drive leases by hand.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { WebSocketServer, type WebSocket } from 'ws';
import { capabilitiesHash, NodeMessage, PROTOCOL_VERSION, recoverNodeHello, sha256Hex, type GatewayMessage, type Lease } from '@lode/protocol';

/** Who the fake gateway says it is (the domain hellos are signed for). */
export const FAKE_DOMAIN = { gateway: '0x00000000000000000000000000000000000fa4e0' as `0x${string}`, chainId: 0 };

export interface FakeSession {
  id: string;
  ws: WebSocket;
  challenge: `0x${string}`;
  /** Address recovered from the hello signature. */
  signer?: string;
  hello?: Extract<NodeMessage, { t: 'hello' }>;
  frames: NodeMessage[];
  closed: boolean;
}

export interface FakeGatewayOptions {
  heartbeatMs?: number;
  /** Ack results automatically. @default true */
  autoAck?: boolean;
}

export async function startFakeGateway(options: FakeGatewayOptions = {}) {
  const blobs = new Map<string, Uint8Array>();
  const blobFetches: string[] = [];
  const sessions: FakeSession[] = [];
  let autoAck = options.autoAck ?? true;

  const server: Server = createServer((req, res) => {
    const m = /^\/v1\/blobs\/([0-9a-f]{64})$/.exec(req.url ?? '');
    if (req.method !== 'GET' || !m) {
      res.writeHead(404).end();
      return;
    }
    blobFetches.push(m[1]!);
    const bytes = blobs.get(m[1]!);
    if (!bytes) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"code":"NOT_FOUND","message":"no blob"}}');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes.byteLength }).end(bytes);
  });
  const wss = new WebSocketServer({ server, path: '/v1/nodes/ws' });
  let n = 0;
  wss.on('connection', (ws) => {
    const session: FakeSession = {
      id: `s${++n}`,
      ws,
      challenge: `0x${randomBytes(32).toString('hex')}`,
      frames: [],
      closed: false,
    };
    sessions.push(session);
    ws.on('close', () => (session.closed = true));
    ws.on('message', async (data) => {
      const msg = NodeMessage.parse(JSON.parse(data.toString()));
      session.frames.push(msg);
      if (msg.t === 'hello') {
        session.hello = msg;
        session.signer = await recoverNodeHello(
          {
            node: msg.node as `0x${string}`,
            challenge: session.challenge,
            capabilitiesHash: capabilitiesHash(msg.capabilities),
            origin: msg.origin,
            expiresAt: BigInt(msg.expiresAt),
          },
          msg.signature as `0x${string}`,
          FAKE_DOMAIN,
        );
        send(session, { t: 'welcome', sessionId: session.id, node: msg.node, heartbeatMs: options.heartbeatMs ?? 60_000 });
      } else if (msg.t === 'results' && autoAck) {
        send(session, { t: 'ack', leaseIds: msg.results.map((r) => r.leaseId) });
      }
    });
    send(session, { t: 'challenge', challenge: session.challenge, protocol: PROTOCOL_VERSION, ...FAKE_DOMAIN });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  function send(session: FakeSession, msg: GatewayMessage | Record<string, unknown>): void {
    session.ws.send(JSON.stringify(msg));
  }

  return {
    url: `http://127.0.0.1:${port}`,
    sessions,
    blobFetches,
    /** Stores a blob under its true hash, or under `as` (to serve bytes that do not match). */
    putBlob(bytes: Uint8Array, as?: string): string {
      const sha = as ?? sha256Hex(bytes);
      blobs.set(sha, bytes);
      return sha;
    },
    setAutoAck(on: boolean) {
      autoAck = on;
    },
    /** The latest session that completed its hello. */
    current(): FakeSession {
      const s = [...sessions].reverse().find((x) => x.hello && !x.closed);
      if (!s) throw new Error('no established session');
      return s;
    },
    send,
    sendRaw(session: FakeSession, text: string) {
      session.ws.send(text);
    },
    lease(session: FakeSession, leases: Lease[]) {
      send(session, { t: 'lease', leases });
    },
    /** Every results outcome the node sent, across sessions. */
    results(session?: FakeSession) {
      return (session ? [session] : sessions).flatMap((s) => s.frames.flatMap((f) => (f.t === 'results' ? f.results : [])));
    },
    async close() {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export type FakeGateway = Awaited<ReturnType<typeof startFakeGateway>>;

/** Polls `cond` every 5 ms until it holds (or fails after `timeoutMs`). */
export async function waitFor(cond: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

let leaseCounter = 0;
/** A lease with sensible defaults for tests. */
export function makeLease(module: string, init: Partial<Lease> & { input?: Partial<Lease['input']> } = {}): Lease {
  const i = leaseCounter++;
  return {
    leaseId: init.leaseId ?? `L${i}`,
    jobId: init.jobId ?? 'job1',
    taskIndex: init.taskIndex ?? i,
    module,
    input: { args: [], env: {}, files: [], mounts: [], ...init.input },
    limits: init.limits ?? { memoryMiB: 64, wallMs: 5000, maxOutputBytes: 1 << 20, fuel: 20_000_000_000 },
    seed: init.seed ?? sha256Hex(`seed${i}`),
    expiresAt: init.expiresAt ?? Date.now() + 60_000,
  };
}
