import { JobSpec, SignedJob, jobIdOf, type JobEvent } from '@lode/protocol';
import type { ServerResponse } from 'node:http';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterEach, describe, expect, it } from 'vitest';
import { json, jobView, startFakeGateway, type FakeGateway } from '../../test/fakeGateway.js';
import { createLodeClient } from '../client.js';
import { runJob } from './runJob.js';

const account = privateKeyToAccount(generatePrivateKey());
let gw: FakeGateway;
afterEach(() => gw?.close());

function sse(res: ServerResponse, status = 201) {
  res.writeHead(status, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  res.flushHeaders();
  return (event: JobEvent) => res.write(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
}

const spec = { module: 'ab'.repeat(32), tasks: [{ args: ['1'] }, { args: ['2'] }] };
const done = (id: string) => jobView({ id, status: 'completed', counts: { queued: 0, leased: 0, done: 2, failed: 0, cancelled: 0 }, finishedAt: 2 });

describe('runJob', () => {
  it('submits and follows the job in one request: the stored job first, then its events', async () => {
    gw = await startFakeGateway({
      'POST /v1/jobs': (req, res) => {
        expect(req.headers.accept).toMatch(/text\/event-stream/);
        const id = jobIdOf(SignedJob.parse(JSON.parse(req.body.toString())).spec);
        const send = sse(res);
        send({ type: 'progress', job: jobView({ id, status: 'queued' }), nodesBusy: 0 });
        send({ type: 'progress', job: jobView({ id }), nodesBusy: 1 });
        setTimeout(() => send({ type: 'finished', job: done(id) }), 10);
      },
    });
    const seen: string[] = [];
    const job = await runJob(createLodeClient({ gateway: gw.url, account }), {
      ...spec,
      onSubmitted: (j) => seen.push(`submitted ${j.status}`),
      onEvent: (e) => seen.push(`${e.type} ${e.job.status}`),
    });
    expect(job.status).toBe('completed');
    expect(seen).toEqual(['submitted queued', 'progress running', 'finished completed']);
    expect(gw.requests.filter((r) => r.path.startsWith('/v1/jobs')).map((r) => `${r.method} ${r.path}`)).toEqual(['POST /v1/jobs']);
  });

  it('resolves a resubmitted job that had finished from its only event', async () => {
    gw = await startFakeGateway({
      'POST /v1/jobs': (req, res) => {
        const id = jobIdOf(SignedJob.parse(JSON.parse(req.body.toString())).spec);
        sse(res, 200)({ type: 'finished', job: done(id) });
        res.end();
      },
    });
    const seen: string[] = [];
    const job = await runJob(createLodeClient({ gateway: gw.url, account }), {
      ...spec,
      onSubmitted: () => seen.push('submitted'),
      onEvent: (e) => seen.push(e.type),
    });
    expect(job.status).toBe('completed');
    expect(seen).toEqual(['submitted', 'finished']);
  });

  it('follows on the job’s own stream when the submit stream drops after the job was stored', async () => {
    const fixed = { ...spec, nonce: `0x${'77'.repeat(32)}` as const, deadline: Date.now() + 60_000 };
    const id = jobIdOf(JobSpec.parse({ ...fixed, version: 1, requester: account.address }));
    let streams = 0;
    gw = await startFakeGateway({
      'POST /v1/jobs': (_req, res) => {
        sse(res)({ type: 'progress', job: jobView({ id }), nodesBusy: 1 });
        setTimeout(() => res.destroy(), 10);
      },
      [`GET /v1/jobs/${id}`]: (_req, res) => json(res, 200, jobView({ id })),
      [`GET /v1/jobs/${id}/events`]: (_req, res) => {
        streams++;
        sse(res, 200)({ type: 'finished', job: done(id) });
        res.end();
      },
    });
    const seen: string[] = [];
    const job = await runJob(createLodeClient({ gateway: gw.url, account }), {
      ...fixed,
      reconnectDelayMs: 5,
      onSubmitted: () => seen.push('submitted'),
      onEvent: (e) => seen.push(e.type),
    });
    expect(job).toMatchObject({ id, status: 'completed' });
    expect(streams).toBe(1);
    expect(seen).toEqual(['submitted', 'finished']);
  });

  it('follows a gateway that answers the submit with JSON on the job’s stream', async () => {
    let id = '';
    gw = await startFakeGateway({
      'POST /v1/jobs': (req, res) => {
        id = jobIdOf(SignedJob.parse(JSON.parse(req.body.toString())).spec);
        json(res, 201, jobView({ id, status: 'queued' }));
      },
    });
    const seen: string[] = [];
    const err = await runJob(createLodeClient({ gateway: gw.url, account }), { ...spec, onSubmitted: (j) => seen.push(j.id) }).catch((e: unknown) => e);
    expect(seen).toEqual([id]);
    expect(err).toMatchObject({ code: 'NOT_FOUND' });
    expect(gw.requests.some((r) => r.method === 'GET' && r.path === `/v1/jobs/${id}/events`)).toBe(true);
  });

  it('throws the gateway’s refusal before anything is followed', async () => {
    gw = await startFakeGateway({
      'POST /v1/jobs': (_req, res) => json(res, 429, { error: { code: 'QUOTA_EXCEEDED', message: 'already follows 8 event streams', meta: {} } }),
    });
    const seen: string[] = [];
    await expect(runJob(createLodeClient({ gateway: gw.url, account }), { ...spec, onSubmitted: () => seen.push('x') })).rejects.toMatchObject({
      code: 'QUOTA_EXCEEDED',
    });
    expect(seen).toEqual([]);
  });
});
