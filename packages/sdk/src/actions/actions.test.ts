import {
  InvalidRequestError,
  NotFoundError,
  deviceDid,
  issueDeviceCredential,
  recoverCancelJob,
  sha256Hex,
  toBase64,
  verifyDeviceCredential,
  verifyJobSignature,
  SignedJob,
  jobIdOf,
} from '@lode/protocol';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { recoverMessageAddress } from 'viem';
import { afterEach, describe, expect, it } from 'vitest';
import { FAKE_IDENTITY, json, jobView, startFakeGateway, type FakeGateway } from '../../test/fakeGateway.js';
import { createLodeClient } from '../client.js';
import { AccountRequiredError } from '../errors.js';
import { cancelJob } from './cancelJob.js';
import { getDeviceCredential } from './getDeviceCredential.js';
import { getResults } from './getResults.js';
import { listJobs } from './listJobs.js';
import { listNodes } from './listNodes.js';
import { listTasks } from './listTasks.js';
import { putBlob } from './putBlob.js';
import { submitJob } from './submitJob.js';

const account = privateKeyToAccount(generatePrivateKey());
let gw: FakeGateway;
afterEach(() => gw?.close());

describe('putBlob', () => {
  const data = new TextEncoder().encode('hello blob');
  const sha = sha256Hex(data);

  it('uploads the bytes under their sha256', async () => {
    gw = await startFakeGateway({
      [`HEAD /v1/blobs/${sha}`]: (_req, res) => void res.writeHead(404).end(),
      [`PUT /v1/blobs/${sha}`]: (req, res) => json(res, 201, { sha256: sha256Hex(req.body), size: req.body.length }),
    });
    const ref = await putBlob(createLodeClient({ gateway: gw.url, account }), { data });
    expect(ref).toEqual({ sha256: sha, size: data.length });
    const put = gw.requests.find((r) => r.method === 'PUT')!;
    expect(put.headers['content-type']).toBe('application/octet-stream');
    expect(put.headers.authorization).toBe(`Bearer token-for-${account.address.toLowerCase()}`);
    expect(put.body.toString()).toBe('hello blob');
  });

  it('skips the upload when the gateway already holds the blob', async () => {
    gw = await startFakeGateway({ [`HEAD /v1/blobs/${sha}`]: (_req, res) => void res.writeHead(200).end() });
    await putBlob(createLodeClient({ gateway: gw.url, account }), { data });
    expect(gw.requests.map((r) => r.method)).toEqual(['HEAD']);
  });
});

describe('submitJob', () => {
  it('fills requester, nonce and deadline, signs, and posts the job', async () => {
    let posted: SignedJob | undefined;
    gw = await startFakeGateway({
      'POST /v1/jobs': (req, res) => {
        posted = SignedJob.parse(JSON.parse(req.body.toString()));
        json(res, 201, jobView({ id: jobIdOf(posted.spec), requester: posted.spec.requester }));
      },
    });
    const before = Date.now();
    const job = await submitJob(createLodeClient({ gateway: gw.url, account }), { module: 'ab'.repeat(32), tasks: [{ args: ['1'] }, { args: ['2'] }] });
    expect(posted!.spec.requester).toBe(account.address);
    expect(posted!.spec.nonce).toMatch(/^0x[0-9a-f]{64}$/);
    expect(posted!.spec.deadline).toBeGreaterThanOrEqual(before + 24 * 3600_000);
    const domain = { gateway: FAKE_IDENTITY.gateway as `0x${string}`, chainId: FAKE_IDENTITY.chainId };
    await expect(verifyJobSignature(posted!, domain)).resolves.toMatchObject({ jobId: jobIdOf(posted!.spec) });
    // Bound to this gateway: another gateway (or chain) would not take it.
    await expect(verifyJobSignature(posted!, { ...domain, chainId: 1 })).rejects.toMatchObject({ code: 'INVALID_SIGNATURE' });
    expect(job.id).toBe(jobIdOf(posted!.spec));
  });

  it('gives two submissions of the same tasks different nonces', async () => {
    const nonces: string[] = [];
    gw = await startFakeGateway({
      'POST /v1/jobs': (req, res) => {
        nonces.push(JSON.parse(req.body.toString()).spec.nonce);
        json(res, 201, jobView());
      },
    });
    const client = createLodeClient({ gateway: gw.url, account });
    for (let i = 0; i < 2; i++) await submitJob(client, { module: 'ab'.repeat(32), tasks: [{}] });
    expect(nonces[0]).not.toBe(nonces[1]);
  });

  it('rejects an invalid spec with its path, before any request', async () => {
    gw = await startFakeGateway({});
    const err = await submitJob(createLodeClient({ gateway: gw.url, account }), { module: 'nothex', tasks: [{}] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidRequestError);
    expect((err as Error).message).toMatch(/module/);
    expect(gw.requests).toHaveLength(0);
  });

  it('needs an account', async () => {
    await expect(submitJob(createLodeClient({ gateway: 'http://127.0.0.1:1' }), { module: 'ab'.repeat(32), tasks: [{}] })).rejects.toBeInstanceOf(
      AccountRequiredError,
    );
  });
});

describe('cancelJob', () => {
  it('signs the CancelJob typed data as the requester', async () => {
    let body: { requester: `0x${string}`; expiresAt: number; signature: `0x${string}` } | undefined;
    gw = await startFakeGateway({
      'POST /v1/jobs/j1/cancel': (req, res) => {
        body = JSON.parse(req.body.toString());
        json(res, 200, jobView({ id: 'j1', status: 'cancelled' }));
      },
    });
    const job = await cancelJob(createLodeClient({ gateway: gw.url, account }), { id: 'j1' });
    expect(job.status).toBe('cancelled');
    const domain = { gateway: FAKE_IDENTITY.gateway as `0x${string}`, chainId: FAKE_IDENTITY.chainId };
    const signer = await recoverCancelJob({ requester: body!.requester, jobId: 'j1', expiresAt: BigInt(body!.expiresAt) }, body!.signature, domain);
    expect(signer).toBe(account.address);
    expect(body!.expiresAt).toBeGreaterThan(Date.now());
    expect(body!.expiresAt).toBeLessThanOrEqual(Date.now() + 10 * 60_000);
  });
});

describe('getResults', () => {
  const views = Array.from({ length: 5 }, (_, i) => ({
    index: i,
    status: 'done',
    exitCode: 0,
    stdout: toBase64(new TextEncoder().encode(`out ${i}`)),
    stderr: '',
    files: [{ path: '/out/r.txt', data: toBase64(new Uint8Array([i])) }],
    deleted: [],
    resultHash: 'cd'.repeat(32),
    node: null,
    error: null,
  }));

  it('pages through all results and decodes their bytes', async () => {
    gw = await startFakeGateway({
      'GET /v1/jobs/j1/results': (req, res) => {
        const offset = Number(req.query.get('offset'));
        const limit = Number(req.query.get('limit'));
        json(res, 200, { results: views.slice(offset, offset + limit) });
      },
    });
    const results = await getResults(createLodeClient({ gateway: gw.url, account }), { id: 'j1', pageSize: 2 });
    expect(results.map((r) => new TextDecoder().decode(r.stdout))).toEqual(['out 0', 'out 1', 'out 2', 'out 3', 'out 4']);
    expect(results[3]!.files[0]!.data).toEqual(new Uint8Array([3]));
    const pages = gw.requests.filter((r) => r.path === '/v1/jobs/j1/results');
    expect(pages.map((r) => r.query.get('offset'))).toEqual(['0', '2', '4', '5']);
    // One sign-in for every page.
    expect(gw.requests.filter((r) => r.path === '/v1/auth/session')).toHaveLength(1);
  });

  it('stops at the limit', async () => {
    gw = await startFakeGateway({
      'GET /v1/jobs/j1/results': (req, res) => json(res, 200, { results: views.slice(Number(req.query.get('offset'))) }),
    });
    const results = await getResults(createLodeClient({ gateway: gw.url, session: 'given' }), { id: 'j1', offset: 1, limit: 2 });
    expect(results.map((r) => r.index)).toEqual([1, 2]);
  });
});

describe('listings', () => {
  it('lists jobs with filters, tasks with paging, and nodes', async () => {
    gw = await startFakeGateway({
      'GET /v1/jobs': (_req, res) => json(res, 200, { jobs: [jobView()] }),
      'GET /v1/jobs/j1/tasks': (_req, res) => json(res, 200, { tasks: [{ index: 0, status: 'done', attempts: 1, node: null, error: null }] }),
      'GET /v1/nodes': (_req, res) =>
        json(res, 200, {
          nodes: [
            {
              address: account.address,
              sessionId: 's1',
              online: true,
              capabilities: { cores: 2, memoryMiB: 1024, os: 'linux', arch: 'x64', kind: 'server', slots: 2, pricePerTask: '0', benchmark: 1, agent: 'test' },
              running: 0,
              completed: 3,
              failed: 0,
              connectedAt: 1,
              lastSeenAt: 2,
            },
          ],
        }),
    });
    const client = createLodeClient({ gateway: gw.url, account });
    expect(await listJobs(client, { status: 'running', requester: account.address, limit: 5 })).toHaveLength(1);
    expect(Object.fromEntries(gw.requests.find((r) => r.path === '/v1/jobs')!.query)).toEqual({ status: 'running', requester: account.address, limit: '5' });
    expect((await listTasks(client, { id: 'j1', offset: 0, limit: 10 }))[0]!.status).toBe('done');
    expect((await listNodes(client))[0]!.completed).toBe(3);
  });

  it('maps a 404 to NotFoundError', async () => {
    gw = await startFakeGateway({});
    await expect(listTasks(createLodeClient({ gateway: gw.url, account }), { id: 'nope' })).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('getDeviceCredential', () => {
  it("fetches the client's own device credential by default, and a verifier accepts its JWT", async () => {
    const gateway = privateKeyToAccount(generatePrivateKey());
    const now = Date.now();
    const claims = {
      node: account.address.toLowerCase(),
      capabilities: { cores: 2, memoryMiB: 1024, os: 'linux', arch: 'x64', kind: 'server' as const, slots: 2, benchmark: 1, agent: 'test' },
      uptimeSeconds: 10,
      firstSeenAt: Math.floor(now / 1000) - 10,
      checks: { validated: 1, invalid: 0, consecutiveValid: 1 },
      offences: { count: 0, slashedWei: '0' },
      availability: null,
    };
    const jwt = await issueDeviceCredential({ subject: claims, account: gateway, chainId: 0, now, ttlSeconds: 60 });
    const view = {
      jwt,
      issuer: deviceDid(gateway.address, 0),
      subject: { id: deviceDid(account.address, 0), ...claims },
      issuedAt: Math.floor(now / 1000),
      expiresAt: Math.floor(now / 1000) + 60,
    };
    gw = await startFakeGateway({ [`GET /v1/nodes/${account.address}/device-credential`]: (_req, res) => json(res, 200, view) });
    const got = await getDeviceCredential(createLodeClient({ gateway: gw.url, account }));
    expect(got).toEqual(view);
    expect(await verifyDeviceCredential(got.jwt, { trustedIssuers: [gateway.address] })).toMatchObject({ ok: true, subject: view.subject });
    await expect(getDeviceCredential(createLodeClient({ gateway: gw.url }))).rejects.toThrow(TypeError);
  });
});

describe('sessions', () => {
  it('signs in once with an EIP-4361 message for this gateway, and sends the session with every job read', async () => {
    gw = await startFakeGateway({ 'GET /v1/jobs': (_req, res) => json(res, 200, { jobs: [] }) });
    const client = createLodeClient({ gateway: gw.url, account });
    await listJobs(client);
    await listJobs(client);
    const signIn = gw.requests.filter((r) => r.path === '/v1/auth/session');
    expect(signIn).toHaveLength(1);
    const { message, signature } = JSON.parse(signIn[0]!.body.toString()) as { message: string; signature: `0x${string}` };
    expect(message).toContain(new URL(gw.url).host);
    expect(message).toContain(`Chain ID: ${FAKE_IDENTITY.chainId}`);
    expect(message).toContain(FAKE_IDENTITY.gateway);
    expect(await recoverMessageAddress({ message, signature })).toBe(account.address);
    for (const r of gw.requests.filter((x) => x.path === '/v1/jobs')) expect(r.headers.authorization).toBe(`Bearer token-for-${account.address.toLowerCase()}`);
  });

  it('signs in again when the gateway no longer takes the session, and retries once', async () => {
    let refused = 0;
    gw = await startFakeGateway({
      'GET /v1/jobs': (_req, res) => {
        if (refused === 0) {
          refused++;
          return json(res, 401, { error: { code: 'UNAUTHORIZED', message: 'The session has expired. Sign in again.' } });
        }
        json(res, 200, { jobs: [] });
      },
    });
    await listJobs(createLodeClient({ gateway: gw.url, account }));
    expect(gw.requests.filter((r) => r.path === '/v1/auth/session')).toHaveLength(2);
  });

  it('a client without an account or session cannot read jobs, and says why', async () => {
    gw = await startFakeGateway({});
    await expect(listJobs(createLodeClient({ gateway: gw.url }))).rejects.toBeInstanceOf(AccountRequiredError);
  });
});

describe('a client of several gateways (a cluster)', () => {
  it('moves to the next gateway when the one in use cannot be reached, and stays there', async () => {
    gw = await startFakeGateway({ 'GET /v1/nodes': (_req, res) => json(res, 200, { nodes: [] }) });
    const dead = 'http://127.0.0.1:1';
    const client = createLodeClient({ gateway: `${dead}, ${gw.url}` });
    expect(client.gateways).toEqual([dead, gw.url]);
    expect(await listNodes(client)).toEqual([]);
    expect(client.gateway).toBe(gw.url);
    expect(await listNodes(client)).toEqual([]);
    expect(gw.requests.filter((r) => r.path === '/v1/nodes')).toHaveLength(2);
  });

  it('moves on once when several requests fail at the same gateway at once', async () => {
    gw = await startFakeGateway({ 'GET /v1/nodes': (_req, res) => json(res, 200, { nodes: [] }) });
    const client = createLodeClient({ gateway: ['http://127.0.0.1:1', gw.url] });
    const answers = await Promise.all(Array.from({ length: 5 }, () => listNodes(client)));
    expect(answers).toEqual([[], [], [], [], []]);
    expect(client.gateway).toBe(gw.url);
  });

  it('says the last gateway it tried when none can be reached', async () => {
    const client = createLodeClient({ gateway: ['http://127.0.0.1:1', 'http://127.0.0.1:2'] });
    await expect(listNodes(client)).rejects.toMatchObject({ code: 'GATEWAY_UNAVAILABLE', message: expect.stringMatching(/127\.0\.0\.1:2/) });
  });
});
