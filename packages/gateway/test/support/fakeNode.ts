/**
 * A node session driven by hand: a raw WebSocket speaking the node protocol to a real gateway,
 * so tests decide exactly what a node answers (right, wrong, nothing) and when.
 */
import WebSocket from 'ws';
import { randomBytes } from 'node:crypto';
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from 'viem/accounts';
import { fetchAs, identityOf } from './session.js';
import {
  JobSpec,
  PROTOCOL_VERSION,
  capabilitiesHash,
  nodeHelloTypedData,
  originOf,
  resultDigest,
  sha256Hex,
  signJob,
  toBase64,
  type Capabilities,
  type JobSpecInit,
  type Lease,
} from '@lode/protocol';

export const baseCaps: Capabilities = {
  cores: 1,
  memoryMiB: 1024,
  os: 'linux',
  arch: 'x64',
  kind: 'server',
  slots: 1,
  pricePerTask: '0',
  benchmark: 1,
  agent: 'test',
};

export interface FakeNode {
  ws: WebSocket;
  address: string;
  account: PrivateKeyAccount;
  /** The next frame of this type (frames of other types stay queued). */
  next(t: string): Promise<any>;
  /** Sends an `ok` result with this stdout (and its right hash unless `hash` is given). */
  send(lease: Lease, stdout: Uint8Array, hash?: string, extra?: { fuelUsed?: number }): void;
  /** Answers every lease from now on with `answer(lease)` as stdout (undefined: holds it unanswered); returns a stop function. */
  serve(answer: (lease: Lease) => string | undefined, extra?: (lease: Lease) => { fuelUsed?: number }): () => void;
  /** Leases received so far (while serving). */
  readonly seen: Lease[];
}

/** Connects, says hello as `account` (a fresh one by default) and waits for the welcome. */
export async function fakeNode(
  wsUrl: string,
  over: Partial<Capabilities> = {},
  account = privateKeyToAccount(generatePrivateKey()),
  opts: { heartbeat?: boolean } = {},
): Promise<FakeNode> {
  const caps = { ...baseCaps, ...over };
  const ws = new WebSocket(wsUrl);
  const inbox: any[] = [];
  const waiters = new Set<() => void>();
  ws.on('close', () => {
    for (const w of waiters) w();
  });
  let server: ((msg: any) => void) | undefined;
  ws.on('message', (d) => {
    const msg = JSON.parse(d.toString());
    if (server && msg.t === 'lease') return server(msg);
    inbox.push(msg);
    for (const w of waiters) w();
  });
  /** The next frame whose type is one of `types`. */
  const nextOf = async (...types: string[]): Promise<any> => {
    for (;;) {
      const i = inbox.findIndex((m) => types.includes(m.t));
      if (i >= 0) return inbox.splice(i, 1)[0];
      if (ws.readyState !== ws.OPEN) throw new Error(`socket closed while waiting for ${types.join('|')}`);
      await new Promise<void>((r) => {
        const w = () => {
          waiters.delete(w);
          r();
        };
        waiters.add(w);
      });
    }
  };
  const next = (t: string) => nextOf(t);
  await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
  const { challenge, gateway, chainId } = await next('challenge');
  const expiresAt = Date.now() + 60_000;
  const origin = originOf(wsUrl);
  const signature = await account.signTypedData(
    nodeHelloTypedData(
      { node: account.address, challenge, capabilitiesHash: capabilitiesHash(caps), origin, expiresAt: BigInt(expiresAt) },
      { gateway, chainId },
    ),
  );
  ws.send(JSON.stringify({ t: 'hello', protocol: PROTOCOL_VERSION, node: account.address, capabilities: caps, origin, expiresAt, signature }));
  const first = await nextOf('welcome', 'error');
  if (first.t === 'error') throw Object.assign(new Error(`hello refused: ${first.code}: ${first.message}`), { code: first.code });
  // A real node's heartbeat: the gateway closes sessions silent for three heartbeat periods.
  if (opts.heartbeat !== false) {
    const heartbeat = setInterval(() => ws.readyState === ws.OPEN && ws.send(JSON.stringify({ t: 'heartbeat', running: 0 })), 250);
    ws.on('close', () => clearInterval(heartbeat));
  }
  const seen: Lease[] = [];
  const send = (lease: Lease, stdout: Uint8Array, hash?: string, extra: { fuelUsed?: number } = {}) =>
    ws.send(
      JSON.stringify({
        t: 'results',
        results: [
          {
            leaseId: lease.leaseId,
            status: 'ok',
            exitCode: 0,
            stdout: toBase64(stdout),
            stderr: '',
            files: [],
            deleted: [],
            resultHash: hash ?? resultDigest({ exitCode: 0, stdout, stderr: new Uint8Array(), files: [] }),
            durationMs: 1,
            ...extra,
          },
        ],
      }),
    );
  return {
    ws,
    address: account.address.toLowerCase(),
    account,
    next,
    send,
    seen,
    serve(answer, extra) {
      server = (msg) => {
        for (const l of msg.leases as Lease[]) {
          seen.push(l);
          const out = answer(l);
          if (out !== undefined) send(l, new TextEncoder().encode(out), undefined, extra?.(l));
        }
      };
      // Leases that arrived before serving.
      for (let i = inbox.findIndex((m) => m.t === 'lease'); i >= 0; i = inbox.findIndex((m) => m.t === 'lease')) server(inbox.splice(i, 1)[0]);
      return () => (server = undefined);
    },
  };
}

/** The WAT module the fake nodes "run" (they never do: they answer by hand). */
const MODULE = `(module (memory (export "memory") 1 1) (func (export "_start")))`;

/** Uploads a trivial module and submits a signed job of `tasks` tasks; resolves to its id. */
export async function submitJob(gatewayUrl: string, requester: PrivateKeyAccount, tasks: number, over: Partial<JobSpecInit> = {}): Promise<string> {
  const r = await postJob(gatewayUrl, requester, tasks, over, {});
  if (r.status !== 201) throw new Error(`submit: ${r.status} ${await r.text()}`);
  return ((await r.json()) as { id: string }).id;
}

/** The same job, submitted with `Accept: text/event-stream`: the answer is the job's event stream. */
export async function submitStreaming(gatewayUrl: string, requester: PrivateKeyAccount, tasks: number, over: Partial<JobSpecInit> = {}): Promise<Response> {
  return postJob(gatewayUrl, requester, tasks, over, { accept: 'text/event-stream' });
}

async function postJob(
  gatewayUrl: string,
  requester: PrivateKeyAccount,
  tasks: number,
  over: Partial<JobSpecInit>,
  headers: Record<string, string>,
): Promise<Response> {
  const wabt = await (await import('wabt')).default();
  const bytes = new Uint8Array(wabt.parseWat('m.wat', MODULE).toBinary({}).buffer);
  const sha = sha256Hex(bytes);
  await fetchAs(requester, `${gatewayUrl}/v1/blobs/${sha}`, { method: 'PUT', body: bytes, headers: { 'content-type': 'application/octet-stream' } });
  const spec = JobSpec.parse({
    version: 1,
    requester: requester.address,
    module: sha,
    deadline: Date.now() + 120_000,
    nonce: `0x${randomBytes(32).toString('hex')}`,
    tasks: Array.from({ length: tasks }, (_, i) => ({ args: [String(i)] })),
    limits: { wallMs: 5000, maxOutputBytes: 1024 },
    ...over,
  });
  const signed = await signJob(requester, spec, await identityOf(gatewayUrl));
  return fetchAs(requester, `${gatewayUrl}/v1/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(signed),
  });
}

/** Polls `GET path` (as `reader`, when given: job routes need the requester's session) until `done(body)` holds (or `tries` × 50 ms pass); returns the last body. */
export async function pollJson(url: string, done: (body: any) => boolean, tries = 200, reader?: PrivateKeyAccount): Promise<any> {
  let body: any;
  for (let i = 0; i < tries; i++) {
    body = await (await (reader ? fetchAs(reader, url) : fetch(url))).json();
    if (done(body)) return body;
    await new Promise((r) => setTimeout(r, 50));
  }
  return body;
}
