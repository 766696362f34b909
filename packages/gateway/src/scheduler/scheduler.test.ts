import { describe, expect, it } from 'vitest';
import type { JobSpec, Lease } from '@lode/protocol';
import { ActiveJob, TaskState } from '../jobs/activeJob.js';
import type { JobRecord } from '../store/types.js';
import { Scheduler, type LeaseRecord, type SessionPort } from './scheduler.js';

function fakeClock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms), setTimeout, clearTimeout: (h: unknown) => clearTimeout(h as NodeJS.Timeout) };
}

function job(id: string, tasks: number, over: Partial<JobSpec> = {}): ActiveJob {
  const spec = {
    version: 1,
    name: id,
    requester: `0x${'1'.repeat(40)}`,
    module: 'a'.repeat(64),
    tasks: Array.from({ length: tasks }, (_, i) => ({ args: [String(i)], env: {}, files: [], mounts: [] })),
    resources: { memoryMiB: 64 },
    limits: { wallMs: 1000, maxOutputBytes: 1024 },
    price: { maxPerTask: '10' },
    verification: { kind: 'none' },
    deadline: 9e15,
    nonce: `0x${'0'.repeat(64)}`,
    ...over,
  } as JobSpec;
  const record: JobRecord = {
    id,
    name: id,
    requester: spec.requester,
    module: spec.module,
    spec,
    signature: '0x',
    status: 'queued',
    taskCount: tasks,
    counts: { queued: tasks, leased: 0, done: 0, failed: 0, cancelled: 0 },
    createdAt: 0,
    finishedAt: null,
    deadline: spec.deadline,
  };
  const j = new ActiveJob(record);
  for (let i = 0; i < tasks; i++) j.enqueue(i);
  return j;
}

function session(id: string, slots: number, over: { memoryMiB?: number; price?: string } = {}) {
  const sent: Lease[][] = [];
  const cancelled: string[] = [];
  const s: SessionPort & { sent: Lease[][]; cancelled: string[] } = {
    id,
    address: `0x${id.padStart(40, '0')}`,
    capabilities: {
      cores: slots,
      memoryMiB: over.memoryMiB ?? 1024,
      os: 'linux',
      arch: 'x64',
      kind: 'server',
      slots,
      pricePerTask: over.price ?? '1',
      benchmark: 1,
      agent: 'test',
    },
    inflight: 0,
    capacity: slots * 2,
    draining: false,
    leases: new Map<string, LeaseRecord>(),
    sendLeases: (l) => sent.push(l),
    sendCancel: (ids) => cancelled.push(...ids),
    sent,
    cancelled,
  };
  return s;
}

const tick = () => new Promise((r) => setImmediate(r));

describe('Scheduler', () => {
  it('fills each node up to slots × pipeline depth, in one frame per node', async () => {
    const lost: LeaseRecord[] = [];
    const sch = new Scheduler({ clock: fakeClock(), onLeaseLost: (l) => lost.push(l) });
    const a = session('a', 2);
    const b = session('b', 3);
    sch.addSession(a);
    sch.addSession(b);
    const j = job('j', 100);
    sch.addJob(j);
    await tick();
    expect(a.sent.length).toBe(1);
    expect(b.sent.length).toBe(1);
    expect(a.inflight).toBe(4);
    expect(b.inflight).toBe(6);
    expect(j.counts.leased).toBe(10);
    expect(j.counts.queued).toBe(90);
    const indexes = [...a.sent[0]!, ...b.sent[0]!].map((l) => l.taskIndex);
    expect(new Set(indexes).size).toBe(10);
  });

  it('shares nodes between jobs round-robin so a small job is not starved', async () => {
    const sch = new Scheduler({ clock: fakeClock(), onLeaseLost: () => {} });
    const big = job('big', 1000);
    const small = job('small', 2);
    sch.addJob(big);
    sch.addJob(small);
    const a = session('a', 4);
    sch.addSession(a);
    await tick();
    const jobs = a.sent.flat().map((l) => l.jobId);
    expect(jobs.filter((j) => j === 'small').length).toBe(2);
  });

  it('does not lease to nodes that fail a filter (memory, price)', async () => {
    const sch = new Scheduler({ clock: fakeClock(), onLeaseLost: () => {} });
    const small = session('s', 4, { memoryMiB: 32 });
    const dear = session('d', 4, { price: '100' });
    sch.addSession(small);
    sch.addSession(dear);
    const j = job('j', 10);
    sch.addJob(j);
    await tick();
    expect(small.sent.length + dear.sent.length).toBe(0);
    expect(sch.unmatchedReasons(j).join('\n')).toMatch(/memory.*price|price[\s\S]*memory|memory[\s\S]*price/);
  });

  it('hands back the leases of a node that leaves, and re-leases them elsewhere', async () => {
    const lost: Array<[LeaseRecord, string]> = [];
    const sch = new Scheduler({ clock: fakeClock(), onLeaseLost: (l, r) => lost.push([l, r]) });
    const a = session('a', 1);
    sch.addSession(a);
    const j = job('j', 5);
    sch.addJob(j);
    await tick();
    expect(a.inflight).toBe(2);
    sch.removeSession(a);
    expect(lost.map(([, r]) => r)).toEqual(['node-left', 'node-left']);
    expect(a.leases.size).toBe(0);
  });

  it('expires leases past their deadline and tells the node to drop them', async () => {
    const clock = fakeClock();
    const lost: Array<[LeaseRecord, string]> = [];
    const sch = new Scheduler({ clock, leaseGraceMs: 0, expiryScanMs: 10, onLeaseLost: (l, r) => lost.push([l, r]) });
    sch.start();
    const a = session('a', 1);
    sch.addSession(a);
    const j = job('j', 1);
    sch.addJob(j);
    await tick();
    expect(a.inflight).toBe(1);
    clock.advance(1001);
    await new Promise((r) => setTimeout(r, 30));
    sch.stop();
    expect(lost.map(([, r]) => r)).toEqual(['expired']);
    expect(a.cancelled.length).toBe(1);
    expect(a.inflight).toBe(0);
  });

  it('gives a full node work again once a lease of its ends — by a result, a cancel or expiry — and never a draining one', async () => {
    const clock = fakeClock();
    const sch = new Scheduler({ clock, leaseGraceMs: 0, expiryScanMs: 10, onLeaseLost: () => {} });
    const nodes = Array.from({ length: 50 }, (_, i) => session(`n${i}`, 1));
    for (const n of nodes) sch.addSession(n);
    const j = job('j', 1000);
    sch.addJob(j);
    await tick();
    expect(nodes.every((n) => n.inflight === 2)).toBe(true); // all full
    const [a, b, c, d] = nodes as [ReturnType<typeof session>, ReturnType<typeof session>, ReturnType<typeof session>, ReturnType<typeof session>];
    sch.complete(a, a.sent[0]![0]!.leaseId, 5); // a result
    sch.cancelLeases([{ leaseId: b.sent[0]![0]!.leaseId, session: b }]); // a cancel
    d.draining = true;
    sch.complete(d, d.sent[0]![0]!.leaseId, 5);
    await tick();
    expect([a.inflight, b.inflight, c.inflight, d.inflight]).toEqual([2, 2, 2, 1]);
    // Expiry: every lease ends at once; every node but the draining one is filled again.
    sch.start();
    clock.advance(1001);
    await new Promise((r) => setTimeout(r, 40));
    sch.stop();
    await tick();
    expect(nodes.filter((n) => n !== d).every((n) => n.inflight === 2)).toBe(true);
    expect(d.inflight).toBe(0);
  });

  it('accepts a completion only from the session holding the lease', async () => {
    const sch = new Scheduler({ clock: fakeClock(), onLeaseLost: () => {} });
    const a = session('a', 1);
    const b = session('b', 1);
    sch.addSession(a);
    const j = job('j', 1);
    sch.addJob(j);
    await tick();
    const leaseId = a.sent[0]![0]!.leaseId;
    sch.addSession(b);
    expect(sch.complete(b, leaseId)).toBeUndefined();
    const l = sch.complete(a, leaseId);
    expect(l?.index).toBe(0);
    expect(sch.complete(a, leaseId)).toBeUndefined();
    expect(j.state[0]).toBe(TaskState.Leased); // the job manager decides the terminal state
  });
});
