/**
 * The one place where task outcomes are applied: a plan (jobs/decide.ts) or a verifier's decision
 * (jobs/verifiedTasks.ts) becomes task state, a result row written by group commit with its
 * receipts, acknowledgements to nodes, and — once every row is committed — the job's end.
 *
 * Guarantees:
 * - Each task ends exactly once (done, failed or cancelled) and gets exactly one result row; a
 *   second end of a task is refused and logged.
 * - A node is acknowledged only after the row its answer ended is committed, so an acknowledged
 *   result is never lost.
 * - A row the database cannot reach is written again with backoff until it is; a row the database
 *   refuses makes its task fail with RESULT_UNSTORABLE (its receipts kept), so one bad result
 *   never holds up any other.
 * - A job is announced finished once every task's row (and every other write of it) is
 *   committed; its job row follows.
 */
import { ResultUnstorableError, taskCharge, type TaskOutcome } from '@lode/protocol';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { GatewayMetrics } from '../metrics.js';
import type { JobScheduler, JobLease, JobSession } from './leases.js';
import { StoreRowRejectedError } from '../store/errors.js';
import { GroupCommitter } from '../store/groupCommit.js';
import { retryDelayMs } from '../store/retry.js';
import type { ResultFence, Store, TaskReceipt, TaskResultRow } from '../store/types.js';
import type { TrustService } from '../trust/trustService.js';
import type { ReplicaLease } from '../verify/replicaSet.js';
import { type ActiveJob, TaskState, isTerminal } from './activeJob.js';
import type { Output, Refusal, TaskPlan } from './decide.js';
import type { JobEvents } from './events.js';
import type { JobTable } from './table.js';
import type { JobViews } from './views.js';

/** An answer with where it came from, held until its task is decided. */
export interface HeldResult extends Output {
  lease: JobLease;
  outcome: TaskOutcome;
  receivedAt: number;
  /** Its place in the gateway's answer order (a check of it audits what its node gave alone before it). */
  seq?: number;
}

export interface SessionAcks {
  ack(session: JobSession, leaseId: string): void;
  reject(session: JobSession, leaseId: string, code: string, message: string): void;
}

/** Re-verification's say in ending tasks and jobs (jobs/revisions.ts). */
export interface AuditPort {
  /** A task decided again (its row exists): it ends through its re-verification. */
  isReopened(job: ActiveJob, index: number): boolean;
  ended(job: ActiveJob, index: number, reason: string): void;
  /** A row taken on one node's word alone was committed. */
  stored(row: TaskResultRow): void;
  /** Whether the job's results taken on one node's word alone allow it to finish now. */
  mayFinish(job: ActiveJob): boolean;
}

export interface TaskExecutorDeps {
  store: Store;
  clock: Clock;
  log: Logger;
  metrics: GatewayMetrics;
  events: JobEvents;
  table: JobTable;
  scheduler: JobScheduler;
  trust: TrustService;
  acks: SessionAcks;
  views: JobViews;
  audits: AuditPort;
  /** Group commit interval (store/groupCommit.ts). @default 0 */
  commitIntervalMs?: number;
  /** In a cluster of gateways: results are written only for jobs this gateway still owns (cluster/member.ts). */
  fence?: ResultFence;
}

const EMPTY = new Uint8Array(0);

export class TaskExecutor {
  private readonly committer: GroupCommitter<TaskResultRow>;
  private stopping = false;

  constructor(private readonly d: TaskExecutorDeps) {
    this.committer = new GroupCommitter<TaskResultRow>({
      write: async (rows) => {
        await d.store.insertTaskResults(rows, d.fence);
      },
      intervalMs: d.commitIntervalMs ?? 0,
      maxBatch: 2000,
    });
  }

  /** Writes what is pending, then refuses more. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.committer.close();
  }

  /** Applies a plan for an ordinary task's lease (`answer`: the node's, when it sent one). */
  apply(lease: JobLease, plan: TaskPlan, answer?: { outcome: TaskOutcome; receivedAt: number }): void {
    const { job, index } = lease;
    if (plan.reject) this.offence(lease, plan.reject);
    if (plan.requeue) this.requeue(job, index);
    if (plan.end) {
      const { state, error, output, paid } = plan.end;
      const row =
        output && answer
          ? this.resultRow(
              job,
              { lease, outcome: answer.outcome, ...output, receivedAt: answer.receivedAt },
              error,
              paid ? [this.receipt(job, lease, answer.outcome, 'result')] : [],
            )
          : this.emptyRow(job, index, 'failed', error);
      this.end(job, index, state, row, plan.ack === 'after-commit' ? lease : undefined);
    }
    if (plan.ack === 'now') this.d.acks.ack(lease.session, lease.leaseId);
    if (plan.reject) this.d.acks.reject(lease.session, lease.leaseId, plan.reject.code, plan.reject.message);
  }

  /** Holds a refused answer against its node (an honest node's sandbox never sends one). */
  offence(lease: JobLease, r: Refusal): void {
    this.d.trust.misbehaved(lease.session.address, r.offence, { jobId: lease.job.id, index: lease.index, ...r.meta });
  }

  /** Queues a task again (its attempts were checked by the decision). */
  requeue(job: ActiveJob, index: number): void {
    job.enqueue(index);
    this.d.metrics.tasksRetried.inc();
    this.d.scheduler.addJob(job);
    this.touch(job);
  }

  /** Gives out `count` more replicas of a task being verified. */
  addReplicas(job: ActiveJob, index: number, count: number): void {
    job.addReplicas(index, count);
    this.d.scheduler.addJob(job);
    this.touch(job);
  }

  cancelReplicas(cancel: ReplicaLease[]): void {
    if (cancel.length === 0) return;
    this.d.scheduler.cancelLeases(cancel.map((c) => c.handle as JobLease).filter(Boolean));
  }

  /**
   * What one execution earns its node (nothing on a free job), computed from the lease: the
   * node's prices capped by the job's ceilings, times fuel checked to be within the lease's
   * limit — and never more than what is left of the job's escrow.
   */
  receipt(job: ActiveJob, lease: JobLease, outcome: TaskOutcome, kind: TaskReceipt['kind']): TaskReceipt {
    const charge = job.record.escrow === 'open' ? taskCharge(job.spec, lease.session.capabilities, outcome.fuelUsed) : 0n;
    const amount = job.charge(charge);
    if (amount < charge)
      this.d.log.error(
        { jobId: job.id, index: lease.index, node: lease.session.address, charge: charge.toString(), paid: amount.toString() },
        'a receipt would exceed the job escrow; capped',
      );
    return { payee: lease.session.address, amount, fuelUsed: outcome.fuelUsed ?? null, kind };
  }

  resultRow(job: ActiveJob, r: HeldResult, error: { code: string; message: string } | null, receipts: TaskReceipt[]): TaskResultRow {
    return {
      jobId: job.id,
      index: r.lease.index,
      status: r.outcome.status === 'ok' ? 'done' : 'failed',
      exitCode: r.outcome.exitCode,
      stdout: r.stdout,
      stderr: r.stderr,
      files: r.files,
      deleted: r.outcome.deleted,
      resultHash: r.outcome.resultHash,
      node: r.lease.session.address,
      attempts: job.attempts[r.lease.index]!,
      error,
      finishedAt: r.receivedAt,
      fuelUsed: r.outcome.fuelUsed ?? null,
      receipts: receipts.filter((x) => x.amount > 0n),
    };
  }

  emptyRow(job: ActiveJob, index: number, status: TaskResultRow['status'], error: { code: string; message: string } | null): TaskResultRow {
    return {
      jobId: job.id,
      index,
      status,
      exitCode: null,
      stdout: EMPTY,
      stderr: EMPTY,
      files: [],
      deleted: [],
      resultHash: null,
      node: job.nodeOf.get(index) ?? null,
      attempts: job.attempts[index]!,
      error,
      finishedAt: this.d.clock.now(),
    };
  }

  /** Ends a task: terminal state now, result row by group commit, ack (if from a node) after commit. */
  end(job: ActiveJob, index: number, state: TaskState, row: TaskResultRow, lease?: JobLease): void {
    // A task decided again (its row exists) ends through its re-verification, not with a second row.
    if (!job.verification.policy.trivial && this.d.audits.isReopened(job, index)) return this.d.audits.ended(job, index, row.error?.message ?? 'the job ended');
    if (isTerminal(job.state[index]!)) {
      // Ended already: counting it twice would finish the job before its other tasks.
      this.d.log.error({ jobId: job.id, index }, 'task ended twice; ignoring the second end');
      return;
    }
    job.setState(index, state);
    job.addUsage(
      row.fuelUsed ?? 0,
      (row.receipts ?? []).reduce((n, r) => n + r.amount, 0n),
    );
    if (row.error) job.errors.set(index, row.error);
    if (job.status === 'queued') job.status = 'running';
    const { metrics } = this.d;
    if (state === TaskState.Done) metrics.tasksCompleted.inc();
    else if (state === TaskState.Failed) metrics.tasksFailed.inc();
    if (lease) metrics.taskLatency.observe((this.d.clock.now() - lease.issuedAt) / 1000);
    this.touch(job);
    this.persist(row, () => {
      if (lease) this.d.acks.ack(lease.session, lease.leaseId);
      if (row.lone) this.d.audits.stored(row);
      job.committed++;
      this.maybeFinish(job);
    });
  }

  /** Ends every task of the job that has not ended (a cancel, a deadline). */
  endRemaining(job: ActiveJob, status: 'cancelled' | 'failed', error: { code: string; message: string } | null): void {
    const state = status === 'cancelled' ? TaskState.Cancelled : TaskState.Failed;
    for (let i = 0; i < job.taskCount; i++) if (!isTerminal(job.state[i]!)) this.end(job, i, state, this.emptyRow(job, i, status, error));
  }

  /** A write that is not a result row (a known-answer receipt): the job finishes after it. */
  writeReceipt(job: ActiveJob, index: number, receipt: TaskReceipt, attempt = 0): void {
    if (attempt === 0) job.pendingWrites++;
    this.d.store.insertReceipts(job.id, index, [receipt], this.d.fence).then(
      (written) => {
        // Not written: another gateway of the cluster took the job over (its lease here lapsed).
        if (written) job.addUsage(0, receipt.amount);
        else this.d.log.warn({ jobId: job.id, index }, 'known-answer receipt not written: another gateway owns the job now');
        job.pendingWrites--;
        this.maybeFinish(job);
      },
      (err: unknown) => {
        if (this.stopping) return;
        this.d.log.error({ err, jobId: job.id, index }, 'known-answer receipt write failed; will retry');
        setTimeout(() => this.writeReceipt(job, index, receipt, attempt + 1), retryDelayMs(attempt)).unref();
      },
    );
  }

  touch(job: ActiveJob): void {
    if (job.status === 'queued' && job.counts.leased > 0) job.status = 'running';
    this.d.events.touch(job.id, () => this.d.views.progress(job));
  }

  /** Finishes the job once every task's row, and every other write of it, is committed. */
  maybeFinish(job: ActiveJob): void {
    // Results taken on one node's word alone are audited first (jobs/revisions.ts).
    if (job.committed === job.taskCount && job.pendingWrites === 0 && this.d.audits.mayFinish(job)) {
      this.finish(job).catch((err: unknown) => this.d.log.error({ err, jobId: job.id }, 'finishing the job failed'));
    }
  }

  /**
   * Writes a result row by group commit, then calls `committed`. If the database is unreachable,
   * the same row is written again with backoff (up to 10 s apart) until it succeeds: the result
   * (or the cancellation) is kept, not recomputed. If the database refuses the row itself (a value
   * it cannot store; the group committer isolates it from the rows written with it), the task
   * fails with RESULT_UNSTORABLE instead — a row without the output, keeping its receipts (the
   * node did the work). If the gateway stops meanwhile, the task has no row and is queued again
   * at the next start.
   */
  private persist(row: TaskResultRow, committed: () => void, attempt = 0): void {
    this.committer.add(row).then(committed, (err: unknown) => {
      if (this.stopping) return;
      if (err instanceof StoreRowRejectedError) return this.persistUnstorable(row, err, committed);
      const delay = retryDelayMs(attempt);
      this.d.log.error({ err, jobId: row.jobId, index: row.index, retryInMs: delay }, 'result write failed; will retry');
      setTimeout(() => this.persist(row, committed, attempt + 1), delay).unref();
    });
  }

  private persistUnstorable(row: TaskResultRow, err: StoreRowRejectedError, committed: () => void): void {
    this.d.log.error(
      { err, jobId: row.jobId, index: row.index, sqlState: err.sqlState },
      'the database refused a result row; the task fails with RESULT_UNSTORABLE',
    );
    if (row.error?.code === 'RESULT_UNSTORABLE') {
      // Even the bare row was refused: its receipts go too; after that there is nothing left to refuse.
      if (row.receipts?.length) return this.persist({ ...row, receipts: [] }, committed);
      this.d.log.fatal({ jobId: row.jobId, index: row.index }, 'could not store even a bare failed row for this task');
      return;
    }
    const job = this.d.table.get(row.jobId);
    const failure = new ResultUnstorableError(
      `The gateway's database refused this task's result (${err.sqlState ?? 'no SQLSTATE'}); the task failed. Report job ${row.jobId} task ${row.index} to the gateway's operator.`,
    );
    if (job && job.state[row.index] !== TaskState.Failed) {
      job.setState(row.index, TaskState.Failed);
      job.errors.set(row.index, { code: failure.code, message: failure.shortMessage });
    }
    const error = { code: failure.code, message: failure.shortMessage };
    this.persist({ ...row, status: 'failed', exitCode: null, stdout: EMPTY, stderr: EMPTY, files: [], deleted: [], resultHash: null, error }, committed);
  }

  private async finish(job: ActiveJob): Promise<void> {
    if (job.finishing) return;
    job.finishing = true;
    if (job.record.finishedAt === null) {
      // Every task's row is committed, so the outcome is durable: a restart before the job row
      // below is written resumes the job with every task ended and finishes it the same way
      // (the status follows from the counts). The requester hears now — one database round
      // trip sooner — and reads the final view from memory until the job row is written.
      const status = job.finalStatus();
      job.status = status;
      job.record.finishedAt = this.d.clock.now();
      job.record.status = status;
      job.record.counts = { ...job.counts };
      job.record.usage = { ...job.usage }; // equal to the stored sums: every row was counted as it ended
      job.record.verificationStats = { ...job.verification.stats };
      this.d.events.finished(job.view());
    }
    const { status, finishedAt, counts, verificationStats } = job.record;
    try {
      const written = await this.d.store.updateJob(
        job.id,
        { status, counts: { ...counts }, finishedAt, verificationStats: verificationStats && { ...verificationStats } },
        this.d.fence,
      );
      // Another gateway of the cluster owns the job now (this one's lease lapsed): it finishes it.
      if (!written) this.d.log.warn({ jobId: job.id }, 'job row not written: another gateway owns the job now and finishes it');
    } catch (err) {
      job.finishing = false;
      this.d.log.error({ err, jobId: job.id }, 'could not record job completion; will retry');
      setTimeout(() => this.maybeFinish(job), 1000).unref();
      return;
    }
    // Every task has ended: only known-answer leases can still be out, and they are not needed.
    if (job.verification.outstandingCanaries().length > 0) this.d.scheduler.cancelJob(job);
    else this.d.scheduler.removeJob(job);
    this.d.table.remove(job);
    this.d.metrics.jobsFinished.inc({ status });
    this.d.log.info({ jobId: job.id, status, counts: job.counts }, 'job finished');
    job.markFinished();
  }
}
