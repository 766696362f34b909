/**
 * Long because it still decides and applies every stage of a job in one class; the one-clear-core
 * issue splits it into pure decisions and one executor.
 *
 * The job manager: owns every job's life on this gateway — submission, results, completion,
 * cancellation, deadlines, and resumption after a restart.
 *
 * Guarantees:
 * - A job is answered as accepted only after its row is committed; resubmitting the same
 *   signed spec returns the same job (the id is derived from the spec hash).
 * - Each task ends exactly once (done, failed or cancelled) and gets exactly one result row;
 *   a second result for a task is refused. Results are written by group commit and the node is
 *   acknowledged only after the write, so an acknowledged result is never lost.
 * - Infrastructure failures (a node vanishing, a lease expiring, a crashed worker, an
 *   unreachable blob) requeue the task up to `maxAttempts`; failures the module causes
 *   (trap, timeout, memory, output cap) are deterministic and final.
 * - A task of a verified job (`replicate(k)`, `target(ε)`) is decided by its verifier
 *   (verify/jobVerification.ts) from the results of several nodes: its row is written once, when
 *   the verifier accepts an answer (or gives up: VERIFICATION_FAILED), with one receipt per
 *   paid execution — each agreeing replica, never a wrong one. Votes wait in memory until then;
 *   after a restart the task runs again from scratch (no receipt was written for it).
 * - Replicas still out when a task is decided are cancelled at once (the first valid answer
 *   wins); a result that arrives after the decision is acknowledged and not paid.
 */
import {
  DeadlineExceededError,
  VerificationFailedError,
  InvalidModuleError,
  InvalidRequestError,
  InvalidSignatureError,
  JobStateError,
  LIMITS,
  MissingBlobError,
  NotFoundError,
  ForbiddenError,
  InsufficientEscrowError,
  ReplayError,
  QuotaExceededError,
  ResultUnstorableError,
  SandboxErrorCode,
  SignedCancel,
  type SignedJob,
  TooLargeError,
  fromBase64,
  recoverCancelJob,
  resultDigest,
  taskCharge,
  verificationName,
  type JobView,
  type LodeDomain,
  type TaskOutcome,
  type TaskResultView,
  type TaskView,
} from '@lode/protocol';
import type { Logger } from 'pino';
import { createHash } from 'node:crypto';
import type { Clock } from '../clock.js';
import { OpenCounts } from '../openCounts.js';
import type { EscrowState, JobQuery, JobRecord, Store, TaskResultRow } from '../store/types.js';
import { retryDelayMs } from '../store/retry.js';
import { GroupCommitter } from '../store/groupCommit.js';
import { StoreRowRejectedError } from '../store/errors.js';
import type { LeaseRecord, Scheduler, SchedulerTrust, SessionPort } from '../scheduler/scheduler.js';
import type { TaskReceipt } from '../store/types.js';
import type { TrustService } from '../trust/trustService.js';
import type { KnownAnswer } from '../verify/canaries.js';
import type { VoteOutcomeDecision } from '../verify/jobVerification.js';
import type { ReplicaLease } from '../verify/replicaSet.js';
import { expectedLeaseMs, stragglesAt } from '../verify/stragglers.js';
import type { TrustConfig } from '../verify/trustConfig.js';
import type { NetworkView, Vote, VoteOutcome } from '../verify/types.js';
import { isVote, voteKey } from '../verify/vote.js';
import { ActiveJob, TaskState, isTerminal, recordView } from './activeJob.js';
import { Revisions } from './revisions.js';
import type { JobEvents } from './events.js';
import type { GatewayMetrics } from '../metrics.js';
import { zodMessage } from '../http/zodMessage.js';
import type { GatewayConfig } from '../config.js';
import type { AcceptedSubmission } from './intake.js';

/** node:crypto's sha256: the same digest as the portable one, about twice as fast here. */
const nodeSha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest('hex');

const RETRYABLE_CODES = new Set<string>([SandboxErrorCode.WorkerCrashed, SandboxErrorCode.BlobUnavailable]);

export interface JobManagerOptions {
  store: Store;
  clock: Clock;
  log: Logger;
  events: JobEvents;
  metrics: GatewayMetrics;
  /** Validates a module's bytes (off the event loop for a large one); rejects with InvalidModuleError. */
  inspectModule(bytes: Uint8Array): Promise<void>;
  /** Attempts per task for infrastructure failures. @default 5 */
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
  /** Share of verified-job leases given first to nodes on probation. */
  newcomerShare: number;
  /** How long a task may wait at its replica cap for its voters' records to grow. */
  maxParkMs: number;
  /** This gateway and chain: what cancel signatures must be bound to. */
  domain: LodeDomain;
  /** Per-job and per-account limits (GatewayConfig.limits). */
  quotas: Pick<GatewayConfig['limits'], 'maxDeadlineMs' | 'maxTasksPerJob' | 'maxOpenJobsPerAccount'>;
}

/** Blob hashes remembered as stored (~100 bytes each); the set starts over when full. */
const MAX_KNOWN_BLOBS = 100_000;

/** How far ahead a cancel request may expire. */
const MAX_CANCEL_AHEAD_MS = 10 * 60_000;

/** "7 days", "36 hours", "90 minutes": a limit in words. */
function formatMs(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000} days`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} hours`;
  return `${Math.round(ms / 60_000)} minutes`;
}

const EMPTY = new Uint8Array(0);

/** What replicas of an outcome are compared on (see verify/vote.ts). */
const factsOf = (o: TaskOutcome): VoteOutcome => ({
  status: o.status,
  errorCode: o.error?.code ?? null,
  resultHash: o.resultHash,
  fuelUsed: o.fuelUsed ?? null,
});

/** A failed outcome's error (a node that gave none gets a generic one). */
const errorOf = (o: TaskOutcome): { code: string; message: string } => o.error ?? { code: 'FAILED', message: 'The task failed.' };

/** A replica's result, held until its task is decided. */
interface HeldResult {
  lease: LeaseRecord;
  outcome: TaskOutcome;
  stdout: Uint8Array;
  stderr: Uint8Array;
  files: { path: string; data: Uint8Array }[];
  receivedAt: number;
  /** Its place in the gateway's answer order (a check of it audits what its node gave alone before it). */
  seq?: number;
}

type Decoded =
  | { stdout: Uint8Array; stderr: Uint8Array; files: { path: string; data: Uint8Array }[] }
  | { reject: { code: string; message: string; log: string } };

export interface SessionAcks {
  ack(session: SessionPort, leaseId: string): void;
  reject(session: SessionPort, leaseId: string, code: string, message: string): void;
}

export class JobManager {
  private readonly active = new Map<string, ActiveJob>();
  /** Active jobs per requester (the open-jobs quota). */
  private readonly openJobs = new OpenCounts();
  private readonly validModules = new Set<string>();
  /** Blobs seen stored (blobs are content-addressed and never deleted): no query for them again. */
  private readonly knownBlobs = new Set<string>();
  private readonly committer: GroupCommitter<TaskResultRow>;
  private readonly maxAttempts: number;
  private deadlineTimer: ReturnType<typeof setInterval> | undefined;
  private trustTimer: ReturnType<typeof setInterval> | undefined;
  /** The known answer chosen in `issued` for the canary lease the scheduler issues next. */
  private pickedCanary: KnownAnswer | undefined;
  private netView: NetworkView | undefined;
  /** Moving share of verified-job leases that went to nodes on probation. */
  private probationShare = 0;
  private stopping = false;
  private scheduler!: Scheduler;
  private acks!: SessionAcks;
  private revisions!: Revisions<HeldResult>;

  constructor(private readonly o: JobManagerOptions) {
    this.maxAttempts = o.maxAttempts ?? 5;
    this.committer = new GroupCommitter<TaskResultRow>({
      write: (rows) => o.store.insertTaskResults(rows),
      intervalMs: o.commitIntervalMs ?? 0,
      maxBatch: 2000,
    });
  }

  attach(scheduler: Scheduler, acks: SessionAcks): void {
    this.scheduler = scheduler;
    this.acks = acks;
    this.revisions = this.revisionsFor();
  }

  /** Re-verification of results taken on one node's word alone (jobs/revisions.ts), on this manager's paths. */
  private revisionsFor(): Revisions<HeldResult> {
    const trust = this.o.trust;
    return new Revisions<HeldResult>({
      store: this.o.store,
      log: this.o.log,
      clock: this.o.clock,
      trust,
      config: { auditWaitMs: trust.config.auditWaitMs, maxRevisionMs: trust.config.maxRevisionMs, maxParkMs: this.o.maxParkMs },
      scheduler: () => this.scheduler,
      active: (id) => this.active.get(id),
      facts: (h) => ({ seq: h.seq ?? trust.lone.nextSeq(), receivedAt: h.receivedAt, leaseId: h.lease.leaseId, session: h.lease.session.proof ?? null }),
      receipt: (job, h, kind) => this.receipt(job, h.lease, h.outcome, kind),
      row: (job, h, receipts) => this.resultRow(job, h, h.outcome.status === 'ok' ? null : errorOf(h.outcome), receipts),
      failedRow: (job, index, error, receipts) => ({ ...this.emptyRow(job, index, 'failed', error), receipts: receipts.filter((x) => x.amount > 0n) }),
      cancel: (leases) => this.cancelReplicas(leases),
      decide: (job, index, d) => this.onDecision(job, index, d as VoteOutcomeDecision<HeldResult>),
      touch: (job) => this.touch(job),
      maybeFinish: (job) => this.maybeFinish(job),
      online: () => [...this.scheduler.allSessions()].map((s) => s.address),
    });
  }

  /** Resumes every unfinished job from the store: tasks without a result row are queued again. */
  async start(): Promise<void> {
    const unfinished = await this.o.store.listUnfinishedJobs();
    for (const record of unfinished) {
      const job = new ActiveJob(record, this.o.trust.verificationFor(record.spec));
      const finished = await this.o.store.finishedTasks(record.id);
      job.restoreFinished(finished);
      for (let i = 0; i < job.taskCount; i++) if (!isTerminal(job.state[i]!)) job.enqueue(i);
      this.active.set(job.id, job);
      this.openJobs.tryOpen(job.record.requester);
      if (job.allTerminal()) this.maybeFinish(job);
      else this.scheduler.addJob(job);
      this.o.log.info({ jobId: job.id, remaining: job.counts.queued }, 'resumed job');
    }
    // Results of nodes caught before a restart are re-verified now that their jobs are loaded.
    this.revisions.start();
    this.deadlineTimer = setInterval(() => this.enforceDeadlines(), 1000);
    this.deadlineTimer.unref();
    this.trustTimer = setInterval(() => {
      if (this.o.stragglers) this.speculate();
      this.reconsiderParked();
      this.revisions.tick();
    }, 1000);
    this.trustTimer.unref();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.revisions.stop();
    if (this.deadlineTimer) clearInterval(this.deadlineTimer);
    if (this.trustTimer) clearInterval(this.trustTimer);
    await this.committer.close();
  }

  get activeJobs(): number {
    return this.active.size;
  }

  queuedTasks(): number {
    let n = 0;
    for (const j of this.active.values()) n += j.counts.queued;
    return n;
  }

  // ---------------------------------------------------------------- submission

  /**
   * Accepts a job that `JobIntake` found valid and signed for this gateway, within the
   * quotas: its tasks, its deadline, the requester's open jobs. Resolves once its row is committed.
   */
  async submit(sub: AcceptedSubmission): Promise<{ view: JobView; created: boolean }> {
    const { spec, jobId: id } = sub;
    const now = this.o.clock.now();
    const q = this.o.quotas;
    if (spec.deadline <= now) {
      throw new InvalidRequestError('The job deadline is in the past. Set spec.deadline to a future Unix time in ms.');
    }
    if (spec.deadline > now + q.maxDeadlineMs) {
      throw new InvalidRequestError(
        `The job deadline is more than ${formatMs(q.maxDeadlineMs)} away; this gateway takes jobs due within ${formatMs(q.maxDeadlineMs)}. Set an earlier spec.deadline, or split the work into jobs.`,
        {
          meta: { maxDeadlineMs: q.maxDeadlineMs },
        },
      );
    }
    if (spec.tasks.length > q.maxTasksPerJob) {
      throw new TooLargeError(`The job has ${spec.tasks.length} tasks; this gateway takes at most ${q.maxTasksPerJob} per job. Split it into several jobs.`, {
        meta: { maxTasksPerJob: q.maxTasksPerJob },
      });
    }
    if (this.active.has(id)) return { view: this.viewOf(this.active.get(id)!), created: false };
    const requester = spec.requester.toLowerCase();
    // The job's place is taken before the first await (concurrent submissions must not all pass)
    // and given back unless the job is created.
    if (!this.openJobs.tryOpen(requester, q.maxOpenJobsPerAccount)) {
      const open = this.openJobs.of(requester);
      throw new QuotaExceededError(
        `${requester} has ${open} jobs queued or running; this gateway runs at most ${q.maxOpenJobsPerAccount} per account at once. Wait for some to finish (or cancel them), then submit again.`,
        {
          meta: { openJobs: open, maxOpenJobsPerAccount: q.maxOpenJobsPerAccount },
        },
      );
    }
    let job: ActiveJob | undefined;
    try {
      job = await this.create(sub, requester, now);
    } finally {
      if (!job) this.openJobs.close(requester);
    }
    return job ? { view: this.viewOf(job), created: true } : { view: await this.view(id), created: false };
  }

  /** Stores and starts an accepted submission; undefined when it was stored already (a retry). */
  private async create(sub: AcceptedSubmission, requester: string, now: number): Promise<ActiveJob | undefined> {
    const { jobId: id } = sub;
    const { spec, signature } = sub;
    await this.checkBlobs(spec.module, spec.tasks);
    let escrow: EscrowState = 'none';
    try {
      escrow = (await this.o.escrow?.checkEscrow(id, spec)) ?? 'none';
    } catch (err) {
      // A job already accepted (and perhaps already refunded) is answered as it is.
      if (err instanceof InsufficientEscrowError && (await this.o.store.getJob(id, { tasks: false }))) return undefined;
      throw err;
    }

    const record: JobRecord = {
      id,
      name: spec.name,
      requester,
      module: spec.module,
      spec,
      signature,
      status: 'queued',
      taskCount: spec.tasks.length,
      counts: { queued: spec.tasks.length, leased: 0, done: 0, failed: 0, cancelled: 0 },
      createdAt: now,
      finishedAt: null,
      deadline: spec.deadline,
      escrow,
    };
    if (!(await this.o.store.insertJob(record, sub.specJson))) return undefined;

    const job = new ActiveJob(record, this.o.trust.verificationFor(spec));
    for (let i = 0; i < job.taskCount; i++) job.enqueue(i);
    this.active.set(id, job);
    this.scheduler.addJob(job);
    this.o.metrics.jobsSubmitted.inc();
    this.o.metrics.tasksSubmitted.inc(job.taskCount);
    this.o.log.info({ jobId: id, tasks: job.taskCount, requester: record.requester }, 'job accepted');
    return job;
  }

  private async checkBlobs(module: string, tasks: SignedJob['spec']['tasks']): Promise<void> {
    const wanted = new Set<string>([module]);
    for (const t of tasks) {
      if (t.stdinBlob) wanted.add(t.stdinBlob);
      for (const f of t.files) wanted.add(f.blob);
      if (t.stdin && fromBase64(t.stdin).byteLength > LIMITS.maxInlineStdinBytes) {
        throw new TooLargeError(`Inline stdin is limited to ${LIMITS.maxInlineStdinBytes} bytes. Upload larger input as a blob (stdinBlob).`);
      }
    }
    const unknown = [...wanted].filter((sha) => !this.knownBlobs.has(sha));
    if (unknown.length > 0) {
      const have = await this.o.store.hasBlobs(unknown);
      for (const sha of unknown) if (!have.has(sha)) throw new MissingBlobError(sha);
      if (this.knownBlobs.size + unknown.length > MAX_KNOWN_BLOBS) this.knownBlobs.clear();
      for (const sha of unknown) this.knownBlobs.add(sha);
    }
    if (this.validModules.has(module)) return;
    const bytes = await this.o.store.getBlob(module);
    if (!bytes) throw new MissingBlobError(module);
    const limit = this.o.maxModuleBytes ?? LIMITS.maxModuleBytes;
    if (bytes.byteLength > limit) {
      throw new TooLargeError(`The module is ${bytes.byteLength} bytes; this gateway accepts modules up to ${limit} bytes.`);
    }
    try {
      await this.o.inspectModule(bytes);
    } catch (err) {
      if (err instanceof InvalidModuleError) throw err;
      throw new InvalidModuleError('The module is not a usable WebAssembly module.', { cause: err, details: String(err) });
    }
    this.validModules.add(module);
  }

  // ---------------------------------------------------------------- queries

  /** A running job's view, saying why its tasks wait when no connected node can take them. */
  private viewOf(job: ActiveJob): JobView {
    const view = job.view();
    if (job.counts.queued > 0 && job.counts.leased === 0) {
      const why = this.scheduler.unmatchedReasons(job);
      if (this.scheduler.sessionCount === 0) view.waiting = 'No node is connected. Start one with `lode node --gateway <ws url>` (or `lode up`).';
      else if (why.length > 0)
        view.waiting = `No connected node can take these tasks — ${why.slice(0, 3).join('; ')}${why.length > 3 ? ` (+${why.length - 3} more)` : ''}.`;
    } else if (job.replicas.size > 0 && job.counts.queued === 0) {
      const waiting = this.replicaWaiting(job);
      if (waiting) view.waiting = waiting;
    }
    return view;
  }

  /** Why replicas of a job wait, when no connected node may take any of them (views only). */
  private replicaWaiting(job: ActiveJob): string | undefined {
    const sessions = [...this.scheduler.allSessions()];
    const [index] = job.replicas.keys();
    if (index === undefined) return undefined;
    const reasons: string[] = [];
    for (const s of sessions) {
      if (!this.scheduler.matches(job, s)) continue;
      const r = job.verification.allows(
        index,
        { address: s.address, remote: s.remote ?? '', newcomer: this.o.trust.book.isNewcomer(s.address) },
        this.network(),
      );
      if (r.ok) return undefined;
      reasons.push(`${s.address}: ${r.reason}`);
    }
    const policy = verificationName(job.spec.verification);
    return `${job.replicas.size} task(s) need results from more nodes to verify them (${policy}), and no connected node may take them${reasons.length ? ` — ${reasons.slice(0, 3).join('; ')}` : ''}. Connect nodes of other accounts.`;
  }

  /**
   * The requester of job `id` when `reader` may read it; NotFoundError otherwise — for a job
   * that does not exist and for another account's job alike (ids are unguessable; saying "not
   * yours" would confirm one exists).
   */
  private async authorize(id: string, reader: string): Promise<JobRecord> {
    const record = this.active.get(id)?.record ?? (await this.o.store.getJob(id, { tasks: false }));
    if (!record || record.requester !== reader.toLowerCase()) throw new NotFoundError('job', id);
    return record;
  }

  async get(id: string, reader: string): Promise<JobView> {
    const record = await this.authorize(id, reader);
    const job = this.active.get(id);
    return job ? this.viewOf(job) : recordView(record);
  }

  /** The view of a job (no reader check: for the job's own answers and events). */
  private async view(id: string): Promise<JobView> {
    const job = this.active.get(id);
    if (job) return this.viewOf(job);
    const record = await this.o.store.getJob(id, { tasks: false });
    if (!record) throw new NotFoundError('job', id);
    return recordView(record);
  }

  /** `reader`'s jobs, newest first. */
  async list(query: Omit<JobQuery, 'requester'>, reader: string): Promise<JobView[]> {
    const records = await this.o.store.listJobs({ ...query, requester: reader.toLowerCase() });
    return records.map((r) => {
      const job = this.active.get(r.id);
      return job ? this.viewOf(job) : recordView(r);
    });
  }

  async tasks(id: string, offset: number, limit: number, reader: string): Promise<TaskView[]> {
    await this.authorize(id, reader);
    const job = this.active.get(id);
    if (job) {
      const out: TaskView[] = [];
      const names = ['queued', 'leased', 'done', 'failed', 'cancelled'] as const;
      for (let i = offset; i < Math.min(job.taskCount, offset + limit); i++) {
        out.push({
          index: i,
          status: names[job.state[i]!]!,
          attempts: job.attempts[i]!,
          node: job.nodeOf.get(i) ?? null,
          error: job.errors.get(i) ?? null,
        });
      }
      return out;
    }
    const rows = await this.o.store.getTaskResults(id, offset, limit);
    return rows.map((r) => ({ index: r.index, status: r.status, attempts: r.attempts, node: r.node, error: r.error }));
  }

  async results(id: string, offset: number, limit: number, reader: string): Promise<TaskResultView[]> {
    await this.authorize(id, reader);
    const rows = await this.o.store.getTaskResults(id, offset, limit);
    return rows.map((r) => ({
      index: r.index,
      status: r.status,
      exitCode: r.exitCode,
      stdout: Buffer.from(r.stdout).toString('base64'),
      stderr: Buffer.from(r.stderr).toString('base64'),
      files: r.files.map((f) => ({ path: f.path, data: Buffer.from(f.data).toString('base64') })),
      deleted: r.deleted,
      resultHash: r.resultHash,
      node: r.node,
      error: r.error,
      fuelUsed: r.fuelUsed ?? null,
      ...(r.revision ? { revised: r.revision } : {}),
    }));
  }

  /** Progress snapshots of a running job; undefined once its `finished` event went out (the view is final). */
  subscribeSnapshot(id: string): (() => { job: JobView; nodesBusy: number }) | undefined {
    const job = this.active.get(id);
    if (!job || job.record.finishedAt !== null) return undefined;
    return () => ({ job: this.viewOf(job), nodesBusy: this.scheduler.busyNodes() });
  }

  // ---------------------------------------------------------------- results

  /** Handles a batch of outcomes from one node session. */
  onResults(session: SessionPort, outcomes: TaskOutcome[]): void {
    const now = this.o.clock.now();
    for (const outcome of outcomes) {
      const lease = this.scheduler.complete(session, outcome.leaseId, outcome.durationMs);
      if (!lease) {
        this.acks.reject(
          session,
          outcome.leaseId,
          'UNKNOWN_LEASE',
          'This session holds no lease with that id (expired, cancelled or never issued); the result was dropped.',
        );
        continue;
      }
      this.accept(lease, outcome, now);
    }
  }

  private accept(lease: LeaseRecord, outcome: TaskOutcome, now: number): void {
    if (lease.kind === 'canary') return this.acceptCanary(lease, outcome);
    const { job, index } = lease;
    if (job.verification.setOf(index)) return this.acceptReplica(lease, outcome, now);
    if (job.state[index] !== TaskState.Leased) {
      this.acks.ack(lease.session, lease.leaseId); // already ended (e.g. deadline); nothing to keep
      return;
    }
    const decoded = this.decode(lease, outcome);
    if ('reject' in decoded) {
      this.retryOrFail(job, index, decoded.reject.code, decoded.reject.log);
      this.acks.reject(lease.session, lease.leaseId, decoded.reject.code, decoded.reject.message);
      return;
    }
    if (outcome.status === 'failed' && outcome.error && RETRYABLE_CODES.has(outcome.error.code) && this.requeue(job, index)) {
      this.acks.ack(lease.session, lease.leaseId);
      return;
    }
    // Not retryable, or attempts used up: the node's outcome is the task's final result.
    const ok = outcome.status === 'ok';
    const error = ok ? null : errorOf(outcome);
    // The receipt. The node did the work whether the module succeeded or failed by itself
    // (trap, exit, limits); an infrastructure failure it reports is not paid.
    const paid = ok || !RETRYABLE_CODES.has(error!.code);
    this.end(
      job,
      index,
      ok ? TaskState.Done : TaskState.Failed,
      this.resultRow(job, { lease, outcome, ...decoded, receivedAt: now }, error, paid ? [this.receipt(job, lease, outcome, 'result')] : []),
      lease,
    );
  }

  /**
   * The output of an outcome, or why it is refused: more fuel or output than the lease allows,
   * or not what its hash says. Each refusal is a strike against the node (an honest node's
   * sandbox never reports any of these).
   */
  private decode(lease: LeaseRecord, outcome: TaskOutcome): Decoded {
    const { job, index } = lease;
    const refuse = (code: string, message: string, log: string, meta: Record<string, unknown>): Decoded => {
      this.o.trust.misbehaved(lease.session.address, log, { jobId: job.id, index, ...meta });
      return { reject: { code, message, log } };
    };
    if (outcome.fuelUsed !== undefined && outcome.fuelUsed > job.spec.limits.fuel) {
      return refuse(
        'INVALID_RESULT',
        `fuelUsed ${outcome.fuelUsed} is above the lease's fuel limit of ${job.spec.limits.fuel}; the result was refused.`,
        'The node reported more fuel than its lease allows.',
        { fuelUsed: outcome.fuelUsed, limit: job.spec.limits.fuel },
      );
    }
    // Base64 that is not valid decodes to other bytes; the digest check below refuses those.
    const stdout = fromBase64(outcome.stdout);
    const stderr = fromBase64(outcome.stderr);
    const files = outcome.files.map((f) => ({ path: f.path, data: fromBase64(f.data) }));
    const outputBytes = stdout.byteLength + stderr.byteLength + files.reduce((n, f) => n + f.data.byteLength, 0);
    if (outputBytes > job.spec.limits.maxOutputBytes) {
      return refuse(
        'INVALID_RESULT',
        `Output of ${outputBytes} bytes exceeds the task's maxOutputBytes.`,
        'The node returned more output than the task allows.',
        { outputBytes },
      );
    }
    const digest = resultDigest({ exitCode: outcome.exitCode, stdout, stderr, files, deleted: outcome.deleted }, nodeSha256);
    if (digest !== outcome.resultHash) {
      return refuse('RESULT_HASH_MISMATCH', 'resultHash does not match the output.', 'The node reported a result hash that does not match its output.', {});
    }
    return { stdout, stderr, files };
  }

  /**
   * What one execution earns its node (nothing on a free job), computed from the lease: the
   * node's prices capped by the job's ceilings, times fuel that `decode` checked is within the
   * lease's limit — and never more than what is left of the job's escrow.
   */
  private receipt(job: ActiveJob, lease: LeaseRecord, outcome: TaskOutcome, kind: TaskReceipt['kind']): TaskReceipt {
    const charge = job.record.escrow === 'open' ? taskCharge(job.spec, lease.session.capabilities, outcome.fuelUsed) : 0n;
    const amount = job.charge(charge);
    if (amount < charge)
      this.o.log.error(
        { jobId: job.id, index: lease.index, node: lease.session.address, charge: charge.toString(), paid: amount.toString() },
        'a receipt would exceed the job escrow; capped',
      );
    return { payee: lease.session.address, amount, fuelUsed: outcome.fuelUsed ?? null, kind };
  }

  private resultRow(job: ActiveJob, r: HeldResult, error: { code: string; message: string } | null, receipts: TaskReceipt[]): TaskResultRow {
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

  // ---------------------------------------------------------------- verified tasks

  /** A result of a task being verified: a vote, or a replica lost. */
  private acceptReplica(lease: LeaseRecord, outcome: TaskOutcome, now: number): void {
    if (isTerminal(lease.job.state[lease.index]!)) {
      this.acks.ack(lease.session, lease.leaseId); // the task ended meanwhile (cancelled, deadline): nothing to decide
      return;
    }
    const decoded = this.decode(lease, outcome);
    if ('reject' in decoded) {
      this.acks.reject(lease.session, lease.leaseId, decoded.reject.code, decoded.reject.message);
      this.replicaLost(lease, { code: decoded.reject.code, message: decoded.reject.log });
      return;
    }
    this.acks.ack(lease.session, lease.leaseId);
    const facts = factsOf(outcome);
    if (!isVote(facts)) {
      // A timeout, a crash, a blob the node could not fetch: says nothing about the module.
      this.replicaLost(lease, errorOf(outcome));
      return;
    }
    // Held until the task is decided: the output once per distinct answer (votes with equal keys
    // have equal outputs: the key holds the result hash), never the frame's base64 copy.
    const key = voteKey(facts);
    const slim: TaskOutcome = { ...outcome, stdout: '', stderr: '', files: [] };
    const known = lease.job.verification.setOf(lease.index)?.votes.some((v) => v.key === key);
    const seq = this.o.trust.lone.nextSeq();
    const held: HeldResult = known
      ? { lease, outcome: slim, stdout: EMPTY, stderr: EMPTY, files: [], receivedAt: now, seq }
      : { lease, outcome: slim, ...decoded, receivedAt: now, seq };
    const d = lease.job.verification.voted(lease.index, lease.leaseId, held, key) as VoteOutcomeDecision<HeldResult>;
    this.onDecision(lease.job, lease.index, d);
  }

  private onDecision(job: ActiveJob, index: number, d: VoteOutcomeDecision<HeldResult>): void {
    switch (d.kind) {
      case 'unknown': // a late replica of a decided task: not paid
      case 'wait':
        return;
      case 'more':
        job.addReplicas(index, d.count);
        this.scheduler.addJob(job);
        this.touch(job);
        return;
      case 'accept':
        if (d.reopened) return this.revisions.decided(job, index, d); // decided again (jobs/revisions.ts)
        return this.verified(job, index, d);
      case 'fail':
        if (d.reopened) return this.revisions.decided(job, index, d);
        return this.unverifiable(job, index, d.votes, d.cancel, new VerificationFailedError(`Task ${index}: ${d.reason}. Is the module deterministic?`));
    }
  }

  /** The verifier accepted an answer: pay those who gave it, learn from who did not. */
  private verified(job: ActiveJob, index: number, d: Extract<VoteOutcomeDecision<HeldResult>, { kind: 'accept' }>): void {
    this.cancelReplicas(d.cancel);
    const winner = d.winner.payload;
    const agreeing = d.agreeing.map((v) => v.node);
    // Each agreeing node passed a check of the answer it gave then: what it gave alone before is audited.
    if (d.agreeing.length >= 2) this.o.trust.validated(d.agreeing.map((v) => (v.payload.seq === undefined ? v.node : { node: v.node, seq: v.payload.seq })));
    for (const v of d.wrong) {
      const p = v.payload;
      void this.o.trust
        .provenWrong({
          kind: 'quorum',
          jobId: job.id,
          index,
          agreedKey: d.winner.key,
          agreeing,
          node: v.node,
          leaseId: p.lease.leaseId,
          key: v.key,
          receivedAt: p.receivedAt,
          session: p.lease.session.proof ?? null,
        })
        .catch((err: unknown) => this.o.log.error({ err, node: v.node, jobId: job.id, index }, 'could not record evidence'));
    }
    const receipts = d.agreeing.map((v) => this.receipt(job, v.payload.lease, v.payload.outcome, v === d.winner ? 'result' : 'replica'));
    const error = winner.outcome.status === 'ok' ? null : errorOf(winner.outcome);
    const row = this.resultRow(job, winner, error, receipts);
    // Taken on one node's word alone: remembered until that node passes a check (or re-verified if it is proven wrong).
    if (d.agreeing.length === 1 && !job.verification.policy.trivial) this.revisions.lone(job, index, d.winner, row);
    this.end(job, index, error ? TaskState.Failed : TaskState.Done, row);
  }

  /**
   * The task cannot be verified (replicas disagree up to the policy's cap, or keep ending
   * without an answer): it fails. Nobody was proven wrong; each node that answered is paid.
   */
  private unverifiable(job: ActiveJob, index: number, votes: Vote<HeldResult>[], cancel: ReplicaLease[], err: { code: string; shortMessage: string }): void {
    this.cancelReplicas(cancel);
    const receipts = votes.map((v) => this.receipt(job, v.payload.lease, v.payload.outcome, 'unverified'));
    const row = this.emptyRow(job, index, 'failed', { code: err.code, message: err.shortMessage });
    row.receipts = receipts.filter((x) => x.amount > 0n);
    this.end(job, index, TaskState.Failed, row);
  }

  /** A replica ended without a vote: give it out again, or give up after `maxAttempts` such losses. */
  private replicaLost(lease: LeaseRecord, error: { code: string; message: string }): void {
    const { job, index } = lease;
    const jv = job.verification;
    const r = jv.lost(index, lease.leaseId);
    if (r.kind !== 'more') return this.onDecision(job, index, r as VoteOutcomeDecision<HeldResult>);
    const set = jv.setOf(index);
    if (set && set.lost >= this.maxAttempts) {
      if (set.reopened) return this.revisions.ended(job, index, `${error.message} Gave up after ${set.lost} replicas ended without a result.`);
      const gone = jv.abandon(index)!;
      this.unverifiable(job, index, gone.votes as Vote<HeldResult>[], gone.cancel, {
        code: error.code,
        shortMessage: `${error.message} Gave up after ${set.lost} replicas ended without a result.`,
      });
      return;
    }
    if (!set && r.count > 0 && !isTerminal(job.state[index]!)) {
      // Back to an ordinary task (a `none` job's straggler): bounded by its attempts like any other.
      if (job.attempts[index]! >= this.maxAttempts) {
        this.end(
          job,
          index,
          TaskState.Failed,
          this.emptyRow(job, index, 'failed', { code: error.code, message: `${error.message} Gave up after ${job.attempts[index]} attempts.` }),
        );
        return;
      }
    }
    job.addReplicas(index, r.count);
    this.o.metrics.tasksRetried.inc(r.count);
    this.scheduler.addJob(job);
    this.touch(job);
  }

  private cancelReplicas(cancel: ReplicaLease[]): void {
    if (cancel.length === 0) return;
    this.scheduler.cancelLeases(cancel.map((c) => c.handle as LeaseRecord).filter(Boolean));
  }

  // ---------------------------------------------------------------- known-answer tasks

  private acceptCanary(lease: LeaseRecord, outcome: TaskOutcome): void {
    const { job, index } = lease;
    const jv = job.verification;
    const decoded = this.decode(lease, outcome);
    if ('reject' in decoded) {
      this.acks.reject(lease.session, lease.leaseId, decoded.reject.code, decoded.reject.message);
      jv.canaryLost(lease.leaseId);
      return;
    }
    this.acks.ack(lease.session, lease.leaseId);
    const facts = factsOf(outcome);
    if (!isVote(facts)) {
      jv.canaryLost(lease.leaseId);
      return;
    }
    const r = jv.canaryVoted(lease.leaseId, voteKey(facts));
    if (!r) return;
    const node = lease.session.address;
    if (!r.valid) {
      void this.o.trust
        .provenWrong({
          kind: 'canary',
          jobId: job.id,
          index,
          agreedKey: r.canary.answer.key,
          agreeing: r.canary.answer.nodes.filter((n) => n !== node),
          node,
          leaseId: lease.leaseId,
          key: voteKey(facts),
          receivedAt: this.o.clock.now(),
          session: lease.session.proof ?? null,
        })
        .catch((err: unknown) => this.o.log.error({ err, node, jobId: job.id, index }, 'could not record evidence'));
      return;
    }
    this.o.trust.validated([node]);
    const receipt = this.receipt(job, lease, outcome, 'canary');
    if (receipt.amount === 0n) return;
    job.pendingWrites++;
    const write = (attempt: number): void => {
      this.o.store.insertReceipts(job.id, index, [receipt]).then(
        () => {
          job.addUsage(0, receipt.amount);
          job.pendingWrites--;
          this.maybeFinish(job);
        },
        (err: unknown) => {
          if (this.stopping) return;
          this.o.log.error({ err, jobId: job.id, index }, 'known-answer receipt write failed; will retry');
          setTimeout(() => write(attempt + 1), retryDelayMs(attempt)).unref();
        },
      );
    };
    write(0);
  }

  // ---------------------------------------------------------------- scheduler hooks

  /** What the scheduler asks of verification (see SchedulerTrust). */
  schedulerTrust(): SchedulerTrust {
    return {
      allowsReplica: (job, index, node) =>
        job.verification.allows(
          index,
          { address: node.address, remote: node.remote ?? '', newcomer: this.o.trust.book.isNewcomer(node.address) },
          this.network(),
        ).ok,
      issued: (lease) => {
        const jv = lease.job.verification;
        // The hot path: a `none` job's lease of a task with no replica set records nothing.
        if (jv.policy.trivial && lease.kind !== 'speculative' && !jv.setOf(lease.index)) return -1;
        if (!jv.policy.trivial) this.probationShare = this.probationShare * 0.99 + (this.o.trust.book.isNewcomer(lease.session.address) ? 0.01 : 0);
        const out = jv.issued(
          lease.index,
          { leaseId: lease.leaseId, node: lease.session.address, remote: lease.session.remote ?? '', handle: lease },
          lease.kind === 'speculative' ? 'speculative' : 'replica',
        );
        lease.job.addReplicas(lease.index, out.more);
        if (out.canary) {
          const known = jv.pickCanary(lease.session.address);
          if (known) {
            this.pickedCanary = known;
            return known.index;
          }
        }
        return -1;
      },
      canaryIssued: (lease) => {
        const known = this.pickedCanary;
        this.pickedCanary = undefined;
        if (known) lease.job.verification.canaryIssued(known, { leaseId: lease.leaseId, node: lease.session.address, remote: lease.session.remote ?? '' });
      },
      verifiedCapacity: (node) => this.o.trust.verifiedCapacity(node.address, node.capabilities.slots, node.capacity),
      onProbation: (node) => this.o.trust.book.isNewcomer(node.address),
      probationFirst: () => this.probationShare < this.o.newcomerShare,
    };
  }

  /** Distinct remote addresses and established nodes among connected sessions (cached for one tick). */
  private network(): NetworkView {
    if (this.netView) return this.netView;
    const remotes = new Set<string>();
    for (const s of this.scheduler.allSessions()) remotes.add(s.remote ?? '');
    this.netView = { distinctRemotes: remotes.size, established: this.o.trust.book.establishedOnline() };
    setImmediate(() => (this.netView = undefined));
    return this.netView;
  }

  /**
   * Tasks parked at their replica cap are decided again as their voters' records grow; those
   * parked longer than `maxParkMs` fail with VERIFICATION_FAILED.
   */
  private reconsiderParked(): void {
    for (const job of this.active.values()) {
      if (job.verification.parkedCount === 0) continue;
      for (const { index, decision } of job.verification.reconsider(this.o.maxParkMs)) this.onDecision(job, index, decision as VoteOutcomeDecision<HeldResult>);
    }
  }

  /**
   * Speculative copies: a task lease that has taken `factor` × its expected time gets a copy on
   * another node; the first valid result wins and the other lease is cancelled.
   */
  private speculate(): void {
    const params = this.o.stragglers;
    if (!params || this.scheduler.sessionCount < 2) return;
    const now = this.o.clock.now();
    for (const s of this.scheduler.allSessions()) {
      let ahead = 0;
      for (const l of s.leases.values()) {
        const position = ahead++;
        if (l.kind !== 'task' || l.job.avgTaskMs === undefined || isTerminal(l.job.state[l.index]!)) continue;
        const avg = Math.max(l.job.avgTaskMs, s.avgTaskMs ?? 0);
        if (now < stragglesAt(l.issuedAt, expectedLeaseMs(avg, position, s.capabilities.slots), params)) continue;
        const jv = l.job.verification;
        if (!jv.trackForSpeculation(l.index, { leaseId: l.leaseId, node: s.address, remote: s.remote ?? '', handle: l })) continue;
        l.job.speculative.add(l.index);
        l.job.addReplicas(l.index, 1);
        this.o.log.info({ jobId: l.job.id, index: l.index, node: s.address, lateMs: now - l.issuedAt }, 'straggling lease: giving out a speculative copy');
        this.scheduler.addJob(l.job);
      }
    }
  }

  /** Requeues a task after an infrastructure failure, or fails it when attempts are used up. Returns true if requeued. */
  private retryOrFail(job: ActiveJob, index: number, code: string, message: string): boolean {
    if (this.requeue(job, index)) return true;
    this.end(
      job,
      index,
      TaskState.Failed,
      this.emptyRow(job, index, 'failed', {
        code,
        message: `${message} Gave up after ${job.attempts[index]} attempts.`,
      }),
    );
    return false;
  }

  /** Queues a task again if it has attempts left; returns false when they are used up. */
  private requeue(job: ActiveJob, index: number): boolean {
    if (job.attempts[index]! >= this.maxAttempts) return false;
    job.enqueue(index);
    this.o.metrics.tasksRetried.inc();
    this.scheduler.addJob(job);
    this.touch(job);
    return true;
  }

  /** A lease ended without a result (node left, or expired). */
  onLeaseLost(lease: LeaseRecord, reason: 'expired' | 'node-left'): void {
    const { job, index } = lease;
    if (lease.kind === 'canary') return job.verification.canaryLost(lease.leaseId);
    if (job.verification.setOf(index)) {
      return this.replicaLost(
        lease,
        reason === 'expired'
          ? { code: 'LEASE_EXPIRED', message: 'The node did not return a result before its lease expired.' }
          : { code: 'NODE_LEFT', message: 'The node disconnected while holding the task.' },
      );
    }
    if (job.state[index] !== TaskState.Leased) return;
    this.o.log.debug({ jobId: job.id, index, reason, node: lease.session.address }, 'lease lost');
    this.retryOrFail(
      job,
      index,
      reason === 'expired' ? 'LEASE_EXPIRED' : 'NODE_LEFT',
      reason === 'expired' ? 'The node did not return a result before its lease expired.' : 'The node disconnected while holding the task.',
    );
  }

  private emptyRow(job: ActiveJob, index: number, status: TaskResultRow['status'], error: { code: string; message: string } | null): TaskResultRow {
    return {
      jobId: job.id,
      index,
      status,
      exitCode: null,
      stdout: new Uint8Array(0),
      stderr: new Uint8Array(0),
      files: [],
      deleted: [],
      resultHash: null,
      node: job.nodeOf.get(index) ?? null,
      attempts: job.attempts[index]!,
      error,
      finishedAt: this.o.clock.now(),
    };
  }

  /** Ends a task: terminal state now, result row by group commit, ack (if from a node) after commit. */
  private end(job: ActiveJob, index: number, state: TaskState, row: TaskResultRow, lease?: LeaseRecord): void {
    // A task decided again (its row exists) ends through its re-verification, not with a second row.
    if (!job.verification.policy.trivial && this.revisions.isReopened(job, index))
      return this.revisions.ended(job, index, row.error?.message ?? 'the job ended');
    if (isTerminal(job.state[index]!)) {
      // Ended already: counting it twice would finish the job before its other tasks.
      this.o.log.error({ jobId: job.id, index }, 'task ended twice; ignoring the second end');
      return;
    }
    job.setState(index, state);
    job.addUsage(
      row.fuelUsed ?? 0,
      (row.receipts ?? []).reduce((n, r) => n + r.amount, 0n),
    );
    if (row.error) job.errors.set(index, row.error);
    if (job.status === 'queued') job.status = 'running';
    if (state === TaskState.Done) this.o.metrics.tasksCompleted.inc();
    else if (state === TaskState.Failed) this.o.metrics.tasksFailed.inc();
    if (lease) this.o.metrics.taskLatency.observe((this.o.clock.now() - lease.issuedAt) / 1000);
    this.touch(job);
    this.persist(row, () => {
      if (lease) this.acks.ack(lease.session, lease.leaseId);
      if (row.lone) this.revisions.stored(row);
      job.committed++;
      this.maybeFinish(job);
    });
  }

  /** Finishes the job once every task's row, and every other write of it, is committed. */
  private maybeFinish(job: ActiveJob): void {
    // Results taken on one node's word alone are audited first (jobs/revisions.ts).
    if (job.committed === job.taskCount && job.pendingWrites === 0 && this.revisions.mayFinish(job)) {
      this.finish(job).catch((err: unknown) => this.o.log.error({ err, jobId: job.id }, 'finishing the job failed'));
    }
  }

  /**
   * Writes a result row by group commit, then calls `committed`. If the database is unreachable,
   * the same row is written again with backoff (up to 10 s apart) until it succeeds: the result
   * (or the cancellation) is kept, not recomputed. If the database refuses the row itself (a value
   * it cannot store; the group committer isolates it from the rows written with it), the task
   * fails with RESULT_UNSTORABLE instead — a row without the output, keeping its receipts (the
   * node did the work) — so one bad result never holds up any other. If the gateway stops
   * meanwhile, the task has no row and is queued again at the next start.
   */
  private persist(row: TaskResultRow, committed: () => void, attempt = 0): void {
    this.committer.add(row).then(committed, (err: unknown) => {
      if (this.stopping) return;
      if (err instanceof StoreRowRejectedError) return this.persistUnstorable(row, err, committed);
      const delay = retryDelayMs(attempt);
      this.o.log.error({ err, jobId: row.jobId, index: row.index, retryInMs: delay }, 'result write failed; will retry');
      setTimeout(() => this.persist(row, committed, attempt + 1), delay).unref();
    });
  }

  private persistUnstorable(row: TaskResultRow, err: StoreRowRejectedError, committed: () => void): void {
    this.o.log.error(
      { err, jobId: row.jobId, index: row.index, sqlState: err.sqlState },
      'the database refused a result row; the task fails with RESULT_UNSTORABLE',
    );
    if (row.error?.code === 'RESULT_UNSTORABLE') {
      // Even the bare row was refused: its receipts go too; after that there is nothing left to refuse.
      if (row.receipts?.length) return this.persist({ ...row, receipts: [] }, committed);
      this.o.log.fatal({ jobId: row.jobId, index: row.index }, 'could not store even a bare failed row for this task');
      return;
    }
    const job = this.active.get(row.jobId);
    const failure = new ResultUnstorableError(
      `The gateway's database refused this task's result (${err.sqlState ?? 'no SQLSTATE'}); the task failed. Report job ${row.jobId} task ${row.index} to the gateway's operator.`,
    );
    if (job && job.state[row.index] !== TaskState.Failed) {
      job.setState(row.index, TaskState.Failed);
      job.errors.set(row.index, { code: failure.code, message: failure.shortMessage });
    }
    this.persist(
      {
        ...row,
        status: 'failed',
        exitCode: null,
        stdout: EMPTY,
        stderr: EMPTY,
        files: [],
        deleted: [],
        resultHash: null,
        error: { code: failure.code, message: failure.shortMessage },
      },
      committed,
    );
  }

  private touch(job: ActiveJob): void {
    if (job.status === 'queued' && job.counts.leased > 0) job.status = 'running';
    this.o.events.touch(job.id, () => ({ job: this.viewOf(job), nodesBusy: this.scheduler.busyNodes() }));
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
      job.record.finishedAt = this.o.clock.now();
      job.record.status = status;
      job.record.counts = { ...job.counts };
      job.record.usage = { ...job.usage }; // equal to the stored sums: every row was counted as it ended
      job.record.verificationStats = { ...job.verification.stats };
      this.o.events.finished(job.view());
    }
    const { status, finishedAt, counts, verificationStats } = job.record;
    try {
      await this.o.store.updateJob(job.id, { status, counts: { ...counts }, finishedAt, verificationStats: verificationStats && { ...verificationStats } });
    } catch (err) {
      job.finishing = false;
      this.o.log.error({ err, jobId: job.id }, 'could not record job completion; will retry');
      setTimeout(() => this.maybeFinish(job), 1000).unref();
      return;
    }
    // Every task has ended: only known-answer leases can still be out, and they are not needed.
    if (job.verification.outstandingCanaries().length > 0) this.scheduler.cancelJob(job);
    else this.scheduler.removeJob(job);
    this.active.delete(job.id);
    this.openJobs.close(job.record.requester);
    this.o.metrics.jobsFinished.inc({ status });
    this.o.log.info({ jobId: job.id, status, counts: job.counts }, 'job finished');
    job.markFinished();
  }

  // ---------------------------------------------------------------- cancel & deadlines

  async cancel(id: string, body: unknown): Promise<JobView> {
    const parsed = SignedCancel.safeParse(body);
    if (!parsed.success) throw new InvalidRequestError('The cancel request is not a valid signed CancelJob.', { details: zodMessage(parsed.error) });
    const { requester, expiresAt, signature } = parsed.data;
    const now = this.o.clock.now();
    if (expiresAt < now) throw new ReplayError('The cancel request has expired. Sign a fresh one.');
    if (expiresAt > now + MAX_CANCEL_AHEAD_MS) {
      throw new InvalidRequestError(`A cancel request may be valid for at most ${MAX_CANCEL_AHEAD_MS / 60_000} minutes; set expiresAt sooner.`);
    }
    let signer: string;
    try {
      signer = await recoverCancelJob(
        { requester: requester as `0x${string}`, jobId: id, expiresAt: BigInt(expiresAt) },
        signature as `0x${string}`,
        this.o.domain,
      );
    } catch (err) {
      throw new InvalidSignatureError('The cancel signature is malformed.', { cause: err });
    }
    if (signer.toLowerCase() !== requester.toLowerCase()) {
      throw new InvalidSignatureError(
        `The cancel signature does not match the requester for this gateway (${this.o.domain.gateway}) on chain ${this.o.domain.chainId}. Sign it for this gateway (GET /v1/identity).`,
      );
    }
    const job = this.active.get(id);
    if (!job) {
      const record = await this.o.store.getJob(id, { tasks: false });
      if (!record) throw new NotFoundError('job', id);
      if (record.requester !== requester.toLowerCase()) throw new ForbiddenError('Only the job requester can cancel it.');
      throw new JobStateError(`The job is already ${record.status}; only queued or running jobs can be cancelled.`);
    }
    if (job.record.requester !== requester.toLowerCase()) throw new ForbiddenError('Only the job requester can cancel it.');
    // Every task ended and the outcome was announced; only its job row is still being written.
    if (job.record.finishedAt !== null) throw new JobStateError(`The job is already ${job.record.status}; only queued or running jobs can be cancelled.`);
    job.status = 'cancelled';
    this.scheduler.cancelJob(job);
    this.endRemaining(job, 'cancelled', null);
    this.o.log.info({ jobId: id }, 'job cancelled');
    await job.finished; // the answer carries the final state, finishedAt included
    return job.view();
  }

  private endRemaining(job: ActiveJob, status: 'cancelled' | 'failed', error: { code: string; message: string } | null): void {
    const state = status === 'cancelled' ? TaskState.Cancelled : TaskState.Failed;
    for (let i = 0; i < job.taskCount; i++) {
      if (!isTerminal(job.state[i]!)) this.end(job, i, state, this.emptyRow(job, i, status, error));
    }
  }

  private enforceDeadlines(): void {
    const now = this.o.clock.now();
    for (const job of this.active.values()) {
      if (job.finishing || job.allTerminal() || job.record.deadline > now) continue;
      const err = new DeadlineExceededError('The job deadline passed before this task finished.');
      this.scheduler.cancelJob(job);
      this.endRemaining(job, 'failed', { code: err.code, message: err.shortMessage });
      this.o.log.warn({ jobId: job.id }, 'job deadline passed');
    }
  }
}
