/**
 * How the gateway treats results from a node it cannot trust: a real gateway on a real socket
 * and a hand-driven node session (a raw WebSocket speaking the protocol).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { resultDigest, type Capabilities, type Lease } from '@lode/protocol';
import { startGateway, testGatewayOptions, type GatewayHandle } from '../src/index.js';
import { openStore } from '../src/store/index.js';
import { fakeNode as sharedFakeNode, submitJob } from './support/fakeNode.js';
import { fetchAs } from './support/session.js';

const requester = privateKeyToAccount(generatePrivateKey());

let gw: GatewayHandle;
let dir: string;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lode-results-'));
  gw = await startGateway(testGatewayOptions({ dataDir: dir }));
});
afterEach(async () => {
  await gw.close();
  rmSync(dir, { recursive: true, force: true });
});

const submit = (tasks: number, maxOutputBytes = 1024) => submitJob(gw.url, requester, tasks, { limits: { wallMs: 5000, maxOutputBytes } });
/** A node session driven by hand (support/fakeNode.ts); `heartbeat: false` for one that goes silent. */
const fakeNode = (over: Partial<Capabilities> = {}, opts: { heartbeat?: boolean } = {}) => sharedFakeNode(gw.wsUrl, over, undefined, opts);

const job = async (id: string) => (await (await fetchAs(requester, `${gw.url}/v1/jobs/${id}`)).json()) as any;

describe('matching', () => {
  it('says why a job waits when no connected node can take it', async () => {
    const id = await submit(1);
    expect((await job(id)).waiting).toMatch(/No node is connected/);
    const node = await fakeNode({ pricePerTask: '5' }); // the job pays at most 0
    for (let i = 0; i < 20 && !/price/.test((await job(id)).waiting ?? ''); i++) await new Promise((r) => setTimeout(r, 25));
    expect((await job(id)).waiting).toMatch(/price: node asks 5 per task, job pays at most 0/);
    node.ws.close();
  });
});

describe('results from an untrusted node', () => {
  it('refuses a result whose hash does not match its output, and gives the task out again', async () => {
    const id = await submit(1);
    const node = await fakeNode();
    const {
      leases: [lease],
    } = await node.next('lease');
    node.send(lease, new TextEncoder().encode('out'), 'f'.repeat(64));
    expect((await node.next('error')).code).toBe('RESULT_HASH_MISMATCH');
    expect((await job(id)).counts.done).toBe(0);
    const {
      leases: [again],
    } = await node.next('lease'); // requeued
    expect(again.taskIndex).toBe(0);
    node.send(again, new TextEncoder().encode('out'));
    expect((await node.next('ack')).leaseIds).toEqual([again.leaseId]);
    expect((await job(id)).counts.done).toBe(1);
    node.ws.close();
  });

  it('refuses more output than the task allows', async () => {
    const id = await submit(1, 16);
    const node = await fakeNode();
    const {
      leases: [lease],
    } = await node.next('lease');
    node.send(lease, new Uint8Array(17));
    expect((await node.next('error')).code).toBe('INVALID_RESULT');
    expect((await job(id)).counts.done).toBe(0);
    node.ws.close();
  });

  it('accepts one result per task: a replayed result is refused', async () => {
    const id = await submit(1);
    const node = await fakeNode();
    const {
      leases: [lease],
    } = await node.next('lease');
    const out = new TextEncoder().encode('once');
    node.send(lease, out);
    await node.next('ack');
    node.send(lease, out);
    const err = await node.next('error');
    expect(err.code).toBe('UNKNOWN_LEASE');
    const results = (await (await fetchAs(requester, `${gw.url}/v1/jobs/${id}/results`)).json()) as any;
    expect(results.results.length).toBe(1);
    node.ws.close();
  });

  it('requeues the tasks of a node that disconnects while holding them', async () => {
    const id = await submit(2);
    const a = await fakeNode();
    const { leases } = await a.next('lease');
    expect(leases.length).toBe(2);
    a.ws.terminate();
    const b = await fakeNode();
    const got = (await b.next('lease')).leases as Lease[];
    expect(got.map((l) => l.taskIndex).sort()).toEqual([0, 1]);
    for (const l of got) b.send(l, new TextEncoder().encode(String(l.taskIndex)));
    for (let i = 0; i < 10 && (await job(id)).status !== 'completed'; i++) await new Promise((r) => setTimeout(r, 50));
    expect((await job(id)).status).toBe('completed');
    b.ws.close();
  });
});

describe('a node that goes silent', () => {
  it('is disconnected after three heartbeat periods and its tasks go back to the queue', async () => {
    const id = await submit(1);
    const silent = await fakeNode({}, { heartbeat: false }); // never sends a heartbeat
    const {
      leases: [lease],
    } = await silent.next('lease');
    expect(lease.taskIndex).toBe(0);
    const closed = new Promise((r) => silent.ws.once('close', r));
    await closed; // testGatewayOptions: heartbeatMs 1000 → closed after ~3 s of silence
    const other = await fakeNode();
    const {
      leases: [again],
    } = await other.next('lease');
    expect(again.taskIndex).toBe(0);
    other.send(again, new TextEncoder().encode('x'));
    await other.next('ack');
    for (let i = 0; i < 40 && (await job(id)).status !== 'completed'; i++) await new Promise((r) => setTimeout(r, 50));
    expect((await job(id)).status).toBe('completed');
    other.ws.close();
  });
});

describe('retryable failures', () => {
  it('a task whose attempts run out fails once, and the job waits for its other tasks', async () => {
    await gw.close();
    gw = await startGateway(testGatewayOptions({ dataDir: join(dir, 'retries'), maxAttempts: 1, logLevel: 'silent' }));
    const id = await submit(2);
    const node = await fakeNode();
    const { leases } = (await node.next('lease')) as { leases: Lease[] };
    expect(leases.length).toBe(2);
    const [crashed, fine] = leases.sort((a, b) => a.taskIndex - b.taskIndex) as [Lease, Lease];
    node.ws.send(
      JSON.stringify({
        t: 'results',
        results: [
          {
            leaseId: crashed.leaseId,
            status: 'failed',
            exitCode: null,
            stdout: '',
            stderr: '',
            files: [],
            deleted: [],
            resultHash: resultDigest({ exitCode: null, stdout: new Uint8Array(), stderr: new Uint8Array(), files: [] }),
            durationMs: 1,
            error: { code: 'SANDBOX_WORKER_CRASHED', message: 'worker died (test)' },
          },
        ],
      }),
    );
    await node.next('ack');
    await new Promise((r) => setTimeout(r, 100));
    const mid = await job(id);
    expect(mid.counts).toMatchObject({ failed: 1, leased: 1, done: 0 });
    expect(mid.finishedAt).toBeNull(); // not finished while a task is still running
    node.send(fine, new TextEncoder().encode('ok'));
    for (let i = 0; i < 40 && (await job(id)).finishedAt === null; i++) await new Promise((r) => setTimeout(r, 50));
    const final = await job(id);
    expect(final).toMatchObject({ status: 'failed', counts: { failed: 1, done: 1 } });
    const results = (await (await fetchAs(requester, `${gw.url}/v1/jobs/${id}/results`)).json()) as any;
    expect(results.results.map((r: any) => [r.index, r.status, r.error?.code ?? null])).toEqual([
      [0, 'failed', 'SANDBOX_WORKER_CRASHED'],
      [1, 'done', null],
    ]);
    node.ws.close();
  });
});

describe('a database that refuses writes for a while', () => {
  it('keeps the result and writes it once the database is back; the job completes', async () => {
    await gw.close(); // replace this file's gateway with one on a flaky store
    const store = await openStore({ dataDir: join(dir, 'flaky') });
    const insert = store.insertTaskResults.bind(store);
    let failures = 2;
    let written = 0;
    store.insertTaskResults = async (rows) => {
      if (failures > 0) {
        failures--;
        throw new Error('database unavailable (test)');
      }
      written += rows.length;
      return insert(rows);
    };
    gw = await startGateway(testGatewayOptions({ dataDir: dir, logLevel: 'silent' }), { store });
    const id = await submit(1);
    const node = await fakeNode();
    const {
      leases: [lease],
    } = await node.next('lease');
    node.send(lease, new TextEncoder().encode('kept'));
    expect((await node.next('ack')).leaseIds).toEqual([lease.leaseId]); // acknowledged only once written
    expect(failures).toBe(0);
    expect(written).toBe(1);
    for (let i = 0; i < 40 && (await job(id)).status !== 'completed'; i++) await new Promise((r) => setTimeout(r, 50));
    expect((await job(id)).status).toBe('completed');
    const results = (await (await fetchAs(requester, `${gw.url}/v1/jobs/${id}/results`)).json()) as any;
    expect(Buffer.from(results.results[0].stdout, 'base64').toString()).toBe('kept');
    node.ws.close();
  });
});

describe('numbers a node reports are bounded by its lease', () => {
  it('refuses a result that claims more fuel than the lease allows, gives the task out again, and counts it against the node', async () => {
    const id = await submitJob(gw.url, requester, 1, { limits: { wallMs: 5000, maxOutputBytes: 1024, fuel: 1000 } });
    const node = await fakeNode();
    const {
      leases: [lease],
    } = await node.next('lease');
    expect(lease.limits.fuel).toBe(1000);
    node.send(lease, new TextEncoder().encode('x'), undefined, { fuelUsed: 2 ** 53 - 1 });
    const err = await node.next('error');
    expect(err).toMatchObject({ code: 'INVALID_RESULT', leaseId: lease.leaseId });
    expect(err.message).toMatch(/above the lease's fuel limit of 1000/);
    const {
      leases: [again],
    } = await node.next('lease');
    expect(again.taskIndex).toBe(0);
    node.send(again, new TextEncoder().encode('x'), undefined, { fuelUsed: 1000 });
    await node.next('ack');
    expect((await job(id)).counts.done).toBe(1);
    const { nodes } = (await (await fetch(`${gw.url}/v1/nodes`)).json()) as any;
    expect(nodes.find((n: any) => n.address === node.address).reputation.invalid).toBe(1);
    node.ws.close();
  });

  it("refuses an outcome whose numbers are out of the protocol's range (an exit code beyond a u32, or negative)", async () => {
    await submit(1);
    const node = await fakeNode();
    const {
      leases: [lease],
    } = await node.next('lease');
    const frame = (over: object) =>
      JSON.stringify({
        t: 'results',
        results: [
          {
            leaseId: lease.leaseId,
            status: 'ok',
            exitCode: 0,
            stdout: '',
            stderr: '',
            files: [],
            deleted: [],
            resultHash: resultDigest({ exitCode: 0, stdout: new Uint8Array(), stderr: new Uint8Array(), files: [] }),
            durationMs: 1,
            ...over,
          },
        ],
      });
    node.ws.send(frame({ exitCode: 2 ** 32 }));
    expect((await node.next('error')).code).toBe('INVALID_REQUEST');
    node.ws.send(frame({ exitCode: -1 }));
    expect((await node.next('error')).code).toBe('INVALID_REQUEST');
    node.ws.close();
  });
});

describe('one result never blocks the others', () => {
  const empty = new Uint8Array();
  const outcome = (lease: Lease, exitCode: number, stdout: string) => {
    const out = new TextEncoder().encode(stdout);
    return {
      leaseId: lease.leaseId,
      status: 'ok',
      exitCode,
      stdout: Buffer.from(out).toString('base64'),
      stderr: '',
      files: [],
      deleted: [],
      resultHash: resultDigest({ exitCode, stdout: out, stderr: empty, files: [] }),
      durationMs: 1,
    };
  };

  it('stores the exit code of proc_exit(-1) (4294967295) beside the other results of its write', async () => {
    const id = await submit(3);
    const node = await fakeNode({ slots: 4 });
    const { leases } = (await node.next('lease')) as { leases: Lease[] };
    expect(leases.length).toBe(3);
    node.ws.send(JSON.stringify({ t: 'results', results: leases.map((l) => outcome(l, l.taskIndex === 1 ? 4294967295 : 0, `t${l.taskIndex}`)) }));
    expect(((await node.next('ack')).leaseIds as string[]).sort()).toEqual(leases.map((l) => l.leaseId).sort());
    for (let i = 0; i < 40 && (await job(id)).status !== 'completed'; i++) await new Promise((r) => setTimeout(r, 50));
    const results = (await (await fetchAs(requester, `${gw.url}/v1/jobs/${id}/results`)).json()) as any;
    expect(results.results.map((r: any) => [r.index, r.status, r.exitCode])).toEqual([
      [0, 'done', 0],
      [1, 'done', 4294967295],
      [2, 'done', 0],
    ]);
    node.ws.close();
  });

  it('a result the database refuses fails its own task with RESULT_UNSTORABLE; the rows written with it are stored', async () => {
    await gw.close();
    const store = await openStore({ dataDir: join(dir, 'refusing') });
    const insert = store.insertTaskResults.bind(store);
    store.insertTaskResults = async (rows) => {
      // As PostgreSQL answers a value it cannot store: the whole multi-row statement fails.
      if (rows.some((r) => new TextDecoder().decode(r.stdout) === 'poison'))
        throw Object.assign(new Error('unsupported Unicode escape sequence'), { code: '22P05' });
      return insert(rows);
    };
    gw = await startGateway(testGatewayOptions({ dataDir: dir, logLevel: 'silent', commitIntervalMs: 20 }), { store });
    const id = await submit(4);
    const node = await fakeNode({ slots: 4 });
    const { leases } = (await node.next('lease')) as { leases: Lease[] };
    expect(leases.length).toBe(4);
    node.ws.send(JSON.stringify({ t: 'results', results: leases.map((l) => outcome(l, 0, l.taskIndex === 2 ? 'poison' : `t${l.taskIndex}`)) }));
    const acked = new Set<string>();
    while (acked.size < 4) for (const leaseId of (await node.next('ack')).leaseIds) acked.add(leaseId);
    for (let i = 0; i < 40 && (await job(id)).finishedAt === null; i++) await new Promise((r) => setTimeout(r, 50));
    expect(await job(id)).toMatchObject({ status: 'failed', counts: { done: 3, failed: 1 } });
    const results = (await (await fetchAs(requester, `${gw.url}/v1/jobs/${id}/results`)).json()) as any;
    expect(results.results.map((r: any) => [r.index, r.status, r.error?.code ?? null])).toEqual([
      [0, 'done', null],
      [1, 'done', null],
      [2, 'failed', 'RESULT_UNSTORABLE'],
      [3, 'done', null],
    ]);
    expect(Buffer.from(results.results[3].stdout, 'base64').toString()).toBe('t3');
    node.ws.close();
  });
});
