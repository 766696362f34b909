/**
 * Strangers against a real gateway on real sockets: reading others' jobs, replaying signatures
 * made for another gateway, relaying a hello, and every quota. Each refusal must be the right
 * code with a message that says what to do, and the gateway must keep serving.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import {
  JobSpec,
  PROTOCOL_VERSION,
  capabilitiesHash,
  cancelJobTypedData,
  nodeHelloTypedData,
  sessionMessage,
  jobIdOf,
  sha256Hex,
  signJob,
  type Capabilities,
  type JobSpecInit,
} from '@lode/protocol';
import { startGateway, testGatewayOptions, type GatewayHandle, type GatewayOptions } from '../src/index.js';
import { fetchAs, identityOf, signInAs } from './support/session.js';

const MODULE = `(module (memory (export "memory") 1 1) (func (export "_start")))`;
const caps: Capabilities = { cores: 1, memoryMiB: 1024, os: 'linux', arch: 'x64', kind: 'server', slots: 1, pricePerTask: '0', benchmark: 1, agent: 'test' };

const dirs: string[] = [];
const gateways: GatewayHandle[] = [];
async function gateway(over: GatewayOptions = {}): Promise<GatewayHandle> {
  const dir = mkdtempSync(join(tmpdir(), 'lode-sec-'));
  dirs.push(dir);
  const gw = await startGateway(testGatewayOptions({ dataDir: dir, logLevel: 'silent', ...over }));
  gateways.push(gw);
  return gw;
}
afterAll(async () => {
  for (const g of gateways) await g.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

let module: Uint8Array;
beforeAll(async () => {
  const wabt = await (await import('wabt')).default();
  module = new Uint8Array(wabt.parseWat('m.wat', MODULE).toBinary({}).buffer);
});

const account = () => privateKeyToAccount(generatePrivateKey());
type Account = ReturnType<typeof account>;

function specOf(requester: Account, sha: string, over: Partial<JobSpecInit> = {}): JobSpec {
  return JobSpec.parse({
    version: 1,
    requester: requester.address,
    module: sha,
    deadline: Date.now() + 60_000,
    nonce: `0x${randomBytes(32).toString('hex')}`,
    tasks: [{ args: ['1'] }],
    ...over,
  });
}

/** Uploads the module as `who` and submits a job signed for `signedFor` (default: the gateway it is sent to). */
async function submit(gw: GatewayHandle, who: Account, over: Partial<JobSpecInit> = {}, signedFor?: GatewayHandle) {
  const sha = sha256Hex(module);
  await fetchAs(who, `${gw.url}/v1/blobs/${sha}`, { method: 'PUT', body: module, headers: { 'content-type': 'application/octet-stream' } });
  const signed = await signJob(who, specOf(who, sha, over), await identityOf((signedFor ?? gw).url));
  const r = await fetchAs(who, `${gw.url}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(signed) });
  return { status: r.status, body: (await r.json()) as any, signed };
}

/** Files an upload left in the gateway's temporary directory. */
const uploadsLeft = (dataDir: string) => {
  const dir = join(dataDir, 'tmp', 'uploads');
  return existsSync(dir) ? readdirSync(dir) : [];
};

const errorOf = async (r: Response) => ({ status: r.status, ...((await r.json()) as any).error });

describe("reads are the requester's alone", () => {
  it("a job, its tasks, results and events need its requester's session; others get 404, strangers 401", async () => {
    const gw = await gateway();
    const alice = account();
    const mallory = account();
    const { body: job } = await submit(gw, alice);
    for (const path of [`/v1/jobs/${job.id}`, `/v1/jobs/${job.id}/tasks`, `/v1/jobs/${job.id}/results`, `/v1/jobs/${job.id}/events`, '/v1/jobs']) {
      const anon = await errorOf(await fetch(gw.url + path));
      expect(anon, path).toMatchObject({ status: 401, code: 'UNAUTHORIZED' });
      expect(anon.message).toMatch(/sign/i);
    }
    for (const path of [`/v1/jobs/${job.id}`, `/v1/jobs/${job.id}/tasks`, `/v1/jobs/${job.id}/results`, `/v1/jobs/${job.id}/events`]) {
      expect(await errorOf(await fetchAs(mallory, gw.url + path)), path).toMatchObject({ status: 404, code: 'NOT_FOUND' });
    }
    expect((await fetchAs(alice, `${gw.url}/v1/jobs/${job.id}`)).status).toBe(200);
    const list = (await (await fetchAs(mallory, `${gw.url}/v1/jobs`)).json()) as any;
    expect(list.jobs).toEqual([]);
    expect(((await (await fetchAs(alice, `${gw.url}/v1/jobs`)).json()) as any).jobs.map((j: any) => j.id)).toEqual([job.id]);
    expect(await errorOf(await fetchAs(mallory, `${gw.url}/v1/jobs?requester=${alice.address}`))).toMatchObject({ status: 403, code: 'FORBIDDEN' });
    // The network-wide views stay public.
    for (const path of ['/v1/nodes', '/v1/stats', '/v1/identity', '/healthz']) expect((await fetch(gw.url + path)).status, path).toBe(200);
  });

  it('refuses a tampered, foreign or expired session token, and a replayed sign-in', async () => {
    const gw = await gateway();
    const other = await gateway();
    const alice = account();
    const token = await signInAs(gw.url, alice);
    const [v, payload, mac] = token.split('.');
    const forged = `${v}.${Buffer.from(JSON.stringify({ a: account().address.toLowerCase(), g: gw.identity.gateway.toLowerCase(), e: Date.now() + 1e6 })).toString('base64url')}.${mac}`;
    for (const bad of [forged, `${v}.${payload}.${'A'.repeat(43)}`, 'nonsense', await signInAs(other.url, alice)]) {
      const r = await fetch(`${gw.url}/v1/jobs`, { headers: { authorization: `Bearer ${bad}` } });
      expect((await errorOf(r)).code).toBe('UNAUTHORIZED');
    }
    // A sign-in message is good once: its nonce is spent.
    const { gateway: g, chainId } = await identityOf(gw.url);
    const { nonce } = (await (await fetch(`${gw.url}/v1/auth/nonce`, { method: 'POST' })).json()) as any;
    const message = sessionMessage({ url: gw.url, address: alice.address, gateway: g, chainId, nonce });
    const body = JSON.stringify({ message, signature: await alice.signMessage({ message }) });
    const post = () => fetch(`${gw.url}/v1/auth/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect((await post()).status).toBe(200);
    expect(await errorOf(await post())).toMatchObject({ status: 409, code: 'REPLAYED' });
    // Also when the same message is sent twice at once (recovering a signature may let the other
    // request run between the nonce's check and its use): one session, one REPLAYED.
    const { nonce: n1 } = (await (await fetch(`${gw.url}/v1/auth/nonce`, { method: 'POST' })).json()) as any;
    const once = sessionMessage({ url: gw.url, address: alice.address, gateway: g, chainId, nonce: n1 });
    const onceBody = JSON.stringify({ message: once, signature: await alice.signMessage({ message: once }) });
    const twice = await Promise.all(
      [0, 1].map(() => fetch(`${gw.url}/v1/auth/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: onceBody })),
    );
    expect(twice.map((r) => r.status).sort()).toEqual([200, 409]);
    // A message for another host (a phishing site's) or signed by another key is refused.
    const n2 = ((await (await fetch(`${gw.url}/v1/auth/nonce`, { method: 'POST' })).json()) as any).nonce;
    const phished = sessionMessage({ url: 'http://evil.example:7070', address: alice.address, gateway: g, chainId, nonce: n2 });
    const r = await fetch(`${gw.url}/v1/auth/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ message: phished, signature: await alice.signMessage({ message: phished }) }),
    });
    expect(await errorOf(r)).toMatchObject({ status: 401, code: 'INVALID_SIGNATURE' });
  });
});

describe('signatures are bound to one gateway and chain', () => {
  it('a job or a cancel signed for another gateway is refused', async () => {
    const a = await gateway();
    const b = await gateway();
    const alice = account();
    const replayed = await submit(b, alice, {}, a);
    expect(replayed.status).toBe(401);
    expect(replayed.body.error.code).toBe('INVALID_SIGNATURE');
    expect(replayed.body.error.message).toMatch(/another gateway or chain/);

    const { body: job } = await submit(b, alice);
    const expiresAt = Date.now() + 60_000;
    const signature = await alice.signTypedData(
      cancelJobTypedData({ requester: alice.address, jobId: job.id, expiresAt: BigInt(expiresAt) }, await identityOf(a.url)),
    );
    const r = await fetch(`${b.url}/v1/jobs/${job.id}/cancel`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ requester: alice.address, expiresAt, signature }),
    });
    expect(await errorOf(r)).toMatchObject({ status: 401, code: 'INVALID_SIGNATURE' });
    // An expired cancel is refused too.
    const stale = await alice.signTypedData(cancelJobTypedData({ requester: alice.address, jobId: job.id, expiresAt: 1n }, await identityOf(b.url)));
    const r2 = await fetch(`${b.url}/v1/jobs/${job.id}/cancel`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ requester: alice.address, expiresAt: 1, signature: stale }),
    });
    expect(await errorOf(r2)).toMatchObject({ status: 409, code: 'REPLAYED' });
  });

  it('a node hello signed for another gateway, or for the origin a relay was dialed at, is refused', async () => {
    const a = await gateway();
    const b = await gateway();
    const node = account();
    const refusal = async (
      sign: (challenge: {
        challenge: `0x${string}`;
        gateway: `0x${string}`;
        chainId: number;
      }) => Promise<{ origin: string; signature: string; expiresAt: number }>,
    ) => {
      const ws = new WebSocket(b.wsUrl);
      const frames: any[] = [];
      const closed = new Promise<number>((r) => ws.on('close', (code) => r(code)));
      const challenged = new Promise<any>((r) => ws.on('message', (d) => (frames.push(JSON.parse(d.toString())), frames.length === 1 && r(frames[0]))));
      const c = await challenged;
      const { origin, signature, expiresAt } = await sign(c);
      ws.send(JSON.stringify({ t: 'hello', protocol: PROTOCOL_VERSION, node: node.address, capabilities: caps, origin, expiresAt, signature }));
      const code = await closed;
      return { code, error: frames.find((f) => f.t === 'error') };
    };
    const hello = (origin: string, domain: { gateway: `0x${string}`; chainId: number }, challenge: `0x${string}`, expiresAt = Date.now() + 60_000) =>
      node
        .signTypedData(
          nodeHelloTypedData({ node: node.address, challenge, capabilitiesHash: capabilitiesHash(caps), origin, expiresAt: BigInt(expiresAt) }, domain),
        )
        .then((signature) => ({ origin, signature, expiresAt }));
    const origin = new URL(b.wsUrl).host;
    // Signed for gateway A (a relay would have forwarded A's identity): B refuses it.
    const foreign = await refusal(async (c) => hello(origin, await identityOf(a.url), c.challenge));
    expect(foreign.code).toBe(4004);
    expect(foreign.error).toMatchObject({ code: 'HELLO_REFUSED' });
    // Signed for B but dialed at another address (a relay's): refused.
    const relayed = await refusal(async (c) => hello('relay.example:7070', { gateway: c.gateway, chainId: c.chainId }, c.challenge));
    expect(relayed.error.message).toMatch(/relay\.example:7070, which is not this gateway/);
    // Expired: refused.
    const expired = await refusal(async (c) => hello(origin, { gateway: c.gateway, chainId: c.chainId }, c.challenge, Date.now() - 1));
    expect(expired.error.message).toMatch(/expired/);
  });
});

describe('quotas', () => {
  it('job limits: deadline, tasks per job, bytes per job, open jobs per account — each a clear 4xx', async () => {
    const gw = await gateway({ limits: { maxDeadlineMs: 3_600_000, maxTasksPerJob: 10, maxJobBytes: 8 * 1024, maxOpenJobsPerAccount: 2 } });
    const alice = account();
    const far = await submit(gw, alice, { deadline: Date.now() + 2 * 3_600_000 });
    expect(far.status).toBe(400);
    expect(far.body.error.message).toMatch(/more than 1 hours away/);
    const many = await submit(gw, alice, { tasks: Array.from({ length: 11 }, () => ({ args: [] })) });
    expect(many.status).toBe(413);
    expect(many.body.error.message).toMatch(/at most 10 per job/);
    const big = await submit(gw, alice, { tasks: [{ args: ['x'.repeat(4000), 'y'.repeat(4000), 'z'.repeat(1000)] }] });
    expect(big.status).toBe(413);
    expect(big.body.error.code).toBe('TOO_LARGE');
    expect((await submit(gw, alice)).status).toBe(201);
    expect((await submit(gw, alice)).status).toBe(201);
    const third = await submit(gw, alice);
    expect(third.status).toBe(429);
    expect(third.body.error).toMatchObject({ code: 'QUOTA_EXCEEDED' });
    expect(third.body.error.message).toMatch(/at most 2 per account/);
    expect((await submit(gw, account())).status).toBe(201); // another account is not held up
  });

  it('open jobs per account hold when the submissions arrive at once', async () => {
    const gw = await gateway({ limits: { maxOpenJobsPerAccount: 2 } });
    const bob = account();
    await signInAs(gw.url, bob);
    const r = await Promise.all(Array.from({ length: 6 }, () => submit(gw, bob)));
    expect(r.map((x) => x.status).sort()).toEqual([201, 201, 429, 429, 429, 429]);
    const list = await fetchAs(bob, `${gw.url}/v1/jobs`);
    expect(((await list.json()) as any).jobs).toHaveLength(2);
  });

  it("a stranger's upload or submission is refused before its body is received", async () => {
    const gw = await gateway();
    // Headers announce 50 MB and only 1 KiB follows: the answer must come without the rest.
    for (const [method, path, type] of [
      ['POST', '/v1/blobs', 'application/octet-stream'],
      ['PUT', `/v1/blobs/${'a'.repeat(64)}`, 'application/octet-stream'],
      ['POST', '/v1/jobs', 'application/json'],
    ] as const) {
      const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = httpRequest(`${gw.url}${path}`, { method, headers: { 'content-type': type, 'content-length': String(50_000_000) } }, (res) => {
          let body = '';
          res.on('data', (d) => (body += d));
          res.on('end', () => resolve({ status: res.statusCode!, body }));
        });
        req.on('error', reject);
        req.write(Buffer.alloc(1024));
      });
      expect(answer.status, `${method} ${path}`).toBe(401);
      expect(JSON.parse(answer.body).error.code).toBe('UNAUTHORIZED');
    }
    expect(uploadsLeft(dirs.at(-1)!)).toEqual([]);
  });

  it('raw bytes are taken only by the upload routes: elsewhere they are refused, never written', async () => {
    const gw = await gateway();
    const alice = account();
    const { body: job } = await submit(gw, alice);
    const bytes = new Uint8Array(256 * 1024).fill(1);
    for (const path of [`/v1/jobs/${job.id}/cancel`, '/v1/auth/session', '/v1/auth/nonce']) {
      const r = await fetchAs(alice, `${gw.url}${path}`, { method: 'POST', body: bytes, headers: { 'content-type': 'application/octet-stream' } });
      expect(await errorOf(r), path).toMatchObject({ status: 400, code: 'INVALID_REQUEST' });
    }
    // JSON is not parsed on an upload route (its body limit is a blob's, not a request's).
    const json = await fetchAs(alice, `${gw.url}/v1/blobs`, {
      method: 'POST',
      body: JSON.stringify({ a: 'x'.repeat(1000) }),
      headers: { 'content-type': 'application/json' },
    });
    expect(await errorOf(json)).toMatchObject({ status: 400, code: 'INVALID_REQUEST' });
    expect(uploadsLeft(dirs.at(-1)!)).toEqual([]);
  });

  it('submissions per account per minute, and blob bytes per account', async () => {
    const gw = await gateway({ limits: { jobsPerMinute: 2, blobBytesPerAccount: module.byteLength + 10 } });
    const alice = account();
    expect((await submit(gw, alice)).status).toBe(201);
    expect((await submit(gw, alice)).status).toBe(201);
    const r = await submit(gw, alice);
    expect(r.status).toBe(429);
    expect(r.body.error).toMatchObject({ code: 'RATE_LIMITED' });
    expect(r.body.error.message).toMatch(/job submissions from this account: at most 2 per minute/);
    const blob = new Uint8Array(64).fill(7);
    const up = await fetchAs(alice, `${gw.url}/v1/blobs`, { method: 'POST', body: blob, headers: { 'content-type': 'application/octet-stream' } });
    expect(await errorOf(up)).toMatchObject({ status: 429, code: 'QUOTA_EXCEEDED' });
    const anon = await fetch(`${gw.url}/v1/blobs`, { method: 'POST', body: blob, headers: { 'content-type': 'application/octet-stream' } });
    expect(await errorOf(anon)).toMatchObject({ status: 401, code: 'UNAUTHORIZED' });
  });

  it('node sockets: a frame over 64 KiB before the hello closes the socket; sessions per IP are capped', async () => {
    const gw = await gateway({ limits: { nodeConnectionsPerIp: 3 } });
    const ws = new WebSocket(gw.wsUrl);
    await new Promise((r) => ws.once('open', r));
    const closed = new Promise<number>((r) => ws.on('close', (code) => r(code)));
    ws.send('x'.repeat(65 * 1024));
    expect(await closed).toBe(1009);
    const open = await Promise.all(
      Array.from(
        { length: 4 },
        () =>
          new Promise<{ ws: WebSocket; frames: any[]; closed: Promise<number> }>((resolve) => {
            const s = new WebSocket(gw.wsUrl);
            const frames: any[] = [];
            const closedP = new Promise<number>((r) => s.on('close', (code) => r(code)));
            s.on('message', (d) => {
              frames.push(JSON.parse(d.toString()));
              resolve({ ws: s, frames, closed: closedP });
            });
          }),
      ),
    );
    const refused = open.filter((o) => o.frames[0].t === 'error');
    expect(refused).toHaveLength(1);
    expect(refused[0]!.frames[0]).toMatchObject({ code: 'QUOTA_EXCEEDED' });
    expect(await refused[0]!.closed).toBe(4008);
    for (const o of open) o.ws.close();
    expect(((await (await fetch(`${gw.url}/healthz`)).json()) as any).ok).toBe(true);
  });

  it('event streams per account', async () => {
    const gw = await gateway({ limits: { eventStreamsPerAccount: 2 } });
    const alice = account();
    const { body: job } = await submit(gw, alice);
    const token = await signInAs(gw.url, alice);
    const controllers = [new AbortController(), new AbortController()];
    const streams = await Promise.all(controllers.map((c) => fetch(`${gw.url}/v1/jobs/${job.id}/events?access_token=${token}`, { signal: c.signal })));
    expect(streams.map((s) => s.status)).toEqual([200, 200]);
    const third = await fetch(`${gw.url}/v1/jobs/${job.id}/events?access_token=${token}`);
    expect(await errorOf(third)).toMatchObject({ status: 429, code: 'QUOTA_EXCEEDED' });
    for (const c of controllers) c.abort();
    // Closed streams are given back.
    let status = 0;
    for (let i = 0; i < 40 && status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 50));
      const c = new AbortController();
      status = (await fetch(`${gw.url}/v1/jobs/${job.id}/events?access_token=${token}`, { signal: c.signal })).status;
      c.abort();
    }
    expect(status).toBe(200);
  });

  it('a submit that streams its job takes an event stream too, and one over the limit is refused before the job is stored', async () => {
    const gw = await gateway({ limits: { eventStreamsPerAccount: 1 } });
    const alice = account();
    const sha = sha256Hex(module);
    await fetchAs(alice, `${gw.url}/v1/blobs/${sha}`, { method: 'PUT', body: module, headers: { 'content-type': 'application/octet-stream' } });
    const identity = await identityOf(gw.url);
    const post = async (signal?: AbortSignal) => {
      const signed = await signJob(alice, specOf(alice, sha), identity);
      const r = await fetchAs(alice, `${gw.url}/v1/jobs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
        body: JSON.stringify(signed),
        signal,
      });
      return { r, id: jobIdOf(signed.spec) };
    };
    const c = new AbortController();
    const first = await post(c.signal);
    expect(first.r.status).toBe(201);
    expect(first.r.headers.get('content-type')).toMatch(/text\/event-stream/);
    const second = await post();
    expect(await errorOf(second.r)).toMatchObject({ status: 429, code: 'QUOTA_EXCEEDED' });
    expect((await fetchAs(alice, `${gw.url}/v1/jobs/${second.id}`)).status).toBe(404);
    c.abort();
  });

  it('checks a large submission off the event loop and takes it whole (100,000 tasks)', async () => {
    const gw = await gateway();
    const alice = account();
    const tasks = Array.from({ length: 100_000 }, (_, i) => ({ args: [String(i)] }));
    const r = await submit(gw, alice, { tasks, deadline: Date.now() + 600_000 });
    expect(r.status).toBe(201);
    expect(r.body.taskCount).toBe(100_000);
    const page = (await (await fetchAs(alice, `${gw.url}/v1/jobs/${r.body.id}/tasks?offset=99998&limit=5`)).json()) as any;
    expect(page.tasks.map((t: any) => t.index)).toEqual([99_998, 99_999]);
    // A large body that is not a valid job is refused with the zod path, from the worker.
    const bad = { ...r.signed, spec: { ...r.signed.spec, tasks: [...tasks.slice(0, 50_000), { args: 5 }] } };
    const refused = await fetchAs(alice, `${gw.url}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(bad) });
    expect(await errorOf(refused)).toMatchObject({ status: 400, code: 'INVALID_REQUEST', details: expect.stringMatching(/50000/) });
  });
});
