/**
 * Live job progress for clients (SSE). Changes mark a job dirty; at most one `progress` event
 * per job per `intervalMs` is sent, and always a final `finished` event.
 */
import type { JobEvent, JobView } from '@lode/protocol';

export type JobListener = (event: JobEvent) => void;

export class JobEvents {
  private readonly listeners = new Map<string, Set<JobListener>>();
  private readonly dirty = new Map<string, () => { job: JobView; nodesBusy: number }>();
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly intervalMs = 100) {}

  start(): void {
    this.timer = setInterval(() => this.flush(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    for (const set of this.listeners.values()) set.clear();
    this.listeners.clear();
  }

  subscribe(jobId: string, fn: JobListener): () => void {
    let set = this.listeners.get(jobId);
    if (!set) this.listeners.set(jobId, (set = new Set()));
    set.add(fn);
    return () => {
      set!.delete(fn);
      if (set!.size === 0) this.listeners.delete(jobId);
    };
  }

  /** Notes that a job changed; `snapshot` is called when the next event goes out. */
  touch(jobId: string, snapshot: () => { job: JobView; nodesBusy: number }): void {
    if (this.listeners.has(jobId)) this.dirty.set(jobId, snapshot);
  }

  finished(job: JobView): void {
    this.dirty.delete(job.id);
    const set = this.listeners.get(job.id);
    if (!set) return;
    for (const fn of [...set]) fn({ type: 'finished', job });
  }

  private flush(): void {
    for (const [id, snap] of this.dirty) {
      const set = this.listeners.get(id);
      if (!set) continue;
      const { job, nodesBusy } = snap();
      for (const fn of [...set]) fn({ type: 'progress', job, nodesBusy });
    }
    this.dirty.clear();
  }
}
