/**
 * A job is announced finished as soon as every task's result is committed; its job row is
 * written after. In between, the job answers from memory: a stream opened then gets the
 * `finished` event, a read shows the final status, and a cancel is refused. A real gateway on a
 * real socket, a hand-driven node, and a store whose job-row write is held back.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { type GatewayHandle, startGateway, testGatewayOptions } from '../src/index.js';
import { openStore } from '../src/store/index.js';
import type { Store } from '../src/store/types.js';
import { fakeNode, submitJob, submitStreaming } from './support/fakeNode.js';
import { fetchAs } from './support/session.js';

const requester = privateKeyToAccount(generatePrivateKey());

let gw: GatewayHandle;
let dir: string;
let release: () => void;
let store: Store;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lode-finish-'));
  store = await openStore({ dataDir: dir });
  const held = new Promise<void>((r) => (release = r));
  // The job row's final write waits until the test releases it.
  const holding = new Proxy(store, {
    get(target, key, receiver) {
      if (key === 'updateJob') return async (...args: Parameters<Store['updateJob']>) => (await held, target.updateJob(...args));
      const v = Reflect.get(target, key, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  gw = await startGateway(testGatewayOptions({ dataDir: dir }), { store: holding });
});
afterEach(async () => {
  release();
  await gw.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Reads an event stream until its `finished` event; undefined if none came within `ms`. */
async function finishedEvent(url: string, ms: number): Promise<any> {
  const res = await fetchAs(requester, url, { signal: AbortSignal.timeout(ms) });
  let text = '';
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      text += Buffer.from(chunk).toString('utf8');
      const m = /event: finished\ndata: (.*)\n\n/.exec(text);
      if (m) return JSON.parse(m[1]!);
    }
  } catch {
    return undefined; // timed out
  }
  return undefined;
}

it('announces a job finished once its results are committed, before its job row is written', async () => {
  const id = await submitJob(gw.url, requester, 1, { limits: { wallMs: 5000, maxOutputBytes: 1024 } });
  const node = await fakeNode(gw.wsUrl);
  const {
    leases: [lease],
  } = await node.next('lease');
  node.send(lease!, new TextEncoder().encode('out'));
  expect((await node.next('ack')).leaseIds).toEqual([lease!.leaseId]); // the result is committed

  // The job row is not written yet (held), but the job is final for everyone who asks.
  const event = await finishedEvent(`${gw.url}/v1/jobs/${id}/events`, 5000);
  expect(event?.job.status).toBe('completed');
  const view = (await (await fetchAs(requester, `${gw.url}/v1/jobs/${id}`)).json()) as any;
  expect(view.status).toBe('completed');
  expect(view.finishedAt).toBeTypeOf('number');
  expect((await store.getJob(id, { tasks: false }))?.status).not.toBe('completed');

  release();
  for (let i = 0; i < 100 && (await store.getJob(id, { tasks: false }))?.status !== 'completed'; i++) await new Promise((r) => setTimeout(r, 20));
  expect((await store.getJob(id, { tasks: false }))?.status).toBe('completed');
  node.ws.close();
});

it('answers a submit sent with Accept: text/event-stream with the job’s events, from the stored job to `finished`', async () => {
  const res = await submitStreaming(gw.url, requester, 1);
  expect(res.status).toBe(201);
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const events: any[] = [];
  const reading = (async () => {
    let text = '';
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      text += Buffer.from(chunk).toString('utf8');
      for (let m = /event: (\w+)\ndata: (.*)\n\n/.exec(text); m; m = /event: (\w+)\ndata: (.*)\n\n/.exec(text)) {
        events.push(JSON.parse(m[2]!));
        text = text.slice(m.index + m[0].length);
      }
    }
  })();
  const node = await fakeNode(gw.wsUrl);
  const {
    leases: [lease],
  } = await node.next('lease');
  node.send(lease!, new TextEncoder().encode('out'));
  await reading; // the gateway ends the stream after `finished`
  expect(events[0]).toMatchObject({ type: 'progress', job: { id: lease!.jobId, taskCount: 1 } });
  expect(events.at(-1)).toMatchObject({ type: 'finished', job: { id: lease!.jobId, status: 'completed', counts: { done: 1 } } });
  node.ws.close();
});
