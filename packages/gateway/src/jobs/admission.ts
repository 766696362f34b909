/**
 * Admission: a job that `JobIntake` found valid and signed for this gateway becomes a running job
 * here — within the quotas (its tasks, its deadline, its requester's open jobs), with every blob
 * it names stored, its module inspected once per hash, and its escrow checked when it pays.
 *
 * Guarantees:
 * - A job is answered as accepted only after its row is committed; resubmitting the same signed
 *   spec returns the same job (the id is derived from the spec hash), never a second one.
 * - A requester's place is taken before the first await (concurrent submissions cannot all pass
 *   the open-jobs quota) and given back unless the job is created.
 */
import {
  InsufficientEscrowError,
  InvalidModuleError,
  InvalidRequestError,
  LIMITS,
  MissingBlobError,
  QuotaExceededError,
  type SignedJob,
  TooLargeError,
  fromBase64,
  type JobView,
} from '@lode/protocol';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { GatewayConfig } from '../config.js';
import type { GatewayMetrics } from '../metrics.js';
import type { JobScheduler } from './leases.js';
import type { EscrowState, JobRecord, Store } from '../store/types.js';
import type { TrustService } from '../trust/trustService.js';
import { ActiveJob } from './activeJob.js';
import type { AcceptedSubmission } from './intake.js';
import type { JobTable } from './table.js';
import type { JobViews } from './views.js';

export interface JobAdmissionDeps {
  store: Store;
  clock: Clock;
  log: Logger;
  metrics: GatewayMetrics;
  table: JobTable;
  scheduler: JobScheduler;
  trust: TrustService;
  views: JobViews;
  /** Validates a module's bytes (off the event loop for a large one); rejects with InvalidModuleError. */
  inspectModule(bytes: Uint8Array): Promise<void>;
  /** @default LIMITS.maxModuleBytes */
  maxModuleBytes?: number;
  /** Checks a paid job's escrow (throws InsufficientEscrowError); absent: no ledger, jobs are free. */
  escrow?: { checkEscrow(jobId: string, spec: SignedJob['spec']): Promise<EscrowState> };
  quotas: Pick<GatewayConfig['limits'], 'maxDeadlineMs' | 'maxTasksPerJob' | 'maxOpenJobsPerAccount'>;
  /** In a cluster of gateways: a stored job runs here only if this gateway owns it (cluster/ownership.ts). */
  clustered?: { claimNew(jobId: string): Promise<unknown | undefined> };
}

/** Blob hashes remembered as stored (~100 bytes each); the set starts over when full. */
const MAX_KNOWN_BLOBS = 100_000;

/** "7 days", "36 hours", "90 minutes": a limit in words. */
function formatMs(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000} days`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} hours`;
  return `${Math.round(ms / 60_000)} minutes`;
}

export class JobAdmission {
  private readonly validModules = new Set<string>();
  /** Blobs seen stored (content-addressed and never deleted): no query for them again. */
  private readonly knownBlobs = new Set<string>();

  constructor(private readonly d: JobAdmissionDeps) {}

  /** Admits a job; resolves once its row is committed (`created: false` for one admitted before). */
  async submit(sub: AcceptedSubmission): Promise<{ view: JobView; created: boolean }> {
    const { spec, jobId: id } = sub;
    const { table, quotas: q } = this.d;
    const now = this.d.clock.now();
    if (spec.deadline <= now) {
      throw new InvalidRequestError('The job deadline is in the past. Set spec.deadline to a future Unix time in ms.');
    }
    if (spec.deadline > now + q.maxDeadlineMs) {
      throw new InvalidRequestError(
        `The job deadline is more than ${formatMs(q.maxDeadlineMs)} away; this gateway takes jobs due within ${formatMs(q.maxDeadlineMs)}. Set an earlier spec.deadline, or split the work into jobs.`,
        { meta: { maxDeadlineMs: q.maxDeadlineMs } },
      );
    }
    if (spec.tasks.length > q.maxTasksPerJob) {
      throw new TooLargeError(`The job has ${spec.tasks.length} tasks; this gateway takes at most ${q.maxTasksPerJob} per job. Split it into several jobs.`, {
        meta: { maxTasksPerJob: q.maxTasksPerJob },
      });
    }
    const running = table.get(id);
    if (running) return { view: this.d.views.of(running), created: false };
    const requester = spec.requester.toLowerCase();
    if (!table.reserve(requester, q.maxOpenJobsPerAccount)) {
      const open = table.openOf(requester);
      throw new QuotaExceededError(
        `${requester} has ${open} jobs queued or running; this gateway runs at most ${q.maxOpenJobsPerAccount} per account at once. Wait for some to finish (or cancel them), then submit again.`,
        { meta: { openJobs: open, maxOpenJobsPerAccount: q.maxOpenJobsPerAccount } },
      );
    }
    let job: ActiveJob | undefined;
    try {
      job = await this.create(sub, requester, now);
    } finally {
      if (!job) table.unreserve(requester);
    }
    return job ? { view: this.d.views.of(job), created: true } : { view: await this.d.views.view(id), created: false };
  }

  /** Stores and starts an admitted submission; undefined when it was stored already (a retry). */
  private async create(sub: AcceptedSubmission, requester: string, now: number): Promise<ActiveJob | undefined> {
    const { jobId: id, spec, signature } = sub;
    await this.checkBlobs(spec.module, spec.tasks);
    let escrow: EscrowState = 'none';
    try {
      escrow = (await this.d.escrow?.checkEscrow(id, spec)) ?? 'none';
    } catch (err) {
      // A job already accepted (and perhaps already refunded) is answered as it is.
      if (err instanceof InsufficientEscrowError && (await this.d.store.getJob(id, { tasks: false }))) return undefined;
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
    if (!(await this.d.store.insertJob(record, sub.specJson))) return undefined;
    // Another gateway of the cluster may have taken the new row as an orphan already: it runs it.
    if (this.d.clustered && !(await this.d.clustered.claimNew(id))) return undefined;

    const job = new ActiveJob(record, this.d.trust.verificationFor(spec));
    for (let i = 0; i < job.taskCount; i++) job.enqueue(i);
    this.d.table.add(job);
    this.d.scheduler.addJob(job);
    this.d.metrics.jobsSubmitted.inc();
    this.d.metrics.tasksSubmitted.inc(job.taskCount);
    this.d.log.info({ jobId: id, tasks: job.taskCount, requester }, 'job accepted');
    return job;
  }

  private async checkBlobs(module: string, tasks: SignedJob['spec']['tasks']): Promise<void> {
    const wanted = new Set<string>([module]);
    for (const t of tasks) {
      if (t.stdinBlob) wanted.add(t.stdinBlob);
      for (const f of t.files) if ('blob' in f) wanted.add(f.blob);
      if (t.stdin && fromBase64(t.stdin).byteLength > LIMITS.maxInlineStdinBytes) {
        throw new TooLargeError(`Inline stdin is limited to ${LIMITS.maxInlineStdinBytes} bytes. Upload larger input as a blob (stdinBlob).`);
      }
    }
    const unknown = [...wanted].filter((sha) => !this.knownBlobs.has(sha));
    if (unknown.length > 0) {
      const have = await this.d.store.hasBlobs(unknown);
      for (const sha of unknown) if (!have.has(sha)) throw new MissingBlobError(sha);
      if (this.knownBlobs.size + unknown.length > MAX_KNOWN_BLOBS) this.knownBlobs.clear();
      for (const sha of unknown) this.knownBlobs.add(sha);
    }
    if (this.validModules.has(module)) return;
    const bytes = await this.d.store.getBlob(module);
    if (!bytes) throw new MissingBlobError(module);
    const limit = this.d.maxModuleBytes ?? LIMITS.maxModuleBytes;
    if (bytes.byteLength > limit) {
      throw new TooLargeError(`The module is ${bytes.byteLength} bytes; this gateway accepts modules up to ${limit} bytes.`);
    }
    try {
      await this.d.inspectModule(bytes);
    } catch (err) {
      if (err instanceof InvalidModuleError) throw err;
      throw new InvalidModuleError('The module is not a usable WebAssembly module.', { cause: err, details: String(err) });
    }
    this.validModules.add(module);
  }
}
