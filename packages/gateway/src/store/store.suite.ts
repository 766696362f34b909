/**
 * The Store compliance suite: every implementation (PGlite, PostgreSQL server) runs it.
 * One store is opened per suite (opening PGlite costs seconds); tests keep apart by using
 * fresh ids and requesters, so they never depend on what other tests wrote.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import type { JobStatus, TaskCounts } from '@lode/protocol';
import type { BatchPlan, JobRecord, NodeRecord, Receipt, Store, TaskReceipt, TaskResultRow } from './types.js';
import { isRowError, StoreRowRejectedError } from './errors.js';
import { GroupCommitter } from './groupCommit.js';
import fc from 'fast-check';
import { describeAvailabilityStore } from './availabilityStore.suite.js';

/** Where a store's data lives. `open()` may be called again after the previous store closed. */
export interface StoreTarget {
  /** Opens (and initializes) a store over this target's data. */
  open(): Promise<Store>;
  /** Removes the data (temp directory, database). */
  destroy(): Promise<void>;
}

const hex = (n: number) => randomBytes(n).toString('hex');
const address = () => `0x${hex(20)}`;
const zeroCounts = (taskCount: number): TaskCounts => ({ queued: taskCount, leased: 0, done: 0, failed: 0, cancelled: 0 });

export function makeJob(over: Partial<JobRecord> = {}): JobRecord {
  const requester = over.requester ?? address();
  const module = over.module ?? hex(32);
  const createdAt = over.createdAt ?? Date.now();
  return {
    id: `job_${hex(8)}`,
    name: 'mandelbrot',
    requester,
    module,
    spec: {
      version: 1,
      name: 'mandelbrot',
      requester,
      module,
      tasks: [{ args: ['1', 'ünïcödé'], env: { A: 'b' }, files: [], mounts: [] }],
      resources: { memoryMiB: 64 },
      limits: { wallMs: 10_000, maxOutputBytes: 1 << 20 },
      price: { maxPerTask: '123456789012345678901234567890' },
      verification: { kind: 'none' },
      deadline: createdAt + 60_000,
      nonce: `0x${hex(32)}`,
    },
    signature: `0x${hex(65)}`,
    status: 'queued',
    taskCount: 1,
    counts: zeroCounts(1),
    createdAt,
    finishedAt: null,
    deadline: createdAt + 60_000,
    escrow: 'none',
    usage: { fuelUsed: 0n, cost: 0n },
    ...over,
  };
}

/** A receipt paying `payee` for a result. */
export function paid(payee: string, amount: bigint, kind: TaskReceipt['kind'] = 'result'): TaskReceipt {
  return { payee, amount, fuelUsed: null, kind };
}

export function makeResult(jobId: string, index: number, over: Partial<TaskResultRow> = {}): TaskResultRow {
  return {
    jobId,
    index,
    status: 'done',
    exitCode: 0,
    stdout: new TextEncoder().encode(`out ${index}\n`),
    stderr: new Uint8Array([0, 255, 1, 254]),
    files: [{ path: '/out/a.bin', data: new Uint8Array([index & 255, 0, 7]) }],
    deleted: ['/out/tmp'],
    resultHash: hex(32),
    node: address(),
    attempts: 1,
    error: null,
    finishedAt: 1_700_000_000_000 + index,
    fuelUsed: 1_234_567 + index,
    ...over,
  };
}

function makeNode(over: Partial<NodeRecord> = {}): NodeRecord {
  return {
    address: address(),
    capabilities: {
      cores: 4,
      memoryMiB: 8192,
      os: 'linux',
      arch: 'x64',
      kind: 'server',
      slots: 4,
      pricePerTask: '10',
      benchmark: 12.5,
    } as NodeRecord['capabilities'],
    completed: 0,
    failed: 0,
    firstSeenAt: 1_700_000_000_000,
    lastSeenAt: 1_700_000_000_000,
    ...over,
  };
}

export function describeStoreSuite(name: string, makeTarget: () => Promise<StoreTarget>): void {
  describe(`Store compliance: ${name}`, () => {
    let target: StoreTarget;
    let store: Store;

    beforeAll(async () => {
      target = await makeTarget();
      store = await target.open();
    });
    afterAll(async () => {
      await store?.close();
      await target?.destroy();
    });

    it('init can run again on an initialized schema', async () => {
      await store.init();
      await Promise.all([store.init(), store.init()]);
    });

    describe('jobs', () => {
      it('round-trips a job record exactly', async () => {
        const job = makeJob();
        expect(await store.insertJob(job)).toBe(true);
        expect(await store.getJob(job.id)).toEqual(job);
      });

      it('keeps a large spec whole, and reads only its head for views', async () => {
        const base = makeJob();
        const tasks = Array.from({ length: 3000 }, (_, i) => ({ args: [String(i), 'x'.repeat(100)], env: {}, files: [], mounts: [] }));
        const job = { ...base, spec: { ...base.spec, tasks } as JobRecord['spec'], taskCount: tasks.length };
        expect(await store.insertJob(job, JSON.stringify(job.spec))).toBe(true);
        expect(await store.getJob(job.id)).toEqual(job);
        const head = await store.getJob(job.id, { tasks: false });
        expect(head).toEqual({ ...job, spec: { ...job.spec, tasks: [] } });
        const [listed] = (await store.listJobs({ requester: job.requester })).filter((j) => j.id === job.id);
        expect(listed!.spec.tasks).toEqual([]);
        expect(listed!.spec.verification).toEqual(job.spec.verification);
      });

      it('returns null for an unknown job', async () => {
        expect(await store.getJob('job_missing')).toBeNull();
      });

      it('insertJob of an existing id returns false and changes nothing', async () => {
        const job = makeJob();
        expect(await store.insertJob(job)).toBe(true);
        expect(await store.insertJob({ ...job, name: 'other', status: 'failed' })).toBe(false);
        expect(await store.getJob(job.id)).toEqual(job);
      });

      it('concurrent inserts of one id: exactly one wins', async () => {
        const job = makeJob();
        const results = await Promise.all(Array.from({ length: 8 }, () => store.insertJob(job)));
        expect(results.filter(Boolean)).toHaveLength(1);
      });

      it('updateJob records the usage totals summed from the result rows', async () => {
        const job = makeJob({ taskCount: 3 });
        await store.insertJob(job);
        await store.insertTaskResults([
          makeResult(job.id, 0, { fuelUsed: 2 ** 52, receipts: [paid(address(), 10n ** 30n)] }),
          makeResult(job.id, 1, { fuelUsed: 2 ** 52, receipts: [paid(address(), 1n)] }),
          makeResult(job.id, 2, { status: 'failed', fuelUsed: null }),
        ]);
        await store.updateJob(job.id, { status: 'completed', counts: job.counts, finishedAt: Date.now() });
        expect((await store.getJob(job.id))?.usage).toEqual({ fuelUsed: 2n ** 53n, cost: 10n ** 30n + 1n });
      });

      it('updateJob sets status, counts and finishedAt; unknown ids are ignored', async () => {
        const job = makeJob({ taskCount: 3, counts: zeroCounts(3) });
        await store.insertJob(job);
        const counts = { queued: 0, leased: 0, done: 2, failed: 1, cancelled: 0 };
        await store.updateJob(job.id, { status: 'failed', counts, finishedAt: job.createdAt + 5 });
        expect(await store.getJob(job.id)).toEqual({ ...job, status: 'failed', counts, finishedAt: job.createdAt + 5 });
        await store.updateJob('job_missing', { status: 'completed', counts, finishedAt: 1 });
        expect(await store.getJob('job_missing')).toBeNull();
      });

      it('lists unfinished jobs (queued, running) oldest first, and no finished ones', async () => {
        const t = Date.now();
        const statuses: JobStatus[] = ['running', 'queued', 'completed', 'failed', 'cancelled'];
        const jobs = statuses.map((status, i) => makeJob({ status, createdAt: t - 1000 + i }));
        for (const j of jobs) await store.insertJob(j);
        const mine = new Set(jobs.map((j) => j.id));
        const unfinished = (await store.listUnfinishedJobs()).filter((j) => mine.has(j.id));
        expect(unfinished.map((j) => j.id)).toEqual([jobs[0].id, jobs[1].id]);

        await store.updateJob(jobs[0].id, { status: 'completed', counts: jobs[0].counts, finishedAt: t });
        const after = (await store.listUnfinishedJobs()).filter((j) => mine.has(j.id));
        expect(after.map((j) => j.id)).toEqual([jobs[1].id]);
      });

      it('lists jobs newest first, filtered by requester and status, paged with before', async () => {
        const requester = address();
        const base = 1_800_000_000_000;
        const jobs = Array.from({ length: 7 }, (_, i) => makeJob({ requester, createdAt: base + i * 10, status: i % 2 ? 'completed' : 'queued' }));
        await store.insertJob(makeJob({ createdAt: base + 5 })); // another requester
        for (const j of jobs) await store.insertJob(j);
        const newestFirst = [...jobs].reverse().map((j) => j.id);

        expect((await store.listJobs({ requester })).map((j) => j.id)).toEqual(newestFirst);
        expect((await store.listJobs({ requester, limit: 3 })).map((j) => j.id)).toEqual(newestFirst.slice(0, 3));

        const pages: string[] = [];
        let before: number | undefined;
        for (;;) {
          const page = await store.listJobs({ requester, limit: 3, before });
          if (page.length === 0) break;
          pages.push(...page.map((j) => j.id));
          before = page.at(-1)!.createdAt;
        }
        expect(pages).toEqual(newestFirst);

        const completed = await store.listJobs({ requester, status: 'completed' });
        expect(completed.map((j) => j.id)).toEqual(
          jobs
            .filter((j) => j.status === 'completed')
            .reverse()
            .map((j) => j.id),
        );
        expect(await store.listJobs({ requester, before: base })).toEqual([]);
        const byStatus = await store.listJobs({ status: 'completed', limit: 1000 });
        expect(byStatus.every((j) => j.status === 'completed')).toBe(true);
      });

      it('listJobs defaults to 50 jobs', async () => {
        const requester = address();
        for (let i = 0; i < 52; i++) await store.insertJob(makeJob({ requester, createdAt: 1_000 + i }));
        expect(await store.listJobs({ requester })).toHaveLength(50);
      });
    });

    describe('task results', () => {
      it('round-trips rows with bytes, files, errors and nulls', async () => {
        const jobId = `job_${hex(8)}`;
        const rows = [
          makeResult(jobId, 0),
          makeResult(jobId, 1, {
            status: 'failed',
            exitCode: null,
            stdout: new Uint8Array(),
            stderr: new Uint8Array(),
            files: [],
            deleted: [],
            resultHash: null,
            node: null,
            attempts: 3,
            error: { code: 'WALL_TIME', message: 'took too long' },
          }),
          makeResult(jobId, 2, { status: 'cancelled', files: [{ path: '/out/e', data: new Uint8Array() }] }),
        ];
        await store.insertTaskResults(rows);
        expect(await store.getTaskResults(jobId, 0, 10)).toEqual(rows);
      });

      it('keeps the first row per task, across calls and within one call', async () => {
        const jobId = `job_${hex(8)}`;
        const first = makeResult(jobId, 0);
        await store.insertTaskResults([first]);
        await store.insertTaskResults([makeResult(jobId, 0, { status: 'failed' }), makeResult(jobId, 1)]);
        const a = makeResult(jobId, 2, { attempts: 1 });
        await store.insertTaskResults([a, makeResult(jobId, 2, { attempts: 2 })]);
        const got = await store.getTaskResults(jobId, 0, 10);
        expect(got.map((r) => r.index)).toEqual([0, 1, 2]);
        expect(got[0]).toEqual(first);
        expect(got[2]).toEqual(a);
      });

      it('an empty batch is a no-op', async () => {
        await store.insertTaskResults([]);
      });

      it('writes a batch larger than one statement', async () => {
        const jobId = `job_${hex(8)}`;
        const rows = Array.from({ length: 2_500 }, (_, i) => makeResult(jobId, i));
        await store.insertTaskResults(rows);
        expect(await store.finishedTasks(jobId)).toHaveLength(2_500);
        expect(await store.getTaskResults(jobId, 2_499, 10)).toEqual([rows[2_499]]);
      });

      it('a failing batch writes nothing, even across statements', async () => {
        const jobId = `job_${hex(8)}`;
        const rows = Array.from({ length: 1_500 }, (_, i) => makeResult(jobId, i));
        rows[1_400] = makeResult(jobId, 1_400, { status: 'bogus' as TaskResultRow['status'] });
        await expect(store.insertTaskResults(rows)).rejects.toThrow();
        expect(await store.finishedTasks(jobId)).toEqual([]);
      });

      it('stores a WASI exit code as the u32 it is (proc_exit(-1) is 4294967295)', async () => {
        const jobId = `job_${hex(8)}`;
        const rows = [makeResult(jobId, 0, { exitCode: 4294967295 }), makeResult(jobId, 1, { exitCode: 2 ** 31 }), makeResult(jobId, 2, { exitCode: 0 })];
        await store.insertTaskResults(rows);
        expect((await store.getTaskResults(jobId, 0, 10)).map((r) => r.exitCode)).toEqual([4294967295, 2 ** 31, 0]);
      });

      it('keeps an error message holding NUL (which PostgreSQL text cannot), with U+FFFD in its place', async () => {
        const jobId = `job_${hex(8)}`;
        await store.insertTaskResults([makeResult(jobId, 0, { status: 'failed', error: { code: 'SANDBOX_TRAP', message: 'a\u0000b' } })]);
        expect((await store.getTaskResults(jobId, 0, 1))[0]!.error).toEqual({ code: 'SANDBOX_TRAP', message: 'a\uFFFDb' });
      });

      it('a row the database refuses fails its statement with a data error (SQLSTATE class 22/23) that names no other row', async () => {
        const jobId = `job_${hex(8)}`;
        const err = await store.insertTaskResults([makeResult(jobId, 0), makeResult(jobId, 1, { exitCode: -1 })]).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(isRowError(err)).toBe(true);
        expect(await store.finishedTasks(jobId)).toEqual([]);
      });

      it('random outcomes through group commit never keep another row out (property)', async () => {
        // Values as nodes could send them before the protocol bounds them: exit codes beyond a
        // u32 or negative, NUL in messages, statuses the schema does not know.
        const arbRow = fc.record({
          exitCode: fc.oneof(fc.constant(null), fc.integer({ min: 0, max: 4294967295 }), fc.integer({ min: -(2 ** 40), max: 2 ** 40 })),
          message: fc.string({ unit: fc.constantFrom('a', 'é', 'x'), maxLength: 12 }).map((m) => m.replace(/x/g, '\u0000')),
          status: fc.constantFrom('done', 'failed', 'cancelled', 'bogus'),
        });
        await fc.assert(
          fc.asyncProperty(fc.array(arbRow, { minLength: 1, maxLength: 40 }), async (specs) => {
            const jobId = `job_${hex(8)}`;
            const committer = new GroupCommitter<TaskResultRow>({ write: (rows) => store.insertTaskResults(rows), intervalMs: 0, maxBatch: 16 });
            const rows = specs.map((r, i) =>
              makeResult(jobId, i, { exitCode: r.exitCode, status: r.status as TaskResultRow['status'], error: { code: 'X', message: r.message } }),
            );
            const outcomes = await Promise.all(
              rows.map((r) =>
                committer.add(r).then(
                  () => 'stored',
                  (e: unknown) => e,
                ),
              ),
            );
            await committer.close();
            const storable = (r: (typeof specs)[number]) => r.status !== 'bogus' && (r.exitCode === null || (r.exitCode >= 0 && r.exitCode <= 4294967295));
            const stored = await store.getTaskResults(jobId, 0, 100);
            expect(stored.map((r) => r.index)).toEqual(specs.flatMap((r, i) => (storable(r) ? [i] : [])));
            for (const r of stored) expect(r.error?.message).toBe(specs[r.index]!.message.replaceAll('\u0000', '\uFFFD'));
            for (const [i, r] of specs.entries()) {
              if (storable(r)) expect(outcomes[i]).toBe('stored');
              else expect(outcomes[i]).toBeInstanceOf(StoreRowRejectedError);
            }
          }),
          { numRuns: 12 },
        );
      });

      it('pages by index: offset is the first index, limit the row count', async () => {
        const jobId = `job_${hex(8)}`;
        const indexes = [0, 1, 2, 5, 8, 9, 13];
        await store.insertTaskResults([...indexes].reverse().map((i) => makeResult(jobId, i)));
        const idx = async (offset: number, limit: number) => (await store.getTaskResults(jobId, offset, limit)).map((r) => r.index);
        expect(await idx(0, 3)).toEqual([0, 1, 2]);
        expect(await idx(3, 3)).toEqual([5, 8, 9]);
        expect(await idx(10, 3)).toEqual([13]);
        expect(await idx(14, 3)).toEqual([]);
        expect(await idx(0, 0)).toEqual([]);
        expect(await store.getTaskResults(`job_${hex(8)}`, 0, 10)).toEqual([]);
      });

      it('finishedTasks lists indexes, statuses, fuel and amounts in order', async () => {
        const jobId = `job_${hex(8)}`;
        await store.insertTaskResults([
          makeResult(jobId, 4, { status: 'cancelled', fuelUsed: null }),
          makeResult(jobId, 0, { fuelUsed: 2 ** 40, receipts: [paid(address(), 7n)] }),
          makeResult(jobId, 2, { status: 'failed', fuelUsed: 9 }),
        ]);
        expect(await store.finishedTasks(jobId)).toEqual([
          { index: 0, status: 'done', fuelUsed: 2 ** 40, amount: 7n },
          { index: 2, status: 'failed', fuelUsed: 9, amount: 0n },
          { index: 4, status: 'cancelled', fuelUsed: null, amount: 0n },
        ]);
        expect(await store.finishedTasks(`job_${hex(8)}`)).toEqual([]);
      });

      it('concurrent batches for the same tasks store each task once', async () => {
        const jobId = `job_${hex(8)}`;
        await Promise.all(
          Array.from({ length: 6 }, (_, w) => store.insertTaskResults(Array.from({ length: 300 }, (_, i) => makeResult(jobId, i, { attempts: w + 1 })))),
        );
        const rows = await store.getTaskResults(jobId, 0, 1_000);
        expect(rows.map((r) => r.index)).toEqual(Array.from({ length: 300 }, (_, i) => i));
      });
    });

    describe('blobs', () => {
      it('takes a blob from a file (a streamed upload) and counts it against its uploader', async () => {
        const dir = await mkdtemp(join(tmpdir(), 'lode-upload-'));
        try {
          const data = randomBytes(300_000);
          const file = join(dir, 'upload');
          await writeFile(file, data);
          const sha = hex(32);
          const owner = address();
          await store.putBlobFile(sha, file, data.length, owner);
          expect(await store.getBlob(sha)).toEqual(new Uint8Array(data));
          expect(await store.blobBytesOf(owner)).toBe(data.length);
          expect((await store.hasBlobs([sha])).has(sha)).toBe(true);
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      });

      it('stores and returns bytes; unknown addresses give null', async () => {
        const sha = hex(32);
        const data = randomBytes(70_000);
        await store.putBlob(sha, new Uint8Array(data));
        expect(await store.getBlob(sha)).toEqual(new Uint8Array(data));
        expect(await store.getBlob(hex(32))).toBeNull();
      });

      it('is immutable: a second put of an address changes nothing', async () => {
        const sha = hex(32);
        await store.putBlob(sha, new Uint8Array([1, 2, 3]));
        await store.putBlob(sha, new Uint8Array([9, 9]));
        expect(await store.getBlob(sha)).toEqual(new Uint8Array([1, 2, 3]));
      });

      it('stores an empty blob', async () => {
        const sha = hex(32);
        await store.putBlob(sha, new Uint8Array());
        expect(await store.getBlob(sha)).toEqual(new Uint8Array());
      });

      it('hasBlobs answers which addresses are stored', async () => {
        const [a, b, c] = [hex(32), hex(32), hex(32)];
        await store.putBlob(a, new Uint8Array([1]));
        await store.putBlob(b, new Uint8Array([2]));
        expect(await store.hasBlobs([a, c, b, a])).toEqual(new Set([a, b]));
        expect(await store.hasBlobs([])).toEqual(new Set());
      });

      it('concurrent puts of one address keep one blob', async () => {
        const sha = hex(32);
        await Promise.all(Array.from({ length: 8 }, () => store.putBlob(sha, new Uint8Array([4, 2]))));
        expect(await store.getBlob(sha)).toEqual(new Uint8Array([4, 2]));
      });
    });

    describe('nodes', () => {
      it('inserts new nodes and updates known ones, keeping firstSeenAt', async () => {
        const a = makeNode();
        const b = makeNode();
        await store.upsertNodes([a, b]);
        const a2: NodeRecord = {
          ...a,
          capabilities: { ...a.capabilities, slots: 8 },
          completed: 10,
          failed: 2,
          firstSeenAt: a.firstSeenAt + 999,
          lastSeenAt: a.lastSeenAt + 5_000,
        };
        await store.upsertNodes([a2]);
        const listed = (await store.listNodes()).filter((n) => n.address === a.address || n.address === b.address);
        expect(listed).toHaveLength(2);
        expect(listed.find((n) => n.address === a.address)).toEqual({ ...a2, firstSeenAt: a.firstSeenAt });
        expect(listed.find((n) => n.address === b.address)).toEqual(b);
      });

      it('within one call the last record per address wins; empty calls are no-ops', async () => {
        const a = makeNode();
        await store.upsertNodes([a, { ...a, completed: 7 }]);
        await store.upsertNodes([]);
        expect((await store.listNodes()).find((n) => n.address === a.address)?.completed).toBe(7);
      });
    });

    describe('trust: reputation and evidence', () => {
      it('saves and loads reputations; a later save of an address replaces its record', async () => {
        const a = address();
        const rec = {
          address: a,
          validated: 5,
          invalid: 1,
          consecutiveValid: 2,
          uptimeMs: 2 ** 40,
          priorValid: 3,
          priorIssuer: address(),
          lastWrongAt: 1_700_000_000_000,
          firstSeenAt: 1_600_000_000_000,
        };
        await store.saveReputations([rec]);
        await store.saveReputations([{ ...rec, validated: 6, consecutiveValid: 3, firstSeenAt: 1 }]);
        const got = (await store.loadReputations()).find((r) => r.address === a);
        expect(got).toEqual({ ...rec, validated: 6, consecutiveValid: 3 }); // firstSeenAt is kept
        expect(await store.loadReputations([a, address()])).toEqual([{ ...rec, validated: 6, consecutiveValid: 3 }]); // one node's, as it connects
        await store.saveReputations([]);
      });

      it('stores evidence once per hash, lists it by node and by slash state, and records the slash', async () => {
        const node = address();
        const e = {
          hash: `0x${hex(32)}`,
          node,
          jobId: hex(16),
          index: 3,
          kind: 'quorum' as const,
          body: { version: 1, x: [1, 'a'] },
          createdAt: 10,
          slash: 'pending' as const,
          slashed: null,
          txHash: null,
          error: null,
        };
        await store.insertEvidence(e);
        await store.insertEvidence({ ...e, index: 4 });
        expect(await store.getEvidence(e.hash)).toEqual(e);
        expect((await store.listEvidence({ slash: 'pending', limit: 10_000 })).map((x) => x.hash)).toContain(e.hash);
        await store.updateEvidence(e.hash, { slash: 'slashed', slashed: 10n ** 21n, txHash: `0x${hex(32)}` });
        const [slashed] = await store.listEvidence({ node });
        expect(slashed).toMatchObject({ hash: e.hash, slash: 'slashed', slashed: 10n ** 21n, error: null });
        expect((await store.listEvidence({ slash: 'pending', limit: 10_000 })).map((x) => x.hash)).not.toContain(e.hash);
        expect(await store.getEvidence(`0x${hex(32)}`)).toBeNull();
      });
    });

    describe('ledger: receipts, batches, escrow, chain transactions', () => {
      /** A plan that pays each payee its gross minus 10%, like the settlement service would. */
      const planOf = (receipts: Receipt[]): BatchPlan => {
        const byPayee = new Map<string, { gross: bigint; tasks: number }>();
        const byJob = new Map<string, bigint>();
        for (const r of receipts) {
          const p = byPayee.get(r.payee) ?? { gross: 0n, tasks: 0 };
          byPayee.set(r.payee, { gross: p.gross + r.amount, tasks: p.tasks + 1 });
          byJob.set(r.jobId, (byJob.get(r.jobId) ?? 0n) + r.amount);
        }
        const payouts = [...byPayee].map(([provider, p]) => ({ provider, gross: p.gross, amount: p.gross - p.gross / 10n, tasks: p.tasks }));
        return {
          root: `0x${hex(32)}`,
          tree: { format: 'test', receipts: receipts.length },
          debits: [...byJob],
          fee: payouts.reduce((s, p) => s + p.gross - p.amount, 0n),
          payouts,
        };
      };
      /** Settles everything left from earlier tests so each test sees only its own receipts. */
      const drain = async () => {
        while (await store.ledger.createBatch(100_000, Date.now(), planOf)) {
          /* drain */
        }
      };

      it('round-trips receipts (payee, amount) and the escrow state of jobs', async () => {
        const job = makeJob({ escrow: 'open' });
        await store.insertJob(job);
        const payee = address();
        const { receipts, ...row } = makeResult(job.id, 0, { receipts: [paid(payee, 10n ** 30n + 7n), paid(address(), 3n, 'replica')] });
        await store.insertTaskResults([{ ...row, receipts }]);
        expect(await store.getTaskResults(job.id, 0, 1)).toEqual([row]);
        expect(await store.receiptsOf(job.id, 0)).toEqual(receipts);
        // A receipt is written once per account and task: a second write changes nothing.
        await store.insertReceipts(job.id, 0, [paid(payee, 1n, 'canary'), paid(address(), 0n, 'canary')]);
        expect(await store.receiptsOf(job.id, 0)).toEqual(receipts);
        expect((await store.getJob(job.id))?.escrow).toBe('open');
        await store.ledger.setJobEscrow(job.id, 'closed');
        expect((await store.getJob(job.id))?.escrow).toBe('closed');
      });

      it('folds each paid receipt into exactly one batch, oldest first, skipping unpaid rows', async () => {
        await drain();
        const job = makeJob({ taskCount: 5 });
        await store.insertJob(job);
        const [a, b] = [address(), address()];
        await store.insertTaskResults([
          makeResult(job.id, 0, { receipts: [paid(a, 100n)] }),
          makeResult(job.id, 1, { receipts: [paid(b, 50n)] }),
          makeResult(job.id, 2, { receipts: [paid(a, 100n)] }),
          makeResult(job.id, 3, { status: 'failed' }),
          makeResult(job.id, 4, { receipts: [paid(b, 50n)] }),
        ]);
        expect(await store.ledger.unsettled()).toEqual({ receipts: 4, amount: 300n });
        const first = await store.ledger.createBatch(3, 1_000, planOf);
        expect(first).toMatchObject({ status: 'prepared', receipts: 3, total: 250n, debits: [[job.id, 250n]] });
        const second = await store.ledger.createBatch(3, 2_000, planOf);
        expect(second).toMatchObject({ receipts: 1, total: 50n });
        expect(await store.ledger.createBatch(3, 3_000, planOf)).toBeNull();
        expect(await store.ledger.unsettled()).toEqual({ receipts: 0, amount: 0n });
        const paidA = await store.ledger.payoutsOf(a);
        expect(paidA.map((p) => [p.payout.gross, p.payout.amount, p.payout.tasks])).toEqual([[200n, 180n, 2]]);
        const paidB = await store.ledger.payoutsOf(b.toUpperCase().replace('0X', '0x'));
        expect(paidB.map((p) => p.payout.batchId)).toEqual([second!.id, first!.id]);
        expect(await store.ledger.payoutsOf(b, { from: 1_500 })).toHaveLength(1);
      });

      it("debits at most maxJobs jobs per batch; the other jobs' receipts wait for the next", async () => {
        await drain();
        const jobs = [makeJob(), makeJob(), makeJob()];
        for (const j of jobs) await store.insertJob(j);
        // Oldest first: job 0, job 1, job 0, job 2, job 1.
        for (const [j, i] of [
          [0, 0],
          [1, 0],
          [0, 1],
          [2, 0],
          [1, 1],
        ] as const)
          await store.insertTaskResults([makeResult(jobs[j]!.id, i, { receipts: [paid(address(), 1n)] })]);
        const first = await store.ledger.createBatch(100, Date.now(), planOf, 2);
        expect(first).toMatchObject({ receipts: 3 });
        expect(first!.debits.map(([id]) => id).sort()).toEqual([jobs[0]!.id, jobs[1]!.id].sort());
        const second = await store.ledger.createBatch(100, Date.now(), planOf, 2);
        expect(second).toMatchObject({ receipts: 2 });
        expect(second!.debits.map(([id]) => id).sort()).toEqual([jobs[1]!.id, jobs[2]!.id].sort());
      });

      it('concurrent createBatch calls never share a receipt', async () => {
        await drain();
        const job = makeJob({ taskCount: 40 });
        await store.insertJob(job);
        await store.insertTaskResults(Array.from({ length: 40 }, (_, i) => makeResult(job.id, i, { receipts: [paid(address(), 1n)] })));
        const batches = (await Promise.all(Array.from({ length: 4 }, () => store.ledger.createBatch(15, Date.now(), planOf)))).filter((b) => b !== null);
        const more = await store.ledger.createBatch(1000, Date.now(), planOf);
        const counted = [...batches, ...(more ? [more] : [])].reduce((n, b) => n + b!.receipts, 0);
        expect(counted).toBe(40);
      });

      it('updates batches and lists them by status', async () => {
        await drain();
        const job = makeJob();
        await store.insertJob(job);
        await store.insertTaskResults([makeResult(job.id, 0, { receipts: [paid(address(), 9n)] })]);
        const batch = (await store.ledger.createBatch(10, 5, planOf))!;
        expect((await store.ledger.listBatches('prepared')).map((b) => b.id)).toContain(batch.id);
        await store.ledger.updateBatch(batch.id, { status: 'posted', txHash: `0x${hex(32)}`, chainBatchId: 2n ** 70n, finalAt: 1234 });
        const [posted] = (await store.ledger.listBatches('posted')).filter((b) => b.id === batch.id);
        expect(posted).toMatchObject({ status: 'posted', chainBatchId: 2n ** 70n, finalAt: 1234, error: null });
        expect((await store.ledger.listBatches('prepared')).map((b) => b.id)).not.toContain(batch.id);
      });

      it('a job closes only once it has ended and every receipt is in a posted batch', async () => {
        await drain();
        const job = makeJob({ escrow: 'open', taskCount: 2 });
        await store.insertJob(job);
        await store.insertTaskResults([makeResult(job.id, 0, { receipts: [paid(address(), 5n)] })]);
        expect(await store.ledger.jobsToClose(100)).not.toContain(job.id); // still running
        await store.updateJob(job.id, { status: 'completed', counts: { ...zeroCounts(2), queued: 0, done: 2 }, finishedAt: Date.now() });
        expect(await store.ledger.jobsToClose(100)).not.toContain(job.id); // receipt not settled
        const batch = (await store.ledger.createBatch(10, Date.now(), planOf))!;
        expect(await store.ledger.jobsToClose(100)).not.toContain(job.id); // batch not posted
        await store.ledger.updateBatch(batch.id, { status: 'posted' });
        expect(await store.ledger.jobsToClose(100)).toContain(job.id);
        await store.ledger.setJobEscrow(job.id, 'closed');
        expect(await store.ledger.jobsToClose(100)).not.toContain(job.id);
      });

      it('sets a batch aside: its jobs at fault are held (never batched again, not blocking their close), the rest go into the next batch', async () => {
        await drain();
        const bad = makeJob({ escrow: 'open', taskCount: 1 });
        const good = makeJob({ escrow: 'open', taskCount: 1 });
        for (const j of [bad, good]) await store.insertJob(j);
        const payee = address();
        await store.insertTaskResults([makeResult(bad.id, 0, { receipts: [paid(payee, 5n)] }), makeResult(good.id, 0, { receipts: [paid(payee, 7n)] })]);
        const batch = (await store.ledger.createBatch(10, Date.now(), planOf))!;
        expect(batch.receipts).toBe(2);
        expect(await store.ledger.setAside(batch.id, [bad.id], 'JobClosed', 'its post would revert')).toEqual({ held: 1, released: 1 });
        const [failed] = (await store.ledger.listBatches('failed')).filter((b) => b.id === batch.id);
        expect(failed).toMatchObject({ status: 'failed', error: 'its post would revert' });
        expect((await store.ledger.payoutsOf(payee)).filter((p) => p.batch.id === batch.id)).toEqual([]);
        expect(await store.ledger.unsettled()).toEqual({ receipts: 1, amount: 7n });
        const next = (await store.ledger.createBatch(10, Date.now(), planOf))!;
        expect(next.debits).toEqual([[good.id, 7n]]);
        expect(await store.ledger.createBatch(10, Date.now(), planOf)).toBeNull(); // the held receipt stays out
        for (const j of [bad, good])
          await store.updateJob(j.id, { status: 'completed', counts: { ...zeroCounts(1), queued: 0, done: 1 }, finishedAt: Date.now() });
        await store.ledger.updateBatch(next.id, { status: 'posted' });
        const closable = await store.ledger.jobsToClose(100);
        expect(closable).toContain(bad.id); // its held receipt will never be posted: refund the rest
        expect(closable).toContain(good.id);
        // A batch already posted is never set aside.
        expect(await store.ledger.setAside(next.id, [good.id], 'x', 'y')).toEqual({ held: 0, released: 0 });
      });

      it('records chain transactions before sending and lists the pending ones by nonce', async () => {
        const sender = address();
        const tx = (nonce: number) => ({
          hash: `0x${hex(32)}`,
          kind: 'postBatch',
          ref: String(nonce),
          sender,
          nonce,
          raw: `0x${hex(100)}`,
          status: 'sent' as const,
          createdAt: Date.now(),
          block: null,
        });
        const [t1, t0] = [tx(1), tx(0)];
        await store.ledger.insertChainTx(t1);
        await store.ledger.insertChainTx(t0);
        await store.ledger.insertChainTx(t0); // idempotent
        expect((await store.ledger.pendingChainTxs(sender)).map((t) => t.nonce)).toEqual([0, 1]);
        await store.ledger.updateChainTx(t0.hash, { status: 'mined', block: 12 });
        expect(await store.ledger.pendingChainTxs(sender)).toEqual([{ ...t1, sender: sender.toLowerCase() }]);
        expect(await store.ledger.chainTxsOf('postBatch', '0')).toEqual([{ ...t0, sender: sender.toLowerCase(), status: 'mined', block: 12 }]);
      });

      it('keeps meta values', async () => {
        const key = `k_${hex(4)}`;
        expect(await store.ledger.getMeta(key)).toBeNull();
        await store.ledger.setMeta(key, { a: 1, b: ['x'] });
        await store.ledger.setMeta(key, { a: 2 });
        expect(await store.ledger.getMeta(key)).toEqual({ a: 2 });
      });

      describe("results taken on one node's word alone (lone_results) and their revision", () => {
        const lone = (jobId: string, index: number, node: string, seq: number) => ({
          jobId,
          index,
          node,
          key: `ok||h${index}|7`,
          seq,
          receivedAt: 1_700_000_000_000 + seq,
          leaseId: `l${seq}`,
          session: { node, challenge: `0x${hex(32)}` },
        });

        it("keeps an entry with its row, holds its node's receipt out of settlement until the entry is forgotten, and forgets by seq only", async () => {
          await drain();
          const job = makeJob({ escrow: 'open', status: 'completed', finishedAt: 1, taskCount: 2 });
          await store.insertJob(job);
          const [a, b] = [address(), address()];
          const entry = lone(job.id, 0, a, 1_000_001);
          await store.insertTaskResults([makeResult(job.id, 0, { receipts: [paid(a, 70n)], lone: entry }), makeResult(job.id, 1, { receipts: [paid(b, 5n)] })]);
          expect((await store.loadLoneResults()).filter((r) => r.jobId === job.id)).toEqual([entry]);
          // Only b's receipt settles; a's waits — and keeps the job's escrow from closing.
          expect(await store.ledger.createBatch(100, 1, planOf)).toMatchObject({ receipts: 1, debits: [[job.id, 5n]] });
          expect(await store.ledger.createBatch(100, 2, planOf)).toBeNull();
          expect(await store.ledger.jobsToClose(10_000)).not.toContain(job.id);
          // Forgetting names the entry's seq: another seq of the task is not this entry.
          await store.deleteLoneResults([{ jobId: job.id, index: 0, seq: 999 }]);
          expect((await store.loadLoneResults()).filter((r) => r.jobId === job.id)).toHaveLength(1);
          await store.deleteLoneResults([{ jobId: job.id, index: 0, seq: entry.seq }]);
          expect((await store.loadLoneResults()).filter((r) => r.jobId === job.id)).toEqual([]);
          expect(await store.ledger.createBatch(100, 3, planOf)).toMatchObject({ receipts: 1, debits: [[job.id, 70n]] });
        });

        it("revises a task in one transaction: the row replaced, the wrong node's unsettled receipt withdrawn, the re-verifiers paid, the entry dropped", async () => {
          await drain();
          const job = makeJob({ escrow: 'open', status: 'completed', finishedAt: 1, taskCount: 2 });
          await store.insertJob(job);
          const [liar, h1, h2] = [address(), address(), address()];
          await store.insertTaskResults([makeResult(job.id, 0, { node: liar, receipts: [paid(liar, 70n)], lone: lone(job.id, 0, liar, 2_000_001) })]);
          // A task without a row yet (its first write in flight) is refused, so the caller retries.
          await expect(store.reviseTaskResult({ jobId: job.id, index: 1, receipts: [] })).rejects.toThrow(/no result row/);
          const row = makeResult(job.id, 0, {
            node: h1,
            receipts: [paid(h1, 30n), paid(h2, 40n, 'replica')],
            revision: { at: 5, reason: 'proven wrong', previousNode: liar, previousResultHash: 'abc', refunded: '0' },
          });
          expect(await store.reviseTaskResult({ jobId: job.id, index: 0, row, withdraw: liar })).toEqual({ withdrawn: 70n });
          const [got] = await store.getTaskResults(job.id, 0, 1);
          const { receipts, lone: _none, ...plain } = row;
          expect(got).toEqual({ ...plain, revision: { ...row.revision, refunded: '70' } });
          expect((await store.receiptsOf(job.id, 0)).map((r) => [r.payee, r.amount])).toEqual(receipts!.map((r) => [r.payee, r.amount]));
          expect((await store.loadLoneResults()).filter((r) => r.jobId === job.id)).toEqual([]);
          // The job's totals, once final, come from what is left.
          await store.setJobRevisions(
            job.id,
            { revised: 1, refunded: '70', tasks: [{ index: 0, ...row.revision!, refunded: '70' }] },
            {
              status: 'completed',
              counts: { queued: 0, leased: 0, done: 1, failed: 0, cancelled: 1 },
              verificationStats: { accepted: 1, executions: 3, canaries: 0, spotChecks: 0, speculative: 0, wrong: 1, failed: 0, reverified: 1, revised: 1 },
            },
          );
          const after = await store.getJob(job.id);
          expect(after).toMatchObject({ usage: { cost: 70n }, revisions: { revised: 1, refunded: '70' }, verificationStats: { revised: 1 } });
          // A receipt already in a batch cannot be withdrawn (it never is: the entry held it out).
          await store.insertTaskResults([makeResult(job.id, 1, { node: liar, receipts: [paid(liar, 9n)] })]);
          await store.ledger.createBatch(100, 1, planOf);
          expect(await store.reviseTaskResult({ jobId: job.id, index: 1, receipts: [], withdraw: liar })).toEqual({ withdrawn: 0n });
          expect(await store.receiptsOf(job.id, 1)).toHaveLength(1);
        });

        it("keeps the entry when asked (an audit without a verdict), and writes the new answer's entry with its row", async () => {
          const job = makeJob({ taskCount: 1 });
          await store.insertJob(job);
          const [a, b] = [address(), address()];
          const first = lone(job.id, 0, a, 3_000_001);
          await store.insertTaskResults([makeResult(job.id, 0, { node: a, lone: first })]);
          await store.reviseTaskResult({ jobId: job.id, index: 0, receipts: [paid(b, 1n, 'unverified')], keepLone: true });
          expect((await store.loadLoneResults()).filter((r) => r.jobId === job.id)).toEqual([first]);
          const next = lone(job.id, 0, b, 3_000_002);
          await store.reviseTaskResult({ jobId: job.id, index: 0, row: makeResult(job.id, 0, { node: b, lone: next }), withdraw: a });
          expect((await store.loadLoneResults()).filter((r) => r.jobId === job.id)).toEqual([next]);
        });
      });

      describe('faucet grants', () => {
        // Each test counts in its own stretch of (future) time, so windows never see another test's rows.
        const era = () => 5e12 + Math.floor(Math.random() * 1e6) * 1e6;
        const grant = (a: string, client: string, now: number, lode = 10n) => ({ address: a, client, lode, eth: 1n, now });
        const limits = { windowMs: 1000, perAddress: 1, perClient: 2, total: 3, maxTotalLode: 10n ** 30n };

        it('counts grants per address, per client and in all within a rolling window, and says when one comes free', async () => {
          const t0 = era();
          const [a1, a2, a3, a4] = [address(), address(), address(), address()];
          const [c1, c2, c3] = [`10.0.${hex(1)}.1`, `2001:db8:${hex(2)}::/64`, `10.1.${hex(1)}.3`];
          expect(await store.ledger.claimFaucetGrant(grant(a1, c1, t0), limits)).toMatchObject({ granted: true });
          expect(await store.ledger.claimFaucetGrant(grant(a1, c2, t0 + 10), limits)).toEqual({
            granted: false,
            limit: 'address',
            count: 1,
            retryAt: t0 + 1000,
          });
          expect(await store.ledger.claimFaucetGrant(grant(a2, c1, t0 + 20), limits)).toMatchObject({ granted: true });
          expect(await store.ledger.claimFaucetGrant(grant(a3, c1, t0 + 30), limits)).toEqual({
            granted: false,
            limit: 'client',
            count: 2,
            retryAt: t0 + 1000,
          });
          expect(await store.ledger.claimFaucetGrant(grant(a3, c2, t0 + 40), limits)).toMatchObject({ granted: true });
          expect(await store.ledger.claimFaucetGrant(grant(a4, c3, t0 + 50), limits)).toEqual({ granted: false, limit: 'total', count: 3, retryAt: t0 + 1000 });
          // a1's grant has left the window: a1 and the total have room again.
          expect(await store.ledger.claimFaucetGrant(grant(a1, c3, t0 + 1001), limits)).toMatchObject({ granted: true });
          expect(await store.ledger.claimFaucetGrant(grant(a4, c3, t0 + 1002), limits)).toEqual({
            granted: false,
            limit: 'total',
            count: 3,
            retryAt: t0 + 1020,
          });
        });

        it('refuses a grant that would take the all-time sum past its cap; a released grant stops counting, a sent one does not', async () => {
          const t0 = era();
          const before = await store.ledger.faucetTotals();
          const capped = { ...limits, perClient: 100, total: 100, maxTotalLode: before.lode + 15n };
          const first = await store.ledger.claimFaucetGrant(grant(address(), `10.2.${hex(1)}.1`, t0), capped);
          expect(first).toMatchObject({ granted: true });
          expect(await store.ledger.claimFaucetGrant(grant(address(), `10.2.${hex(1)}.2`, t0 + 1), capped)).toEqual({
            granted: false,
            limit: 'lifetime',
            count: before.grants + 1,
            retryAt: null,
          });
          await store.ledger.releaseFaucetGrant((first as { id: number }).id);
          const second = await store.ledger.claimFaucetGrant(grant(address(), `10.2.${hex(1)}.3`, t0 + 2), capped);
          expect(second).toMatchObject({ granted: true });
          await store.ledger.completeFaucetGrant((second as { id: number }).id, [`0x${hex(32)}`, `0x${hex(32)}`]);
          await store.ledger.releaseFaucetGrant((second as { id: number }).id); // sent: kept
          expect(await store.ledger.faucetTotals()).toEqual({ grants: before.grants + 1, lode: before.lode + 10n });
        });

        it('concurrent claims never exceed a limit', async () => {
          const t0 = era();
          const who = address();
          const claims = await Promise.all(
            Array.from({ length: 8 }, (_, i) => store.ledger.claimFaucetGrant(grant(who, `10.3.${hex(1)}.${i}`, t0 + i), { ...limits, total: 100 })),
          );
          expect(claims.filter((c) => c.granted)).toHaveLength(1);
        });
      });
    });

    it('serves many concurrent calls of every kind', async () => {
      const jobs = Array.from({ length: 20 }, () => makeJob());
      await Promise.all([
        ...jobs.map((j) => store.insertJob(j)),
        ...jobs.map((j) => store.insertTaskResults([makeResult(j.id, 0), makeResult(j.id, 1)])),
        ...jobs.map((j) => store.putBlob(j.module, new Uint8Array([1]))),
        store.upsertNodes([makeNode(), makeNode()]),
        store.listJobs({}),
        store.listUnfinishedJobs(),
      ]);
      const back = await Promise.all(jobs.map((j) => store.getJob(j.id)));
      expect(back).toEqual(jobs);
      const finished = await Promise.all(jobs.map((j) => store.finishedTasks(j.id)));
      expect(finished.every((f) => f.length === 2)).toBe(true);
      expect(await store.hasBlobs(jobs.map((j) => j.module))).toEqual(new Set(jobs.map((j) => j.module)));
    });

    describeAvailabilityStore(() => store);

    it('keeps everything after close and reopen', async () => {
      const job = makeJob();
      const result = makeResult(job.id, 0);
      const node = makeNode();
      const sha = hex(32);
      await store.insertJob(job);
      await store.insertTaskResults([result]);
      await store.upsertNodes([node]);
      await store.putBlob(sha, new Uint8Array([7, 7]));
      await store.close();

      store = await target.open();
      expect(await store.getJob(job.id)).toEqual(job);
      expect(await store.getTaskResults(job.id, 0, 10)).toEqual([result]);
      expect((await store.listNodes()).find((n) => n.address === node.address)).toEqual(node);
      expect(await store.getBlob(sha)).toEqual(new Uint8Array([7, 7]));
    });
  });
}
