/** A job's progress: a stacked bar (done, failed, running, cancelled) and the share finished. */
import type { JobView } from '@lode/protocol';

/** Tasks that will not run again (done, failed or cancelled), out of all. */
export function finishedShare(job: JobView): number {
  if (job.taskCount === 0) return 1;
  const { done, failed, cancelled } = job.counts;
  return (done + failed + cancelled) / job.taskCount;
}

export function percentText(job: JobView): string {
  const share = finishedShare(job);
  // Never show 100% before the last task is in, nor 0% once one is.
  const pct = share >= 1 ? 100 : Math.min(99, Math.max(share > 0 ? 1 : 0, Math.floor(share * 100)));
  return `${pct}%`;
}

export function Progress({ job, testId }: { job: JobView; testId?: string }) {
  const n = Math.max(1, job.taskCount);
  const part = (k: keyof JobView['counts']) => `${(job.counts[k] / n) * 100}%`;
  return (
    <div
      className="progress"
      title={`${job.counts.done} done, ${job.counts.failed} failed, ${job.counts.leased} running, ${job.counts.queued} queued, ${job.counts.cancelled} cancelled`}
    >
      <div className="bar" role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(finishedShare(job) * 100)}>
        <span className="done" style={{ width: part('done') }} />
        <span className="failed" style={{ width: part('failed') }} />
        <span className="cancelled" style={{ width: part('cancelled') }} />
        <span className="leased" style={{ width: part('leased') }} />
      </div>
      <span className="pct" data-testid={testId}>
        {percentText(job)}
      </span>
    </div>
  );
}

export function StatusBadge({ status }: { status: string }) {
  return <span className={`badge ${status}`}>{status}</span>;
}
