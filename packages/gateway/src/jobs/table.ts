/**
 * The jobs running on this gateway, by id, and how many each requester has open (the
 * open-jobs quota). One table, shared by the job parts: admission adds, finishing removes.
 */
import { OpenCounts } from '../openCounts.js';
import type { ActiveJob } from './activeJob.js';

export class JobTable {
  private readonly jobs = new Map<string, ActiveJob>();
  /** Jobs per requester: running ones, and those being admitted (their place is taken first). */
  private readonly open = new OpenCounts();

  get(id: string): ActiveJob | undefined {
    return this.jobs.get(id);
  }

  values(): IterableIterator<ActiveJob> {
    return this.jobs.values();
  }

  get size(): number {
    return this.jobs.size;
  }

  queuedTasks(): number {
    let n = 0;
    for (const j of this.jobs.values()) n += j.counts.queued;
    return n;
  }

  /** Takes a place for one more of `requester`'s jobs unless `max` are open; says whether it did. */
  reserve(requester: string, max = Infinity): boolean {
    return this.open.tryOpen(requester, max);
  }

  /** Gives back a place taken by `reserve` for a job that was not added. */
  unreserve(requester: string): void {
    this.open.close(requester);
  }

  openOf(requester: string): number {
    return this.open.of(requester);
  }

  /** Adds a job whose place `reserve` took. */
  add(job: ActiveJob): void {
    this.jobs.set(job.id, job);
  }

  /** Removes a finished job and gives back its place. */
  remove(job: ActiveJob): void {
    if (this.jobs.delete(job.id)) this.open.close(job.record.requester);
  }
}
