/**
 * The job manager: every job's life on this gateway, from parts that each do one thing —
 *   admission.ts      a signed job becomes a running job (quotas, blobs, module, escrow, its row);
 *   views.ts          what requesters read (views, task and result pages, live snapshots);
 *   decide.ts         what an ordinary task's answer or lost lease means (pure: a plan);
 *   verifiedTasks.ts  answers of tasks several nodes verify, and known-answer checks;
 *   executor.ts       the one place where plans and decisions are applied (rows, acks, finish);
 *   revisions.ts      results taken on one node's word alone, re-verified when it is caught.
 * Here: resuming after a restart, routing each answer to its part, lost leases, cancel, deadlines.
 *
 * Guarantees (each part states its own):
 * - After a restart every unfinished job resumes: tasks without a result row are queued again.
 * - Infrastructure failures (a node vanishing, a lease expiring, a crashed worker, an unreachable
 *   blob) requeue the task up to `maxAttempts`; failures the module causes (trap, timeout,
 *   memory, output cap) are deterministic and final (decide.ts).
 * - A cancel or a passed deadline ends every task that has not ended; a job whose outcome was
 *   announced is no longer cancelled.
 */
import {
  DeadlineExceededError,
  ForbiddenError,
  InvalidRequestError,
  InvalidSignatureError,
  JobStateError,
  NotFoundError,
  ReplayError,
  SignedCancel,
  type SignedJob,
  recoverCancelJob,
  type JobView,
  type LodeDomain,
  type TaskOutcome,
  type TaskResultView,
  type TaskView,
} from '@lode/protocol';
import type { Logger } from 'pino';
import { createHash } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { GatewayConfig } from '../config.js';
import { zodMessage } from '../zodMessage.js';
import type { GatewayMetrics } from '../metrics.js';
import type { JobScheduler, JobLease, JobSession } from './leases.js';
import type { EscrowState, JobQuery, JobRecord, ResultFence, Store } from '../store/types.js';
import type { TrustService } from '../trust/trustService.js';
import type { VoteOutcomeDecision } from '../verify/jobVerification.js';
import type { TrustConfig } from '../verify/trustConfig.js';
import type { NetworkView } from '../verify/types.js';
import { ActiveJob, isTerminal } from './activeJob.js';
import { JobAdmission } from './admission.js';
import { checkOutput, decideLost, decideResult, errorOf, type LeaseLoss, LOSS_ERRORS, RetryPolicy } from './decide.js';
import type { JobEvents } from './events.js';
import { type HeldResult, type SessionAcks, TaskExecutor } from './executor.js';
import type { AcceptedSubmission } from './intake.js';
import { Revisions } from './revisions.js';
import { JobTable } from './table.js';
import { VerifiedTasks } from './verifiedTasks.js';
import { JobViews } from './views.js';

/** node:crypto's sha256: the same digest as the portable one, about twice as fast here. */
const nodeSha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest('hex');

export interface JobManagerOptions {
  store: Store;
  clock: Clock;
  log: Logger;
  events: JobEvents;
  metrics: GatewayMetrics;
  scheduler: JobScheduler;
  /** Acknowledgements and refusals to node sessions. */
  acks: SessionAcks;
  /** Distinct remotes and established nodes online (jobs/schedulerHooks.ts). */
  network(): NetworkView;
  /** Validates a module's bytes (off the event loop for a large one); rejects with InvalidModuleError. */
  inspectModule(bytes: Uint8Array): Promise<void>;
  /** Leases per task for infrastructure failures. @default 5 */
  maxAttempts?: number;
  /** Group commit interval (store/groupCommit.ts). @default 0 */
  commitIntervalMs?: number;
  /** @default LIMITS.maxModuleBytes */
  maxModuleBytes?: number;
  /** Checks a paid job's escrow (throws InsufficientEscrowError); absent: no ledger, jobs are free. */
  escrow?: { checkEscrow(jobId: string, spec: SignedJob['spec']): Promise<EscrowState> };
  /** Reputation, evidence and slashing; each job's verifier comes from it. */
  trust: TrustService;
  /** Speculative copies of straggling leases; false turns them off. */
  stragglers: TrustConfig['stragglers'];
  /** How long a task may wait at its replica cap for its voters' records to grow. */
  maxParkMs: number;
  /** This gateway and chain: what cancel signatures must be bound to. */
  domain: LodeDomain;
  /**
   * Jobs are owned in a cluster of gateways (cluster/): `start` resumes none (the member adopts
   * them), a new job is run only if `claimNew` gives it to this gateway, and result rows are
   * written only for the jobs `fence` says it still owns.
   */
  clustered?: { claimNew(jobId: string): Promise<unknown | undefined>; fence: ResultFence };
  /** Per-job and per-account limits (GatewayConfig.limits). */
  quotas: Pick<GatewayConfig['limits'], 'maxDeadlineMs' | 'maxTasksPerJob' | 'maxOpenJobsPerAccount'>;
}

/** How far ahead a cancel request may expire. */
const MAX_CANCEL_AHEAD_MS = 10 * 60_000;

export class JobManager {
  private readonly table = new JobTable();
  private readonly retry: RetryPolicy;
  private readonly views: JobViews;
  private readonly admission: JobAdmission;
  private readonly revisions: Revisions<HeldResult>;
  private readonly executor: TaskExecutor;
  private readonly verified: VerifiedTasks;
  private timers: ReturnType<typeof setInterval>[] = [];

  constructor(private readonly o: JobManagerOptions) {
    const { store, clock, log, scheduler, trust, acks } = o;
    const table = this.table;
    this.retry = new RetryPolicy(o.maxAttempts ?? 5);
    this.views = new JobViews({ table, store, scheduler, trust, network: o.network });
    this.admission = new JobAdmission({ ...o, table, views: this.views });
    // Re-verification calls back into the executor and the verified tasks (built just below; it
    // calls none of them while being built).
    this.revisions = new Revisions<HeldResult>({
      store,
      fence: o.clustered?.fence,
      log,
      clock,
      trust,
      config: { auditWaitMs: trust.config.auditWaitMs, maxRevisionMs: trust.config.maxRevisionMs, maxParkMs: o.maxParkMs },
      scheduler: () => scheduler,
      active: (id) => table.get(id),
      facts: (h) => ({ seq: h.seq ?? trust.lone.nextSeq(), receivedAt: h.receivedAt, leaseId: h.lease.leaseId, session: h.lease.session.proof ?? null }),
      receipt: (job, h, kind) => this.executor.receipt(job, h.lease, h.outcome, kind),
      row: (job, h, receipts) => this.executor.resultRow(job, h, h.outcome.status === 'ok' ? null : errorOf(h.outcome), receipts),
      failedRow: (job, index, error, receipts) => ({ ...this.executor.emptyRow(job, index, 'failed', error), receipts: receipts.filter((x) => x.amount > 0n) }),
      cancel: (leases) => this.executor.cancelReplicas(leases),
      decide: (job, index, d) => this.verified.decided(job, index, d as VoteOutcomeDecision<HeldResult>),
      touch: (job) => this.executor.touch(job),
      maybeFinish: (job) => this.executor.maybeFinish(job),
      online: () => [...scheduler.allSessions()].map((s) => s.address),
    });
    this.executor = new TaskExecutor({ ...o, table, acks, views: this.views, audits: this.revisions, fence: o.clustered?.fence });
    this.verified = new VerifiedTasks({
      ...o,
      table,
      executor: this.executor,
      revisions: this.revisions,
      retry: this.retry,
      check: (lease, outcome) => checkOutput(outcome, lease.job.spec.limits, nodeSha256),
    });
  }

  /**
   * Resumes every unfinished job from the store (tasks without a result row are queued again) —
   * unless jobs are owned in a cluster (`clustered`): then the cluster member adopts them one by one.
   */
  async start(): Promise<void> {
    const { store, log } = this.o;
    if (!this.o.clustered) {
      for (const record of await store.listUnfinishedJobs()) {
        await this.resume(record);
        log.info({ jobId: record.id }, 'resumed job');
      }
    }
    // Results of nodes caught before a restart are re-verified now that their jobs are loaded.
    this.revisions.start();
    this.every(1000, () => this.enforceDeadlines());
    this.every(1000, () => {
      if (this.o.stragglers) this.verified.speculate();
      this.verified.reconsiderParked();
      this.revisions.tick();
    });
  }

  /** Runs an unfinished job this gateway has come to own (cluster/member.ts); nothing if it runs already or is final. */
  async adopt(jobId: string): Promise<void> {
    if (this.table.get(jobId)) return;
    const record = await this.o.store.getJob(jobId);
    if (!record || (record.status !== 'queued' && record.status !== 'running')) return;
    await this.resume(record);
  }

  /** Stops running every job (a lost cluster lease: other gateways may own them now). Their leases are cancelled. */
  dropAll(): void {
    for (const job of [...this.table.values()]) {
      this.o.scheduler.cancelJob(job);
      this.table.remove(job);
    }
  }

  private async resume(record: JobRecord): Promise<void> {
    const { store, trust, scheduler } = this.o;
    const job = new ActiveJob(record, trust.verificationFor(record.spec));
    job.restoreFinished(await store.finishedTasks(record.id));
    for (let i = 0; i < job.taskCount; i++) if (!isTerminal(job.state[i]!)) job.enqueue(i);
    this.table.reserve(job.record.requester);
    this.table.add(job);
    if (job.allTerminal()) this.executor.maybeFinish(job);
    else scheduler.addJob(job);
  }

  async stop(): Promise<void> {
    this.revisions.stop();
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await this.executor.stop();
  }

  private every(ms: number, fn: () => void): void {
    const t = setInterval(fn, ms);
    t.unref();
    this.timers.push(t);
  }

  get activeJobs(): number {
    return this.table.size;
  }

  queuedTasks(): number {
    return this.table.queuedTasks();
  }

  // ---------------------------------------------------------------- submission and reads

  submit(sub: AcceptedSubmission): Promise<{ view: JobView; created: boolean }> {
    return this.admission.submit(sub);
  }

  get(id: string, reader: string): Promise<JobView> {
    return this.views.get(id, reader);
  }

  list(query: Omit<JobQuery, 'requester'>, reader: string): Promise<JobView[]> {
    return this.views.list(query, reader);
  }

  tasks(id: string, offset: number, limit: number, reader: string): Promise<TaskView[]> {
    return this.views.tasks(id, offset, limit, reader);
  }

  results(id: string, offset: number, limit: number, reader: string): Promise<TaskResultView[]> {
    return this.views.results(id, offset, limit, reader);
  }

  subscribeSnapshot(id: string): (() => { job: JobView; nodesBusy: number }) | undefined {
    return this.views.snapshot(id);
  }

  // ---------------------------------------------------------------- answers and lost leases

  /** Handles a batch of outcomes from one node session. */
  onResults(session: JobSession, outcomes: TaskOutcome[]): void {
    const now = this.o.clock.now();
    for (const outcome of outcomes) {
      const lease = this.o.scheduler.complete(session, outcome.leaseId, outcome.durationMs);
      if (!lease) {
        this.o.acks.reject(
          session,
          outcome.leaseId,
          'UNKNOWN_LEASE',
          'This session holds no lease with that id (expired, cancelled or never issued); the result was dropped.',
        );
        continue;
      }
      if (lease.kind === 'canary') this.verified.canaryAnswered(lease, outcome);
      else if (lease.job.verification.setOf(lease.index)) this.verified.replicaAnswered(lease, outcome, now);
      else this.answered(lease, outcome, now);
    }
  }

  /** An ordinary task's answer: decided (decide.ts), then applied. */
  private answered(lease: JobLease, outcome: TaskOutcome, now: number): void {
    const { job, index } = lease;
    const task = { state: job.state[index]!, attempts: job.attempts[index]! };
    const plan = decideResult(task, outcome, () => checkOutput(outcome, job.spec.limits, nodeSha256), this.retry);
    this.executor.apply(lease, plan, { outcome, receivedAt: now });
  }

  /** A lease ended without a result (its node left, or it expired). */
  onLeaseLost(lease: JobLease, reason: LeaseLoss): void {
    const { job, index } = lease;
    if (lease.kind === 'canary') return job.verification.canaryLost(lease.leaseId);
    if (job.verification.setOf(index)) return this.verified.replicaLost(lease, LOSS_ERRORS[reason]);
    this.o.log.debug({ jobId: job.id, index, reason, node: lease.session.address }, 'lease lost');
    this.executor.apply(lease, decideLost({ state: job.state[index]!, attempts: job.attempts[index]! }, reason, this.retry));
  }

  // ---------------------------------------------------------------- cancel & deadlines

  async cancel(id: string, body: unknown): Promise<JobView> {
    const parsed = SignedCancel.safeParse(body);
    if (!parsed.success) throw new InvalidRequestError('The cancel request is not a valid signed CancelJob.', { details: zodMessage(parsed.error) });
    const { requester, expiresAt, signature } = parsed.data;
    const { clock, domain, store, scheduler, log } = this.o;
    const now = clock.now();
    if (expiresAt < now) throw new ReplayError('The cancel request has expired. Sign a fresh one.');
    if (expiresAt > now + MAX_CANCEL_AHEAD_MS) {
      throw new InvalidRequestError(`A cancel request may be valid for at most ${MAX_CANCEL_AHEAD_MS / 60_000} minutes; set expiresAt sooner.`);
    }
    let signer: string;
    try {
      signer = await recoverCancelJob({ requester: requester as `0x${string}`, jobId: id, expiresAt: BigInt(expiresAt) }, signature as `0x${string}`, domain);
    } catch (err) {
      throw new InvalidSignatureError('The cancel signature is malformed.', { cause: err });
    }
    if (signer.toLowerCase() !== requester.toLowerCase()) {
      throw new InvalidSignatureError(
        `The cancel signature does not match the requester for this gateway (${domain.gateway}) on chain ${domain.chainId}. Sign it for this gateway (GET /v1/identity).`,
      );
    }
    const job = this.table.get(id);
    if (!job) {
      const record = await store.getJob(id, { tasks: false });
      if (!record) throw new NotFoundError('job', id);
      if (record.requester !== requester.toLowerCase()) throw new ForbiddenError('Only the job requester can cancel it.');
      throw new JobStateError(`The job is already ${record.status}; only queued or running jobs can be cancelled.`);
    }
    if (job.record.requester !== requester.toLowerCase()) throw new ForbiddenError('Only the job requester can cancel it.');
    // Every task ended and the outcome was announced; only its job row is still being written.
    if (job.record.finishedAt !== null) throw new JobStateError(`The job is already ${job.record.status}; only queued or running jobs can be cancelled.`);
    job.status = 'cancelled';
    scheduler.cancelJob(job);
    this.executor.endRemaining(job, 'cancelled', null);
    log.info({ jobId: id }, 'job cancelled');
    await job.finished; // the answer carries the final state, finishedAt included
    return job.view();
  }

  private enforceDeadlines(): void {
    const now = this.o.clock.now();
    for (const job of this.table.values()) {
      if (job.finishing || job.allTerminal() || job.record.deadline > now) continue;
      const err = new DeadlineExceededError('The job deadline passed before this task finished.');
      this.o.scheduler.cancelJob(job);
      this.executor.endRemaining(job, 'failed', { code: err.code, message: err.shortMessage });
      this.o.log.warn({ jobId: job.id }, 'job deadline passed');
    }
  }
}
