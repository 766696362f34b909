/**
 * Job ownership among gateways on one database (ownership.ts), on the real SQL: PGlite in memory,
 * and the PostgreSQL server where LODE_TEST_DATABASE_URL names one (required under CI).
 *
 * The property: three gateways run random steps — heartbeats, claims, writes for the jobs they
 * believe they own, crashes and restarts, and pauses (a gateway whose clock is skewed or whose
 * process stalls heartbeats late but may still try to write) — while the database's clock moves
 * by random amounts. Whatever happens, every write the database accepted for a job came from
 * that job's owner of the moment: per job, accepted writes carry non-decreasing epochs and each
 * epoch belongs to one gateway. And when one gateway is left alive, it ends up owning every
 * unfinished job within one lease. The same for the settler role (the one gateway that sends chain
 * transactions): what it records under its fence comes from one holder per epoch, epochs in order.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPGliteExecutor, createPostgresExecutor, migrate, type SqlExecutor } from '../store/index.js';
import { makeJob, makeResult } from '../store/store.suite.js';
import { SqlStore } from '../store/sqlStore.js';
import { describePostgres } from '../../test/support/postgres.js';
import { NotSenderError } from '../store/errors.js';
import { pino } from 'pino';
import { ClusterMember } from './member.js';
import { CLUSTER_CHANNEL, JobOwnership, NotOwnerError, type OwnedJob } from './ownership.js';

const ROLE = 'settler';

const TTL = 10_000;
const JOBS = 3;
const GATEWAYS = 3;

type Step =
  | { kind: 'tick'; ms: number }
  | { kind: 'heartbeat' | 'claim' | 'crash' | 'restart' | 'pause' | 'resume'; g: number }
  | { kind: 'write'; g: number; job: number }
  | { kind: 'send'; g: number };

const g = fc.nat(GATEWAYS - 1);
const step: fc.Arbitrary<Step> = fc.oneof(
  // Time passes; every live gateway that is not paused heartbeats on its timer.
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constant('tick' as const), ms: fc.oneof(fc.integer({ min: 0, max: TTL / 2 }), fc.integer({ min: 0, max: 2 * TTL })) }),
  },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('claim' as const), g }) },
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('write' as const), g, job: fc.nat(JOBS - 1) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('send' as const), g }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constantFrom('heartbeat' as const, 'crash' as const, 'restart' as const), g }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constantFrom('pause' as const, 'resume' as const), g }) },
);

interface Gateway {
  ownership: JobOwnership;
  /** Jobs this gateway believes it owns (possibly stale), by job id. */
  believes: Map<string, OwnedJob>;
  /** The settler role's epoch this gateway believes it holds (possibly stale). */
  settler: number | undefined;
  crashed: boolean;
  paused: boolean;
}

ownershipSuite('PGlite', () => createPGliteExecutor());
describePostgres('job ownership on a PostgreSQL server', (server) =>
  ownershipSuite('PostgreSQL server', async () => createPostgresExecutor({ url: server.url() })),
);

function ownershipSuite(name: string, open: () => Promise<SqlExecutor>): void {
  describe(`job ownership (${name})`, () => {
    let db: SqlExecutor;
    let store: SqlStore;
    beforeAll(async () => {
      db = await open();
      store = new SqlStore(db);
      await store.init();
    });
    afterAll(() => store.close());

    /** A fresh world: JOBS unfinished jobs, no leases, the clock at `start`. */
    async function world(start: number) {
      await db.query('DELETE FROM job_owners');
      await db.query('DELETE FROM cluster_roles');
      await db.query('DELETE FROM gateway_leases');
      // This suite's own database: the jobs of earlier runs are done with.
      await db.query("UPDATE jobs SET status = 'completed' WHERE status IN ('queued', 'running')");
      const jobs: string[] = [];
      for (let i = 0; i < JOBS; i++) {
        const job = makeJob({ status: 'running' });
        await store.insertJob(job);
        jobs.push(job.id);
      }
      const clock = { t: start };
      /** A gateway process starting: a new incarnation that takes its lease first. */
      const gateway = async (): Promise<Gateway> => {
        const ownership = new JobOwnership(db, { ttlMs: TTL, now: () => clock.t });
        expect(await ownership.heartbeat()).toBe(true);
        return { ownership, believes: new Map(), settler: undefined, crashed: false, paused: false };
      };
      const gateways: Gateway[] = [];
      for (let i = 0; i < GATEWAYS; i++) gateways.push(await gateway());
      return { jobs, clock, gateways, gateway };
    }

    /** A heartbeat of gateway `i` when it is alive and not paused. A lease that expired never comes back: the gateway drops its jobs and starts over. */
    async function beat(w: Awaited<ReturnType<typeof world>>, i: number): Promise<void> {
      const g = w.gateways[i]!;
      if (g.crashed || g.paused) return;
      if (!(await g.ownership.heartbeat())) w.gateways[i] = await w.gateway();
    }

    it('accepts a write for a job only from its owner of the moment, whatever crashes, pauses and clocks do', async () => {
      let start = 1_000_000_000;
      // What the runs went through, so that the property is known not to hold vacuously.
      const seen = { accepted: 0, refusedStale: 0, takenOver: 0, sent: 0, refusedSend: 0 };
      await fc.assert(
        fc.asyncProperty(fc.array(step, { minLength: 20, maxLength: 80, size: 'max' }), async (steps) => {
          start += 10 * TTL; // every run on a fresh stretch of the virtual clock
          const w = await world(start);
          const accepted: Array<{ job: string; incarnation: string; epoch: number }> = [];
          const sent: Array<{ incarnation: string; epoch: number }> = [];
          for (const s of steps) {
            if (s.kind === 'tick') {
              w.clock.t += s.ms;
              for (let i = 0; i < GATEWAYS; i++) await beat(w, i);
              continue;
            }
            const g = w.gateways[s.g]!;
            if (s.kind === 'restart') {
              if (g.crashed) w.gateways[s.g] = await w.gateway();
              continue;
            }
            if (g.crashed) continue;
            if (s.kind === 'crash') g.crashed = true;
            else if (s.kind === 'pause') g.paused = true;
            else if (s.kind === 'resume') g.paused = false;
            else if (s.kind === 'heartbeat') await beat(w, s.g);
            else if (s.kind === 'claim' && !g.paused) {
              for (const owned of await g.ownership.claimOrphans()) g.believes.set(owned.jobId, owned);
              g.settler = await g.ownership.holdRole(ROLE);
            } else if (s.kind === 'send') {
              // A chain transaction recorded under the settler fence (paused gateways try too).
              if (g.settler === undefined) continue;
              const epoch = g.settler;
              const ok = await db.transaction((tx) => g.ownership.holdsRole(tx, ROLE, epoch));
              if (ok) {
                sent.push({ incarnation: g.ownership.incarnation, epoch });
                seen.sent++;
              } else {
                seen.refusedSend++;
                g.settler = undefined;
              }
            } else if (s.kind === 'write') {
              // Paused gateways write too: a stalled process acting on what it last knew.
              const owned = g.believes.get(w.jobs[s.job]!);
              if (!owned) continue;
              try {
                await g.ownership.fenced(owned, async (tx) => {
                  const [row] = await tx.query<{ gateway: string; epoch: number }>('SELECT gateway, epoch FROM job_owners WHERE job_id = $1', [owned.jobId]);
                  // Inside the fence the row is this writer's, at its epoch.
                  expect(row).toEqual({ gateway: g.ownership.incarnation, epoch: owned.epoch });
                });
                accepted.push({ job: owned.jobId, incarnation: g.ownership.incarnation, epoch: owned.epoch });
                seen.accepted++;
                if (owned.epoch > 1) seen.takenOver++;
              } catch (err) {
                if (!(err instanceof NotOwnerError)) throw err;
                seen.refusedStale++;
                g.believes.delete(owned.jobId);
              }
            }
          }
          for (const job of w.jobs) {
            const writes = accepted.filter((a) => a.job === job);
            for (let i = 1; i < writes.length; i++) expect(writes[i]!.epoch).toBeGreaterThanOrEqual(writes[i - 1]!.epoch);
            const ownerOf = new Map<number, string>();
            for (const a of writes) {
              expect(ownerOf.get(a.epoch) ?? a.incarnation).toBe(a.incarnation);
              ownerOf.set(a.epoch, a.incarnation);
            }
          }

          // One settler per epoch, epochs in order: never two gateways sending at once.
          const settlerOf = new Map<number, string>();
          for (let i = 0; i < sent.length; i++) {
            const a = sent[i]!;
            if (i > 0) expect(a.epoch).toBeGreaterThanOrEqual(sent[i - 1]!.epoch);
            expect(settlerOf.get(a.epoch) ?? a.incarnation).toBe(a.incarnation);
            settlerOf.set(a.epoch, a.incarnation);
          }

          // Liveness: one fresh gateway left alive owns every unfinished job within one lease.
          w.clock.t += TTL + 1;
          const survivor = await w.gateway();
          const claimed = await survivor.ownership.claimOrphans();
          expect(claimed.map((c) => c.jobId).sort()).toEqual([...w.jobs].sort());
          for (const c of claimed) await survivor.ownership.fenced(c, async () => {});
          // …and is the settler.
          const epoch = await survivor.ownership.holdRole(ROLE);
          expect(epoch).toBeDefined();
          expect(await db.transaction((tx) => survivor.ownership.holdsRole(tx, ROLE, epoch!))).toBe(true);
        }),
        { numRuns: 100 },
      );
      expect(seen.accepted).toBeGreaterThan(0);
      expect(seen.takenOver).toBeGreaterThan(0);
      expect(seen.refusedStale).toBeGreaterThan(0);
      expect(seen.sent).toBeGreaterThan(0);
      expect(seen.refusedSend).toBeGreaterThan(0);
    });

    it('gives the settler role to one live gateway; a stalled settler is replaced and its fence refuses', async () => {
      const w = await world(6_000_000_000_000);
      const [a, first] = w.gateways as [Gateway, Gateway];
      expect(await a.ownership.holdRole(ROLE)).toBe(1);
      expect(await first.ownership.holdRole(ROLE)).toBeUndefined(); // a is alive
      expect(await a.ownership.holdRole(ROLE)).toBe(1); // kept, same epoch
      // a stalls past its lease; a gateway started since takes the role.
      w.clock.t += TTL + 1;
      const b = await w.gateway();
      expect(await b.ownership.holdRole(ROLE)).toBe(2);
      expect(await db.transaction((tx) => a.ownership.holdsRole(tx, ROLE, 1))).toBe(false);
      expect(await db.transaction((tx) => b.ownership.holdsRole(tx, ROLE, 2))).toBe(true);
      // A clean stop hands the role over at once.
      const c = await w.gateway();
      expect(await c.ownership.holdRole(ROLE)).toBeUndefined();
      await b.ownership.release();
      expect(await c.ownership.holdRole(ROLE)).toBe(3);
    });

    it('records a chain transaction only under the settler fence, and one live transaction per purpose', async () => {
      const w = await world(7_000_000_000_000);
      const [a, b] = w.gateways as [Gateway, Gateway];
      const epoch = (await a.ownership.holdRole(ROLE))!;
      const tx = (hash: string) => ({
        hash,
        kind: 'postBatch',
        ref: `batch-${w.clock.t}`,
        sender: '0x00000000000000000000000000000000000000aa',
        nonce: 7,
        raw: '0x01',
        status: 'sent' as const,
        createdAt: w.clock.t,
        block: null,
      });
      const bFence = (t: Parameters<JobOwnership['holdsRole']>[0]) => b.ownership.holdsRole(t, ROLE, 1);
      await expect(store.ledger.insertChainTx(tx(`0xb${w.clock.t}`), bFence)).rejects.toBeInstanceOf(NotSenderError);
      const aFence = (t: Parameters<JobOwnership['holdsRole']>[0]) => a.ownership.holdsRole(t, ROLE, epoch);
      expect(await store.ledger.insertChainTx(tx(`0xa${w.clock.t}`), aFence)).toBe('recorded');
      // A second transaction for the same batch, even from the settler, is not recorded.
      expect(await store.ledger.insertChainTx(tx(`0xc${w.clock.t}`), aFence)).toBe('taken');
      expect((await store.ledger.chainTxsOf('postBatch', `batch-${w.clock.t}`)).map((t) => t.hash)).toEqual([`0xa${w.clock.t}`]);
      // Once it reverted, a new one may be recorded.
      await store.ledger.updateChainTx(`0xa${w.clock.t}`, { status: 'reverted', block: null });
      expect(await store.ledger.insertChainTx(tx(`0xc${w.clock.t}`), aFence)).toBe('recorded');
      // Two senders racing for one purpose (on the server: two connections at once): one is recorded.
      for (let i = 0; i < 20; i++) {
        w.clock.t++;
        const outcomes = await Promise.all([store.ledger.insertChainTx(tx(`0xd${w.clock.t}`)), store.ledger.insertChainTx(tx(`0xe${w.clock.t}`))]);
        expect(outcomes.sort()).toEqual(['recorded', 'taken']);
      }
    });

    it('takes a cleanly stopped gateway’s jobs at once, and a finished job never', async () => {
      const w = await world(2_000_000_000_000);
      const [a, b] = w.gateways as [Gateway, Gateway];
      await a.ownership.heartbeat();
      await b.ownership.heartbeat();
      const mine = await a.ownership.claimOrphans();
      expect(mine).toHaveLength(JOBS);
      expect(await b.ownership.claimOrphans()).toEqual([]); // a's lease is valid
      await db.query("UPDATE jobs SET status = 'completed' WHERE id = $1", [w.jobs[0]]);
      await a.ownership.release();
      const taken = await b.ownership.claimOrphans();
      expect(taken.map((t) => t.jobId).sort()).toEqual(w.jobs.slice(1).sort());
      expect(taken.every((t) => t.epoch === 2)).toBe(true);
      const stale = mine.find((m) => m.jobId === taken[0]!.jobId)!;
      await expect(a.ownership.fenced(stale, async () => {})).rejects.toBeInstanceOf(NotOwnerError);
    });

    it('writes result rows only for the jobs the writer still owns, in the same transaction', async () => {
      const w = await world(5_000_000_000_000);
      const [a] = w.gateways as [Gateway];
      const mine = await a.ownership.claimOrphans();
      expect(mine).toHaveLength(JOBS);
      const epochs = new Map(mine.map((m) => [m.jobId, m.epoch]));
      // a stalls past its lease; a gateway started since takes every job over.
      w.clock.t += TTL + 1;
      const b = await w.gateway();
      expect(await b.ownership.claimOrphans()).toHaveLength(JOBS);
      const lost = w.jobs[0]!;
      // a writes with its stale epochs: nothing of the jobs it lost is stored, and it is told which.
      const left = await store.insertTaskResults(
        w.jobs.map((id) => makeResult(id, 0)),
        (tx) => a.ownership.stillOwned(tx, epochs),
      );
      expect((left ?? []).map((r) => r.jobId).sort()).toEqual([...w.jobs].sort());
      expect(await store.getTaskResults(lost, 0, 10)).toEqual([]);
      // b, the owner, writes.
      const bEpochs = new Map(w.jobs.map((id) => [id, 2]));
      expect(await store.insertTaskResults([makeResult(lost, 0)], (tx) => b.ownership.stillOwned(tx, bEpochs))).toEqual([]);
      expect(await store.getTaskResults(lost, 0, 10)).toHaveLength(1);
    });

    it('writes a job’s final row and its known-answer receipts only while the writer owns the job', async () => {
      const w = await world(8_000_000_000_000);
      const [a] = w.gateways as [Gateway];
      const mine = await a.ownership.claimOrphans();
      const epochs = new Map(mine.map((m) => [m.jobId, m.epoch]));
      const aFence = (tx: Parameters<JobOwnership['stillOwned']>[0]) => a.ownership.stillOwned(tx, epochs);
      const job = w.jobs[0]!;
      const receipt = { payee: `0x${'ab'.repeat(20)}`, amount: 5n, fuelUsed: 10, kind: 'canary' as const };
      expect(await store.insertReceipts(job, 0, [receipt], (tx) => a.ownership.stillOwned(tx, epochs))).toBe(true);
      // a stalls past its lease and b takes every job over.
      w.clock.t += TTL + 1;
      const b = await w.gateway();
      expect(await b.ownership.claimOrphans()).toHaveLength(JOBS);
      const final = { status: 'completed' as const, counts: { queued: 0, leased: 0, done: 1, failed: 0, cancelled: 0 }, finishedAt: w.clock.t };
      expect(await store.updateJob(job, final, aFence)).toBe(false);
      expect(await store.insertReceipts(job, 1, [receipt], aFence)).toBe(false);
      expect((await store.getJob(job))?.status).toBe('running');
      expect(await store.receiptsOf(job, 1)).toEqual([]);
      const bEpochs = new Map(w.jobs.map((id) => [id, 2]));
      expect(await store.updateJob(job, final, (tx) => b.ownership.stillOwned(tx, bEpochs))).toBe(true);
      expect((await store.getJob(job))?.status).toBe('completed');
    });

    it('revises a task (row, receipts, the job’s revisions) only while the writer owns the job', async () => {
      const w = await world(10_000_000_000_000);
      const [a] = w.gateways as [Gateway];
      const epochs = new Map((await a.ownership.claimOrphans()).map((m) => [m.jobId, m.epoch]));
      const aFence = (tx: Parameters<JobOwnership['stillOwned']>[0]) => a.ownership.stillOwned(tx, epochs);
      const job = w.jobs[0]!;
      const liar = `0x${'1'.repeat(40)}`;
      await store.insertTaskResults([makeResult(job, 0, { node: liar, receipts: [{ payee: liar, amount: 70n, fuelUsed: 1, kind: 'result' }] })]);
      const revisions = { revised: 1, refunded: '70', tasks: [] };
      // a stalls past its lease and b takes every job over: a's revision writes nothing.
      w.clock.t += TTL + 1;
      const b = await w.gateway();
      expect(await b.ownership.claimOrphans()).toHaveLength(JOBS);
      const honest = `0x${'2'.repeat(40)}`;
      const row = makeResult(job, 0, { node: honest, receipts: [{ payee: honest, amount: 70n, fuelUsed: 1, kind: 'result' }] });
      expect(await store.reviseTaskResult({ jobId: job, index: 0, row, withdraw: liar }, aFence)).toBeUndefined();
      expect(await store.setJobRevisions(job, revisions, undefined, aFence)).toBe(false);
      expect((await store.receiptsOf(job, 0)).map((r) => r.payee)).toEqual([liar]);
      // Its owner's revision is written.
      const bEpochs = new Map(w.jobs.map((id) => [id, 2]));
      const bFence = (tx: Parameters<JobOwnership['stillOwned']>[0]) => b.ownership.stillOwned(tx, bEpochs);
      expect(await store.reviseTaskResult({ jobId: job, index: 0, row, withdraw: liar }, bFence)).toEqual({ withdrawn: 70n });
      expect(await store.setJobRevisions(job, revisions, undefined, bFence)).toBe(true);
      expect((await store.receiptsOf(job, 0)).map((r) => r.payee)).toEqual([honest]);
    });

    it('leaves orphaned jobs to a gateway that has nodes to run them (ClusterMember canRun)', async () => {
      await world(9_000_000_000_000); // fresh jobs with no owner row: orphans
      const adopted: Record<string, string[]> = { idle: [], busy: [] };
      const member = (name: 'idle' | 'busy', canRun: boolean) =>
        new ClusterMember({
          db,
          log: pino({ level: 'silent' }),
          ttlMs: 60_000,
          adopt: async (o) => void adopted[name]!.push(o.jobId),
          lost() {},
          canRun: () => canRun,
        });
      const idle = member('idle', false);
      const busy = member('busy', true);
      await idle.start();
      await busy.start();
      expect(adopted.idle).toEqual([]);
      expect(adopted.busy).toHaveLength(JOBS);
      await idle.stop();
      await busy.stop();
    });

    it('a beat writes the gateway’s load and reads the live peers’; a notifying beat wakes listeners; a job’s end is announced', async () => {
      const w = await world(9_000_000_000_000);
      const [a, b] = w.gateways as [Gateway, Gateway];
      const heard: string[] = [];
      const stop = await db.listen(
        CLUSTER_CHANNEL,
        (p) => heard.push(p),
        () => {},
      );
      try {
        expect((await a.ownership.beat({ url: 'http://a', queued: 7, slots: 0 })).alive).toBe(true);
        const seen = await b.ownership.beat({ url: 'http://b', queued: 0, slots: 4 }, true);
        expect(seen).toEqual({ alive: true, peers: expect.arrayContaining([{ id: a.ownership.incarnation, url: 'http://a', queued: 7, slots: 0 }]) });
        expect(seen.peers.map((p) => p.id)).not.toContain(b.ownership.incarnation);
        // A peer whose lease ran out is not listed; a gateway whose own lease ran out is told so.
        w.clock.t += TTL + 1;
        expect(await b.ownership.beat()).toEqual({ alive: false, peers: [] });
        // The job trigger: a job that ends is announced once, one that stays unfinished is not.
        await store.updateJob(w.jobs[0]!, { status: 'running', counts: { queued: 1, leased: 0, done: 0, failed: 0, cancelled: 0 }, finishedAt: null });
        await store.updateJob(w.jobs[1]!, { status: 'failed', counts: { queued: 0, leased: 0, done: 0, failed: 1, cancelled: 0 }, finishedAt: w.clock.t });
        const want = [`wake:${b.ownership.incarnation}`, `final:${w.jobs[1]}`];
        for (let i = 0; i < 100 && heard.length < want.length; i++) await new Promise((r) => setTimeout(r, 20));
        expect(heard).toEqual(want);
      } finally {
        await stop();
      }
    });

    it('lets gateways join only with the cluster’s account and chain while another is live; never two on the embedded chain', async () => {
      const w = await world(11_000_000_000_000);
      await db.query('DELETE FROM cluster_identity');
      w.clock.t += TTL + 1; // the world's own gateways are gone
      const at = () => new JobOwnership(db, { ttlMs: TTL, now: () => w.clock.t });
      const X = { gateway: '0xaa', chain: '31337:0xescrow' };
      expect(await at().join(X)).toEqual({});
      expect(await at().join(X)).toEqual({}); // the same: welcome
      expect(await at().join({ ...X, gateway: '0xbb' })).toEqual({ refused: { ...X, live: 2 } });
      expect(await at().join({ ...X, chain: '1:0xother' })).toEqual({ refused: { ...X, live: 2 } });
      expect(await at().join({ ...X, chain: 'embedded' })).toEqual({ refused: { ...X, live: 2 } });
      // Once no gateway of the cluster is live, a newcomer's identity becomes the cluster's.
      w.clock.t += TTL + 1;
      const E = { gateway: '0xbb', chain: 'embedded' };
      expect(await at().join(E)).toEqual({});
      expect(await at().join(E)).toEqual({ refused: { ...E, live: 1 } }); // each would have its own chain
      expect(await at().join(X)).toEqual({ refused: { ...E, live: 1 } });
    });

    it('refuses to start a gateway that signs as another account than the live cluster, saying what to copy', async () => {
      await db.query('DELETE FROM cluster_identity');
      const member = (gateway: string) =>
        new ClusterMember({ db, log: pino({ level: 'silent' }), ttlMs: 1000, identity: { gateway, chain: 'off' }, adopt: async () => {}, lost() {} });
      const a = member('0xaa');
      await a.start();
      try {
        await expect(member('0xbb').start()).rejects.toMatchObject({ code: 'CLUSTER_MISMATCH', message: expect.stringContaining('copy <data-dir>/gateway/') });
      } finally {
        await a.stop();
      }
    });

    it('gives a job stored by two gateways (the same signed job sent to both) to the first only', async () => {
      const w = await world(3_000_000_000_000);
      const [a, b] = w.gateways as [Gateway, Gateway];
      const job = makeJob();
      await store.insertJob(job);
      expect(await a.ownership.claimNew(job.id)).toEqual({ jobId: job.id, epoch: 1 });
      expect(await b.ownership.claimNew(job.id)).toBeUndefined();
    });

    it('a gateway without a valid lease claims nothing', async () => {
      const w = await world(4_000_000_000_000);
      const a = new JobOwnership(db, { ttlMs: TTL, now: () => w.clock.t });
      expect(await a.claimOrphans()).toEqual([]); // never heartbeated
      await a.heartbeat();
      w.clock.t += TTL;
      expect(await a.claimOrphans()).toEqual([]); // expired
      expect(await a.heartbeat()).toBe(false); // and it stays expired
    });
  });
}

it('migrates (the ownership tables exist on a fresh database)', async () => {
  const db = await createPGliteExecutor();
  await migrate(db);
  const rows = await db.query<{ table_name: string }>(
    "SELECT table_name FROM information_schema.tables WHERE table_name IN ('gateway_leases', 'job_owners', 'cluster_roles') ORDER BY table_name",
  );
  expect(rows.map((r) => r.table_name)).toEqual(['cluster_roles', 'gateway_leases', 'job_owners']);
  await db.close();
});
