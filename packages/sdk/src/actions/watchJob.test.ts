import { NotFoundError, type JobEvent } from '@lode/protocol';
import type { ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { json, jobView, startFakeGateway, type FakeGateway } from '../../test/fakeGateway.js';
import { createLodeClient } from '../client.js';
import { watchJob } from './watchJob.js';

let gw: FakeGateway;
afterEach(() => gw?.close());

function sse(res: ServerResponse) {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  res.flushHeaders();
  return (event: JobEvent) => res.write(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
}

const done = jobView({ status: 'completed', counts: { queued: 0, leased: 0, done: 2, failed: 0, cancelled: 0 }, finishedAt: 2 });

describe('watchJob', () => {
  it('reports progress and resolves with the finished job', async () => {
    gw = await startFakeGateway({
      'GET /v1/jobs/j1/events': (_req, res) => {
        const send = sse(res);
        res.write(': keep-alive\n\n');
        send({ type: 'progress', job: jobView(), nodesBusy: 1 });
        setTimeout(() => send({ type: 'finished', job: done }), 20);
      },
    });
    const seen: string[] = [];
    const job = await watchJob(createLodeClient({ gateway: gw.url, session: 'test-session' }), { id: 'j1', onEvent: (e) => seen.push(e.type) });
    expect(job.status).toBe('completed');
    expect(seen).toEqual(['progress', 'finished']);
  });

  it('reconnects when the stream drops before the job finishes', async () => {
    let connections = 0;
    gw = await startFakeGateway({
      'GET /v1/jobs/j1': (_req, res) => json(res, 200, jobView()),
      'GET /v1/jobs/j1/events': (_req, res) => {
        const send = sse(res);
        if (++connections === 1) {
          send({ type: 'progress', job: jobView(), nodesBusy: 1 });
          res.destroy();
        } else send({ type: 'finished', job: done });
      },
    });
    const job = await watchJob(createLodeClient({ gateway: gw.url, session: 'test-session' }), 'j1', { reconnectDelayMs: 5 });
    expect(job.status).toBe('completed');
    expect(connections).toBe(2);
  });

  it('resolves when the job finished while the stream was down', async () => {
    gw = await startFakeGateway({
      'GET /v1/jobs/j1': (_req, res) => json(res, 200, done),
      'GET /v1/jobs/j1/events': (_req, res) => void res.destroy(),
    });
    const events: JobEvent[] = [];
    const job = await watchJob(createLodeClient({ gateway: gw.url, session: 'test-session' }), {
      id: 'j1',
      reconnectDelayMs: 5,
      onEvent: (e) => events.push(e),
    });
    expect(job.status).toBe('completed');
    expect(events.at(-1)?.type).toBe('finished');
  });

  it('fails at once for an unknown job', async () => {
    gw = await startFakeGateway({});
    await expect(watchJob(createLodeClient({ gateway: gw.url, session: 'test-session' }), { id: 'nope' })).rejects.toBeInstanceOf(NotFoundError);
  });

  it('stops when its signal aborts', async () => {
    gw = await startFakeGateway({ 'GET /v1/jobs/j1/events': (_req, res) => void sse(res) });
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('stop watching')), 30);
    await expect(watchJob(createLodeClient({ gateway: gw.url, session: 'test-session' }), { id: 'j1', signal: controller.signal })).rejects.toThrow(
      'stop watching',
    );
  });
});
