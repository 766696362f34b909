/**
 * Long because re-verification spans running jobs, final jobs (reloaded) and settlement holds,
 * which must stay consistent with one another in one place.
 *
 * No wrong result survives its liar: results taken on one node's word alone are re-verified when
 * that node is proven wrong, and a job is not final while such results in it are unaudited.
 *
 * What happens, in order (verify/loneResults.ts keeps the book, trust/loneTracker.ts the store):
 * 1. A `target(ε)` task accepted from one node without a second agreeing vote is remembered
 *    against that node, with its row; its receipt is not settled while it is remembered.
 * 2. When the node passes a check of a later answer (an agreeing replica, a known-answer task),
 *    its results up to that answer are audited: forgotten, their receipts settle as usual.
 * 3. When the node is proven wrong first, each of its remembered results is decided again
 *    (`JobVerification.reopen`, reason `caught`): the task goes back to "leased", replicas go to
 *    other nodes through the usual replica queue, and the policy decides with the node's vote at
 *    the credibility it has now. A result found wrong is replaced by the verified answer (the
 *    row rewritten with `revision`, the liar's receipt withdrawn before it was ever settled, the
 *    nodes that re-verified it paid), and the job's view lists the revised task; one confirmed
 *    stands (and its receipt settles).
 * 4. A job whose tasks are all decided waits, before it is final, for its remembered results: each
 *    node with one is audited once — its newest result in the job is re-run on another node
 *    (reason `audit`: one more node must agree). Passing clears them all; failing is step 3. It
 *    waits at most `auditWaitMs`, and not for a node nobody else online could check.
 * 5. A result still remembered when its job became final (the wait ran out, the job was
 *    cancelled, no other node was online) is revised after the fact the same way: the final job
 *    is reopened for the scheduler without becoming active again, and its stored view, counts and
 *    totals are rewritten when the re-verification ends. Its escrow is still open (step 1), so
 *    the withdrawn receipt is refunded with it.
 * A node's remembered results are bounded: at `maxPerNode`, or when the oldest is `maxAgeMs`
 * old, the node is audited at once (`tick`). A re-verification without an answer after
 * `maxRevisionMs` gives up: a caught node's result is then withdrawn (the task fails with
 * VERIFICATION_FAILED: it rested on a proven liar alone); an audit's result stands.
 *
 * `none` jobs never reach this code: their results are not remembered (the throughput path).
 */
import type { Logger } from 'pino';
import { VerificationFailedError, type SessionProof } from '@lode/protocol';
import type { Clock } from '../clock.js';
import type { JobScheduler } from './leases.js';
import type { ResultFence, Store, TaskReceipt, TaskResultRow, TaskRevisionWrite, TaskRevisionRecord } from '../store/types.js';
import { retryDelayMs } from '../store/retry.js';
import type { TrustService } from '../trust/trustService.js';
import type { LoneListener } from '../trust/loneTracker.js';
import type { VoteOutcomeDecision } from '../verify/jobVerification.js';
import type { Reopening } from '../verify/replicaSet.js';
import { taskKey, type LoneResult } from '../verify/loneResults.js';
import type { ReplicaLease } from '../verify/replicaSet.js';
import type { TrustConfig } from '../verify/trustConfig.js';
import type { Vote } from '../verify/types.js';
import { parseVoteKey } from '../verify/vote.js';
import { ActiveJob, TaskState, isTerminal } from './activeJob.js';

/** What the job manager lends: its private result types stay opaque here (`H`, a held answer). */
export interface RevisionHost<H> {
  store: Store;
  /** In a cluster: the writes of a job this gateway no longer owns are refused (cluster/member.ts). */
  fence?: ResultFence;
  log: Logger;
  clock: Clock;
  trust: TrustService;
  config: Pick<TrustConfig, 'auditWaitMs' | 'maxRevisionMs' | 'maxParkMs'>;
  scheduler(): JobScheduler;
  /** The job, while it is running on this gateway. */
  active(jobId: string): ActiveJob | undefined;
  /** When and how a held answer arrived. */
  facts(h: H): { seq: number; receivedAt: number; leaseId: string; session: SessionProof | null };
  /** What the execution behind a held answer earns (capped by the job's escrow). */
  receipt(job: ActiveJob, h: H, kind: TaskReceipt['kind']): TaskReceipt;
  /** The result row of a held answer. */
  row(job: ActiveJob, h: H, receipts: TaskReceipt[]): TaskResultRow;
  /** A failed row without output. */
  failedRow(job: ActiveJob, index: number, error: { code: string; message: string }, receipts: TaskReceipt[]): TaskResultRow;
  cancel(leases: ReplicaLease[]): void;
  /** Applies a verifier decision (a reopened final job's parked task decided again). */
  decide(job: ActiveJob, index: number, d: VoteOutcomeDecision<unknown>): void;
  touch(job: ActiveJob): void;
  maybeFinish(job: ActiveJob): void;
  /** Accounts of the connected nodes. */
  online(): Iterable<string>;
}

/** The payload of a reopened task's original vote: the entry it was remembered by. */
interface Original {
  readonly original: LoneResult;
}

type Decided<H> = Extract<VoteOutcomeDecision<H>, { kind: 'accept' | 'fail' }>;

/** A final job reopened for re-verification (never active again: the scheduler serves it, the manager never finishes it). */
interface Reopened {
  job: ActiveJob | undefined;
  pending: Array<{ r: LoneResult; reason: 'caught' | 'audit' }>;
}

export class Revisions<H> implements LoneListener {
  private readonly reopened = new Map<string, Reopened>();
  /** Tasks decided again now, and since when. */
  private readonly open = new Map<string, { job: ActiveJob; index: number; at: number }>();
  /** Nodes being audited now (one audit per node at a time), by the task audited. */
  private readonly auditing = new Map<string, string>();
  /** Running jobs whose tasks are decided, waiting for audits. */
  private readonly waiting = new Set<ActiveJob>();
  /** Per job, the last write of its revisions (kept in order). */
  private readonly saving = new Map<string, Promise<void>>();
  private stopped = false;

  constructor(private readonly h: RevisionHost<H>) {}

  /** Listens to the trust service (entries caught before a restart are re-verified now). */
  start(): void {
    this.h.trust.lone.listen(this);
  }

  stop(): void {
    this.stopped = true;
  }

  /** Final jobs reopened now (for views and tests). */
  get reopenedJobs(): number {
    return this.reopened.size;
  }

  // ---------------------------------------------------------------- results taken alone

  /**
   * A result was accepted on one node's word alone: remember it with its row (`row.lone` is
   * written in the row's transaction). Audits the node at once when it holds too many.
   */
  lone(job: ActiveJob, index: number, winner: Vote<H>, row: TaskResultRow): void {
    const f = this.h.facts(winner.payload);
    const r: LoneResult = {
      jobId: job.id,
      index,
      node: winner.node,
      key: winner.key,
      seq: f.seq,
      receivedAt: f.receivedAt,
      leaseId: f.leaseId,
      session: f.session,
    };
    row.lone = r;
    job.unaudited ??= () => this.h.trust.lone.book.countOf(job.id);
    // At the cap: audit the node through this result once it has ended (the caller ends it next).
    if (this.h.trust.lone.add(r)) setImmediate(() => this.audit(winner.node));
  }

  /** The row carrying `row.lone` committed. */
  stored(row: TaskResultRow): void {
    if (row.lone) this.h.trust.lone.stored(row.lone);
  }

  /** LoneListener: these results' nodes passed a check — jobs waiting for them may finish. */
  audited(results: LoneResult[]): void {
    const jobs = new Set<string>(results.map((r) => r.jobId));
    for (const job of this.waiting) if (jobs.has(job.id)) this.h.maybeFinish(job);
  }

  /** LoneListener: `node` was proven wrong — every result it gave alone is decided again. */
  caught(node: string, results: LoneResult[]): void {
    this.h.log.warn(
      { node, results: results.length, jobs: new Set(results.map((r) => r.jobId)).size },
      'node proven wrong: re-verifying every result it gave alone since its last passed check',
    );
    for (const r of results) this.reopenEntry(r, 'caught');
  }

  // ---------------------------------------------------------------- finishing

  /**
   * Whether a job whose rows are all committed may be final now: no task decided again, and no
   * result in it resting on one node alone unaudited — those nodes are audited first (each once),
   * for at most `auditWaitMs`. A cancelled job, one past its deadline, and results whose node no
   * other online node could check do not wait (they are revised after the fact if need be).
   */
  mayFinish(job: ActiveJob): boolean {
    if (job.verification.policy.trivial) return true;
    const now = this.h.clock.now();
    // The wait ran out with an audit still out (no node took it): it stops, its result stands.
    if (job.auditsFrom !== undefined && now - job.auditsFrom >= this.h.config.auditWaitMs && this.stopAudits(job)) return false;
    if (job.counts.leased > 0 || job.counts.queued > 0) return false; // decided again now
    const book = this.h.trust.lone.book;
    if (book.countOf(job.id) === 0) return this.done(job);
    job.unaudited ??= () => book.countOf(job.id);
    if (job.status === 'cancelled' || job.record.deadline <= now) return this.done(job);
    if (job.auditsFrom === undefined) {
      job.auditsFrom = now;
      setTimeout(() => this.h.maybeFinish(job), this.h.config.auditWaitMs + 10).unref();
    } else if (now - job.auditsFrom >= this.h.config.auditWaitMs) {
      this.h.log.warn(
        { jobId: job.id, unaudited: book.countOf(job.id) },
        "job final with results taken on one node's word alone still unaudited; they are re-verified if their node is proven wrong",
      );
      return this.done(job);
    }
    const online = [...this.h.online()];
    let auditing = false;
    for (const node of new Set(book.ofJob(job.id).map((r) => r.node))) {
      if (!online.some((a) => a !== node)) continue; // nobody else could check it now
      auditing = true;
      this.audit(node, job.id);
    }
    if (!auditing) return this.done(job);
    this.waiting.add(job);
    this.h.touch(job);
    return false;
  }

  private done(job: ActiveJob): boolean {
    this.waiting.delete(job);
    return true;
  }

  /** Ends the audits still out in `job` without a verdict; true if there were any. */
  private stopAudits(job: ActiveJob): boolean {
    let stopped = false;
    for (const { job: j, index } of [...this.open.values()]) {
      if (j !== job || job.verification.reopenedOf(index)?.reason !== 'audit') continue;
      stopped = true;
      this.ended(job, index, `no node took the audit within ${Math.round(this.h.config.auditWaitMs / 1000)} s`);
    }
    return stopped;
  }

  // ---------------------------------------------------------------- reopening

  /** Audits `node` through its newest remembered result (of `jobId`, when given). */
  private audit(node: string, jobId?: string): void {
    if (this.auditing.has(node)) return;
    const r = this.h.trust.lone.book.latest(node, jobId);
    if (!r) return;
    this.auditing.set(node, taskKey(r.jobId, r.index));
    this.reopenEntry(r, 'audit');
  }

  private reopenEntry(r: LoneResult, reason: 'caught' | 'audit'): void {
    const job = this.h.active(r.jobId);
    if (job && !job.finishing) {
      this.reopenIn(job, r, reason);
      return;
    }
    // Finishing now (its final write in flight): reopen it as a final job once that is done.
    if (job)
      job.finished
        .then(() => this.reopenFinal(r.jobId, r, reason))
        .catch((err: unknown) => this.h.log.error({ err, jobId: r.jobId }, 'could not reopen a job to re-verify a result'));
    else this.reopenFinal(r.jobId, r, reason);
  }

  /** Decides the entry's task again in `job` (running, or a reopened final job). */
  private reopenIn(job: ActiveJob, r: LoneResult, reason: 'caught' | 'audit'): void {
    const original: Vote<Original> = { node: r.node, key: r.key, credibility: 0, newcomer: false, kind: 'replica', payload: { original: r } };
    const state = job.state[r.index];
    const n = state !== undefined && isTerminal(state) ? job.verification.reopen(r.index, { reason, original: original as Vote<unknown> }) : -1;
    if (n < 0) {
      // In verification already (an audit of it, upgraded to `caught` by `reopen`), or not decided.
      if (reason === 'audit' && this.auditing.get(r.node) === taskKey(r.jobId, r.index) && !job.verification.reopenedOf(r.index)) this.auditing.delete(r.node);
      return;
    }
    job.setState(r.index, TaskState.Leased);
    this.open.set(taskKey(job.id, r.index), { job, index: r.index, at: this.h.clock.now() });
    job.addReplicas(r.index, n);
    this.h.scheduler().addJob(job);
    this.h.touch(job);
  }

  /** Reopens a final job (loaded from the store) to decide one of its tasks again. */
  private reopenFinal(jobId: string, r: LoneResult, reason: 'caught' | 'audit'): void {
    const known = this.reopened.get(jobId);
    if (known?.job) return this.reopenIn(known.job, r, reason);
    if (known) {
      known.pending.push({ r, reason });
      return;
    }
    const entry: Reopened = { job: undefined, pending: [{ r, reason }] };
    this.reopened.set(jobId, entry);
    const load = (attempt: number): void => {
      this.loadFinal(jobId)
        .then(
          (job) => {
            if (!job) {
              this.reopened.delete(jobId);
              for (const p of entry.pending) this.forgetAudit(p.r);
              this.h.log.warn({ jobId, results: entry.pending.length }, 'cannot re-verify results of a job that is not final in the store; skipped');
              return;
            }
            entry.job = job;
            for (const p of entry.pending.splice(0)) this.reopenIn(job, p.r, p.reason);
            if (job.counts.leased === 0) this.reopened.delete(jobId);
            else this.h.log.warn({ jobId, tasks: job.counts.leased }, 'final job reopened: re-verifying results that rested on one node alone');
          },
          (err: unknown) => {
            if (this.stopped) return;
            this.h.log.error({ err, jobId }, 'could not load a final job to re-verify its results; will retry');
            setTimeout(() => load(attempt + 1), retryDelayMs(attempt)).unref();
          },
        )
        .catch((err: unknown) => this.h.log.error({ err, jobId }, 'reopening a final job failed'));
    };
    load(0);
  }

  /** A final job as the scheduler needs it: every task in its stored state; undefined if it is not final. */
  private async loadFinal(jobId: string): Promise<ActiveJob | undefined> {
    const record = await this.h.store.getJob(jobId);
    if (!record || record.finishedAt === null || this.h.active(jobId)) return undefined;
    const job = new ActiveJob(record, this.h.trust.verificationFor(record.spec));
    const finished = await this.h.store.finishedTasks(jobId);
    job.restoreFinished(finished);
    job.finishing = true; // the job manager never finishes it again
    job.record.finishedAt = record.finishedAt;
    if (record.revisions) {
      job.revisions.revised = record.revisions.revised;
      job.revisions.refunded = BigInt(record.revisions.refunded);
      job.revisions.tasks.push(...record.revisions.tasks);
    }
    return job;
  }

  private forgetAudit(r: LoneResult): void {
    if (this.auditing.get(r.node) === taskKey(r.jobId, r.index)) this.auditing.delete(r.node);
  }

  // ---------------------------------------------------------------- decisions

  /** Whether the task is being decided again (its end comes through `decided`). */
  isReopened(job: ActiveJob, index: number): boolean {
    return job.verification.reopenedOf(index) !== undefined;
  }

  /** A reopened task's job ended (cancelled, deadline), or its replicas kept ending without a vote: its re-verification stops without an answer. */
  ended(job: ActiveJob, index: number, why: string): void {
    const gone = job.verification.abandon(index);
    if (gone?.reopened)
      this.decided(job, index, { kind: 'fail', votes: gone.votes as Vote<H>[], cancel: gone.cancel, reason: why, reopened: gone.reopened as Reopening<H> });
  }

  /**
   * The verifier decided a reopened task. The original answer stands if it is the accepted one;
   * otherwise its node is proven wrong (evidence, strike, slash) and the row is replaced by the
   * accepted answer, the node's receipt withdrawn. Without an answer, a caught node's result is
   * withdrawn (the task fails) and an audited node's result stands.
   */
  decided(job: ActiveJob, index: number, d: Decided<H>): void {
    const reopened = d.reopened!;
    const originalVote = reopened.original as unknown as Vote<H>;
    const r = (reopened.original.payload as Original).original;
    this.h.cancel(d.cancel);
    this.open.delete(taskKey(job.id, index));
    this.forgetAudit(r);
    const fresh = (vs: Vote<H>[]) => vs.filter((v) => v !== originalVote);
    const stateOf = (key: string) => (parseVoteKey(key).status === 'ok' ? TaskState.Done : TaskState.Failed);

    if (d.kind === 'accept') {
      const agreeing = d.agreeing.map((v) => v.node);
      if (d.agreeing.length >= 2)
        this.h.trust.validated(d.agreeing.map((v) => ({ node: v.node, seq: v === originalVote ? r.seq : this.h.facts(v.payload).seq })));
      for (const v of fresh(d.wrong)) this.offence(job.id, index, d.winner.key, agreeing, v.node, v.key, this.h.facts(v.payload));
      if (d.winner.key === r.key) {
        // The result stands; those who re-verified it are paid.
        job.setState(index, stateOf(r.key));
        const receipts = fresh(d.agreeing).map((v) => this.h.receipt(job, v.payload, 'replica'));
        this.write(job, { jobId: job.id, index, receipts }, () => job.addUsage(0, sum(receipts)));
        return;
      }
      // The accepted result was wrong.
      this.offence(job.id, index, d.winner.key, agreeing, r.node, r.key, {
        leaseId: r.leaseId,
        receivedAt: r.receivedAt,
        session: r.session as SessionProof | null,
      });
      const receipts = fresh(d.agreeing).map((v) => this.h.receipt(job, v.payload, v === d.winner ? 'result' : 'replica'));
      const row = this.h.row(job, d.winner.payload, receipts);
      row.revision = this.revisionOf(
        r,
        reopened.reason === 'caught'
          ? `node ${r.node} was proven wrong later; ${d.agreeing.length} node(s) re-verified this task and agreed on another answer`
          : `node ${r.node} was audited through this task and proven wrong; ${d.agreeing.length} node(s) agreed on another answer`,
      );
      return this.replace(job, index, r, row);
    }

    const receipts = fresh(d.votes).map((v) => this.h.receipt(job, v.payload, 'unverified'));
    if (reopened.reason === 'audit') {
      // An audit without a verdict: the result stands and stays remembered (its node is not cleared).
      job.setState(index, stateOf(r.key));
      this.write(job, { jobId: job.id, index, receipts, keepLone: true }, () => job.addUsage(0, sum(receipts)));
      return;
    }
    // It rested on a proven liar's word alone and could not be re-verified: withdrawn.
    const err = new VerificationFailedError(
      `Task ${index}: its result rested on node ${r.node} alone, which was later proven wrong, and it could not be re-verified (${d.reason}).`,
    );
    const row = this.h.failedRow(job, index, { code: err.code, message: err.shortMessage }, receipts);
    row.revision = this.revisionOf(r, `node ${r.node} was proven wrong later and no other answer could be verified (${d.reason}); the result was withdrawn`);
    job.verification.stats.failed++;
    this.replace(job, index, r, row);
  }

  private revisionOf(r: LoneResult, reason: string): TaskRevisionRecord {
    return { at: this.h.clock.now(), reason, previousNode: r.node, previousResultHash: parseVoteKey(r.key).resultHash || null, refunded: '0' };
  }

  /** Replaces a reopened task's row; the replaced node's receipt is withdrawn (refunded with the escrow). */
  private replace(job: ActiveJob, index: number, r: LoneResult, row: TaskResultRow): void {
    job.setState(index, row.status === 'done' ? TaskState.Done : TaskState.Failed);
    if (row.error) job.errors.set(index, row.error);
    else job.errors.delete(index);
    job.nodeOf.set(index, row.node ?? '');
    const oldFuel = parseVoteKey(r.key).fuelUsed ?? 0;
    this.write(job, { jobId: job.id, index, row, withdraw: r.node }, (withdrawn) => {
      job.uncharge(withdrawn);
      job.addUsage((row.fuelUsed ?? 0) - oldFuel, sum(row.receipts ?? []) - withdrawn);
      job.recordRevision(index, { ...row.revision!, refunded: withdrawn.toString() });
      this.stored(row);
      this.h.log.warn({ jobId: job.id, index, node: r.node, refunded: withdrawn.toString() }, 'result revised: its node was proven wrong');
      this.saveRevisions(job);
    });
  }

  private offence(
    jobId: string,
    index: number,
    agreedKey: string,
    agreeing: string[],
    node: string,
    key: string,
    f: { leaseId: string; receivedAt: number; session: SessionProof | null },
  ): void {
    this.h.trust
      .provenWrong({ kind: 'quorum', jobId, index, agreedKey, agreeing, node, leaseId: f.leaseId, key, receivedAt: f.receivedAt, session: f.session })
      .catch((err: unknown) => this.h.log.error({ err, node, jobId, index }, 'could not record evidence'));
  }

  /**
   * Writes a re-verification (retried with backoff until the store takes it: the first row may
   * still be in flight); the job finishes (or a reopened final job closes) after it.
   */
  private write(job: ActiveJob, w: TaskRevisionWrite, applied: (withdrawn: bigint) => void, attempt = 0): void {
    if (attempt === 0) job.pendingWrites++;
    this.h.store
      .reviseTaskResult(w, this.h.fence)
      .then(
        (written) => {
          if (!written) {
            // Another gateway of the cluster owns the job now (this one's lease lapsed): it decides.
            job.pendingWrites--;
            this.h.log.warn({ jobId: w.jobId, index: w.index }, 're-verified result not written: another gateway owns the job now');
            return;
          }
          applied(written.withdrawn);
          job.pendingWrites--;
          this.h.touch(job);
          this.settled(job);
        },
        (err: unknown) => {
          if (this.stopped) return;
          const delay = retryDelayMs(attempt);
          this.h.log.error({ err, jobId: w.jobId, index: w.index, retryInMs: delay }, 'could not write a re-verified result; will retry');
          setTimeout(() => this.write(job, w, applied, attempt + 1), delay).unref();
        },
      )
      .catch((err: unknown) => this.h.log.error({ err, jobId: w.jobId, index: w.index }, 'applying a re-verified result failed'));
  }

  /** After a re-verification is written: the job may finish, or a reopened final job close. */
  private settled(job: ActiveJob): void {
    for (const w of [...this.waiting]) if (w !== job) this.h.maybeFinish(w); // an audit elsewhere may have cleared their results
    const reopened = this.reopened.get(job.id);
    if (reopened?.job !== job) return this.h.maybeFinish(job);
    if (job.counts.leased > 0 || job.pendingWrites > 0) return;
    this.reopened.delete(job.id);
    this.h.scheduler().removeJob(job);
    const record = job.record;
    const before = record.verificationStats;
    const s = job.verification.stats;
    const stats = {
      ...(before ?? { accepted: 0, executions: 0, canaries: 0, spotChecks: 0, speculative: 0, wrong: 0, failed: 0 }),
      executions: (before?.executions ?? 0) + s.executions,
      wrong: (before?.wrong ?? 0) + s.wrong,
      failed: (before?.failed ?? 0) + s.failed,
      reverified: (before?.reverified ?? 0) + s.reverified,
      revised: (before?.revised ?? 0) + s.revised,
    };
    const final = { status: job.finalStatus(), counts: { ...job.counts }, verificationStats: stats };
    this.chain(job.id, () => this.h.store.setJobRevisions(job.id, job.revisionsRecord(), final, this.h.fence));
    this.h.log.warn({ jobId: job.id, revised: job.revisions.revised, refunded: job.revisions.refunded.toString() }, 'final job re-verified');
  }

  /** Records a running job's revisions (in order; retried). */
  private saveRevisions(job: ActiveJob): void {
    if (this.reopened.get(job.id)?.job === job) return; // written whole when the reopened job closes
    this.chain(job.id, () => this.h.store.setJobRevisions(job.id, job.revisionsRecord(), undefined, this.h.fence));
  }

  private chain(jobId: string, write: () => Promise<boolean>): void {
    const attempt = async (): Promise<void> => {
      for (let i = 0; ; i++) {
        try {
          if (!(await write())) this.h.log.warn({ jobId }, "a job's revised tasks not written: another gateway owns the job now");
          return;
        } catch (err) {
          if (this.stopped) return;
          this.h.log.error({ err, jobId }, "could not record a job's revised tasks; will retry");
          await new Promise((res) => setTimeout(res, retryDelayMs(i)).unref());
        }
      }
    };
    const next = (this.saving.get(jobId) ?? Promise.resolve()).then(attempt);
    this.saving.set(jobId, next);
    next
      .finally(() => {
        if (this.saving.get(jobId) === next) this.saving.delete(jobId);
      })
      .catch((err: unknown) => this.h.log.error({ err, jobId }, "recording a job's revised tasks failed"));
  }

  // ---------------------------------------------------------------- every second

  /**
   * Audits nodes whose remembered results grew too many or too old; decides parked tasks of
   * reopened final jobs again; gives up re-verifications older than `maxRevisionMs`.
   */
  tick(): void {
    const now = this.h.clock.now();
    const book = this.h.trust.lone.book;
    if (book.size > 0) for (const node of book.due(now)) this.audit(node);
    for (const { job } of this.reopened.values()) {
      if (!job || job.verification.parkedCount === 0) continue;
      for (const { index, decision } of job.verification.reconsider(this.h.config.maxParkMs)) this.h.decide(job, index, decision);
    }
    for (const { job, index, at } of [...this.open.values()]) {
      if (now - at < this.h.config.maxRevisionMs) continue;
      this.ended(job, index, `no answer within ${Math.round(this.h.config.maxRevisionMs / 60_000)} minutes`);
    }
  }
}

const sum = (receipts: TaskReceipt[]) => receipts.reduce((n, x) => n + x.amount, 0n);
