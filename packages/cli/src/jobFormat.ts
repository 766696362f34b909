/** How jobs read in tables and summaries, shared by `job ls`, `job show`, `run` and `job cancel`. */
import type { JobView } from '@lode/protocol';
import { formatEther } from 'viem';
import { formatDuration, formatTime, type Column } from './output.js';

export const JOB_COLUMNS: Column<JobView>[] = [
  { header: 'id', value: (j) => j.id },
  { header: 'name', value: (j) => j.name || '-' },
  { header: 'status', value: (j) => j.status },
  { header: 'done', value: (j) => `${j.counts.done}/${j.taskCount}`, align: 'right' },
  { header: 'failed', value: (j) => j.counts.failed, align: 'right' },
  { header: 'created', value: (j) => formatTime(j.createdAt) },
  { header: 'took', value: (j) => (j.finishedAt ? formatDuration(j.finishedAt - j.createdAt) : '-'), align: 'right' },
];

/** Several lines describing one job. */
export function describeJob(job: JobView): string {
  const c = job.counts;
  return [
    `job ${job.id}${job.name ? ` (${job.name})` : ''}: ${job.status}`,
    `  tasks:     ${job.taskCount} — ${c.done} done, ${c.failed} failed, ${c.leased} running, ${c.queued} queued, ${c.cancelled} cancelled`,
    `  requester: ${job.requester}`,
    `  module:    ${job.module}`,
    `  created:   ${formatTime(job.createdAt)}${job.finishedAt ? `, finished ${formatTime(job.finishedAt)} (${formatDuration(job.finishedAt - job.createdAt)})` : ''}`,
    `  deadline:  ${formatTime(job.deadline)}`,
    ...(job.waiting ? [`  waiting:   ${job.waiting}`] : []),
    ...(job.revisions ? [`  revised:   ${revisionsLine(job.revisions)}`] : []),
  ].join('\n');
}

/**
 * "2 task(s) (3, 7) re-verified after their node was proven wrong; 0.002 LODE refunded": what a
 * job's revisions say (see JobView.revisions).
 */
export function revisionsLine(r: NonNullable<JobView['revisions']>): string {
  const tasks = r.tasks
    .slice(0, 10)
    .map((t) => t.index)
    .join(', ');
  const more = r.revised > 10 ? `, +${r.revised - 10} more` : '';
  return `${r.revised} task(s) (${tasks}${more}) re-verified after the node they rested on was proven wrong; ${formatEther(BigInt(r.refunded))} LODE refunded`;
}

/** Why a job's tasks are not running, as `lode run` reports it while it waits. */
export function waitingLine(job: JobView): string {
  return `job ${job.id} is waiting: ${job.waiting ?? 'its tasks are queued'}`;
}
