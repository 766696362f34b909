/**
 * When a job whose tasks are all decided may be final (Revisions.mayFinish), driven by hand with
 * a fake clock: it waits for one audit of each node with results taken on its word alone, at most
 * `auditWaitMs`, and not for a node nobody else online could check.
 */
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { privateKeyToAccount, generatePrivateKey } from 'viem/accounts';
import { TrustService } from '../trust/trustService.js';
import { DEFAULT_TRUST_CONFIG } from '../verify/trustConfig.js';
import type { Vote } from '../verify/types.js';
import type { JobRecord, Store, TaskResultRow } from '../store/types.js';
import { ActiveJob, TaskState } from './activeJob.js';
import { Revisions } from './revisions.js';

interface Held {
  seq: number;
}

async function setup(online: string[]) {
  let now = 1_000_000;
  const clock = { now: () => now };
  const writes: unknown[] = [];
  const store = {
    loadReputations: async () => [],
    saveReputations: async () => {},
    listEvidence: async () => [],
    loadLoneResults: async () => [],
    deleteLoneResults: async () => {},
    reviseTaskResult: async (w: unknown) => {
      writes.push(w);
      return { withdrawn: 0n };
    },
    setJobRevisions: async () => true,
  } as unknown as Store;
  const log = pino({ level: 'silent' });
  const trust = new TrustService({
    store,
    log,
    clock,
    account: privateKeyToAccount(generatePrivateKey()),
    chainId: 0,
    config: { ...DEFAULT_TRUST_CONFIG, auditWaitMs: 30_000 },
  });
  await trust.start();
  const record = {
    id: 'a'.repeat(32),
    name: 't',
    requester: '0x1',
    module: 'm',
    signature: '0x',
    status: 'running',
    taskCount: 1,
    counts: { queued: 1, leased: 0, done: 0, failed: 0, cancelled: 0 },
    createdAt: now,
    finishedAt: null,
    deadline: now + 3_600_000,
    spec: { verification: { kind: 'target', errorRate: 1e-4 }, tasks: [{ args: [] }], limits: { fuel: 0 }, price: { maxPerTask: '0', maxPerFuel: '0' } },
  } as unknown as JobRecord;
  const job = new ActiveJob(record, trust.verificationFor(record.spec));
  const finished: boolean[] = [];
  const scheduled: ActiveJob[] = [];
  let revisions!: Revisions<Held>;
  revisions = new Revisions<Held>({
    store,
    log,
    clock,
    trust,
    config: { auditWaitMs: 30_000, maxRevisionMs: 600_000, maxParkMs: 120_000 },
    scheduler: () => ({ addJob: (j: ActiveJob) => scheduled.push(j), removeJob: () => {} }) as never,
    active: (id) => (id === job.id ? job : undefined),
    facts: (h) => ({ seq: h.seq, receivedAt: now, leaseId: `l${h.seq}`, session: null }),
    receipt: () => ({ payee: '0x', amount: 0n, fuelUsed: null, kind: 'replica' }),
    row: () => ({}) as TaskResultRow,
    failedRow: () => ({}) as TaskResultRow,
    cancel: () => {},
    decide: () => {},
    touch: () => {},
    maybeFinish: (j) => finished.push(revisions.mayFinish(j)),
    online: () => online,
  });
  revisions.start();
  // Task 0 accepted on trusted 0xt's word alone; its row committed.
  job.setState(0, TaskState.Leased);
  const winner: Vote<Held> = { node: '0xt', key: 'ok||h|1', credibility: 0.99999, newcomer: false, kind: 'replica', payload: { seq: trust.lone.nextSeq() } };
  const row = {} as TaskResultRow;
  revisions.lone(job, 0, winner, row);
  job.setState(0, TaskState.Done);
  revisions.stored(row);
  job.committed = 1;
  return { job, revisions, trust, writes, finished, scheduled, advance: (ms: number) => (now += ms) };
}

describe('a job whose tasks are all decided', () => {
  it('waits for the audit of a node whose result it took alone: the task goes back out to one more node', async () => {
    const { job, revisions, scheduled } = await setup(['0xt', '0xother']);
    expect(revisions.mayFinish(job)).toBe(false);
    expect(job.counts.leased).toBe(1); // decided again
    expect(job.verification.reopenedOf(0)?.reason).toBe('audit');
    expect(job.replicas.get(0)).toBe(1);
    expect(scheduled).toContain(job);
    expect(job.view().unaudited).toBe(1);
    expect(job.view().waiting).toMatch(/being audited/);
  });

  it('stops waiting after auditWaitMs when no node took the audit: the result stands and stays remembered', async () => {
    const { job, revisions, trust, writes, finished, advance } = await setup(['0xt', '0xother']);
    expect(revisions.mayFinish(job)).toBe(false);
    advance(29_000);
    expect(revisions.mayFinish(job)).toBe(false);
    advance(1_000);
    expect(revisions.mayFinish(job)).toBe(false); // the audit is stopped; its write goes out
    await new Promise((r) => setImmediate(r));
    expect(writes).toEqual([{ jobId: job.id, index: 0, receipts: [], keepLone: true }]);
    expect(job.state[0]).toBe(TaskState.Done);
    expect(finished.at(-1)).toBe(true);
    expect(trust.lone.book.countOf(job.id)).toBe(1); // revised after the fact if 0xt is caught later
  });

  it('does not wait for a node no other online node could check', async () => {
    const { job, revisions } = await setup(['0xt']);
    expect(revisions.mayFinish(job)).toBe(true);
    expect(job.counts.leased).toBe(0);
  });

  it('finishes at once when its node passed a check of a later answer meanwhile', async () => {
    const { job, revisions, trust } = await setup(['0xt', '0xother']);
    trust.validated([{ node: '0xt', seq: trust.lone.nextSeq() }]);
    expect(revisions.mayFinish(job)).toBe(true);
  });
});
