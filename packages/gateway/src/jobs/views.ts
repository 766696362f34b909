/**
 * What requesters read about their jobs: views (saying why a job waits when no connected node
 * can take its tasks), task and result pages, and live snapshots for the event stream. Reads
 * only: nothing here changes a job.
 *
 * Every read is authorized: a job is visible to its requester alone; any other account is told it
 * does not exist (ids are unguessable; "not yours" would confirm one exists).
 */
import { entryToWire, NotFoundError, verificationName, type JobView, type TaskResultView, type TaskView } from '@lode/protocol';
import type { JobScheduler } from './leases.js';
import type { JobQuery, JobRecord, Store } from '../store/types.js';
import type { TrustService } from '../trust/trustService.js';
import type { NetworkView } from '../verify/types.js';
import { type ActiveJob, recordView } from './activeJob.js';
import type { JobTable } from './table.js';

export interface JobViewsDeps {
  table: JobTable;
  store: Store;
  scheduler: JobScheduler;
  trust: TrustService;
  /** Distinct remotes and established nodes online (for why replicas wait). */
  network(): NetworkView;
}

const TASK_STATES = ['queued', 'leased', 'done', 'failed', 'cancelled'] as const;

export class JobViews {
  constructor(private readonly d: JobViewsDeps) {}

  /** A running job's view, saying why its tasks wait when no connected node can take them. */
  of(job: ActiveJob): JobView {
    const view = job.view();
    const { scheduler } = this.d;
    if (job.counts.queued > 0 && job.counts.leased === 0) {
      const why = scheduler.unmatchedReasons(job);
      if (scheduler.sessionCount === 0) view.waiting = 'No node is connected. Start one with `lode node --gateway <ws url>` (or `lode up`).';
      else if (why.length > 0)
        view.waiting = `No connected node can take these tasks — ${why.slice(0, 3).join('; ')}${why.length > 3 ? ` (+${why.length - 3} more)` : ''}.`;
    } else if (job.replicas.size > 0 && job.counts.queued === 0) {
      const waiting = this.replicaWaiting(job);
      if (waiting) view.waiting = waiting;
    }
    return view;
  }

  /** Why replicas of a job wait, when no connected node may take any of them. */
  private replicaWaiting(job: ActiveJob): string | undefined {
    const { scheduler, trust } = this.d;
    const [index] = job.replicas.keys();
    if (index === undefined) return undefined;
    const reasons: string[] = [];
    for (const s of scheduler.allSessions()) {
      if (!scheduler.matches(job, s)) continue;
      const r = job.verification.allows(index, { address: s.address, remote: s.remote ?? '', newcomer: trust.book.isNewcomer(s.address) }, this.d.network());
      if (r.ok) return undefined;
      reasons.push(`${s.address}: ${r.reason}`);
    }
    const policy = verificationName(job.spec.verification);
    return `${job.replicas.size} task(s) need results from more nodes to verify them (${policy}), and no connected node may take them${reasons.length ? ` — ${reasons.slice(0, 3).join('; ')}` : ''}. Connect nodes of other accounts.`;
  }

  /** The record of job `id` when `reader` may read it; NotFoundError otherwise (another's job alike). */
  private async authorize(id: string, reader: string): Promise<JobRecord> {
    const record = this.d.table.get(id)?.record ?? (await this.d.store.getJob(id, { tasks: false }));
    if (!record || record.requester !== reader.toLowerCase()) throw new NotFoundError('job', id);
    return record;
  }

  async get(id: string, reader: string): Promise<JobView> {
    const record = await this.authorize(id, reader);
    const job = this.d.table.get(id);
    return job ? this.of(job) : recordView(record);
  }

  /** The view of a job, without a reader check (for the job's own answers). */
  async view(id: string): Promise<JobView> {
    const job = this.d.table.get(id);
    if (job) return this.of(job);
    const record = await this.d.store.getJob(id, { tasks: false });
    if (!record) throw new NotFoundError('job', id);
    return recordView(record);
  }

  /** `reader`'s jobs, newest first. */
  async list(query: Omit<JobQuery, 'requester'>, reader: string): Promise<JobView[]> {
    const records = await this.d.store.listJobs({ ...query, requester: reader.toLowerCase() });
    return records.map((r) => {
      const job = this.d.table.get(r.id);
      return job ? this.of(job) : recordView(r);
    });
  }

  async tasks(id: string, offset: number, limit: number, reader: string): Promise<TaskView[]> {
    await this.authorize(id, reader);
    const job = this.d.table.get(id);
    if (job) {
      const out: TaskView[] = [];
      for (let i = offset; i < Math.min(job.taskCount, offset + limit); i++) {
        out.push({
          index: i,
          status: TASK_STATES[job.state[i]!]!,
          attempts: job.attempts[i]!,
          node: job.nodeOf.get(i) ?? null,
          error: job.errors.get(i) ?? null,
        });
      }
      return out;
    }
    const rows = await this.d.store.getTaskResults(id, offset, limit);
    return rows.map((r) => ({ index: r.index, status: r.status, attempts: r.attempts, node: r.node, error: r.error }));
  }

  async results(id: string, offset: number, limit: number, reader: string): Promise<TaskResultView[]> {
    await this.authorize(id, reader);
    const rows = await this.d.store.getTaskResults(id, offset, limit);
    return rows.map((r) => ({
      index: r.index,
      status: r.status,
      exitCode: r.exitCode,
      stdout: Buffer.from(r.stdout).toString('base64'),
      stderr: Buffer.from(r.stderr).toString('base64'),
      files: r.files.map(entryToWire),
      deleted: r.deleted,
      resultHash: r.resultHash,
      node: r.node,
      error: r.error,
      fuelUsed: r.fuelUsed ?? null,
      ...(r.revision ? { revised: r.revision } : {}),
    }));
  }

  /** Progress snapshots of a running job; undefined once its `finished` event went out (the view is final). */
  snapshot(id: string): (() => { job: JobView; nodesBusy: number }) | undefined {
    const job = this.d.table.get(id);
    if (!job || job.record.finishedAt !== null) return undefined;
    return () => this.progress(job);
  }

  /** A running job's view and the nodes busy now (a progress event). */
  progress(job: ActiveJob): { job: JobView; nodesBusy: number } {
    return { job: this.of(job), nodesBusy: this.d.scheduler.busyNodes() };
  }
}
