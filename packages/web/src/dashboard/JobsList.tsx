/** Jobs, newest first, with live progress (polled; a job's own page follows it by SSE). */
import { listJobs } from '@lode/sdk';
import { errorText, jobReaders, rememberReader } from '../shared/client.js';
import { ago, formatDuration, shortId } from '../shared/format.js';
import { usePoll } from './hooks.js';
import { Progress, StatusBadge } from './Progress.js';

/** The jobs of every account this page reads as, newest first. */
async function listMine(limit: number, signal: AbortSignal) {
  const readers = await jobReaders();
  if (readers.length === 0) throw new Error('Sign in to see your jobs: open the dashboard link `lode up` printed, or submit a job from this page.');
  const lists = await Promise.all(
    readers.map(async (client) => {
      const jobs = await listJobs(client, { limit, signal });
      for (const j of jobs) rememberReader(j.id, client);
      return jobs;
    }),
  );
  const seen = new Set<string>();
  return lists
    .flat()
    .filter((j) => !seen.has(j.id) && seen.add(j.id))
    .sort((a, b) => b.createdAt - a.createdAt)
    .slice(0, limit);
}

export function JobsList({ limit, title, more }: { limit: number; title: string; more?: boolean }) {
  const { data: jobs, error } = usePoll((signal) => listMine(limit, signal), 2000, [limit]);
  const now = Date.now();
  return (
    <section>
      <div className="row spread">
        <h1 style={{ fontSize: more ? '1.15rem' : undefined }}>{title}</h1>
        <a className="button" href="#/submit">
          Submit a job
        </a>
      </div>
      {error !== undefined && <div className="notice bad">Could not list jobs: {errorText(error)}</div>}
      {!jobs ? (
        <p className="muted">Loading…</p>
      ) : jobs.length === 0 ? (
        <p className="muted">
          No jobs yet. Submit one from the <a href="#/submit">form</a>, or with <code>lode run pi --tasks 16</code>.
        </p>
      ) : (
        <div className="panel table-wrap" style={{ padding: 0 }}>
          <table data-testid="jobs">
            <thead>
              <tr>
                <th>Job</th>
                <th>Status</th>
                <th>Progress</th>
                <th>Tasks</th>
                <th>Submitted</th>
                <th>Took</th>
              </tr>
            </thead>
            <tbody>
              {jobs.map((j) => (
                <tr key={j.id} className="clickable" data-job={j.id} onClick={() => (location.hash = `#/jobs/${j.id}`)}>
                  <td>
                    <a href={`#/jobs/${j.id}`}>{j.name || 'job'}</a> <span className="mono muted">{shortId(j.id)}</span>
                  </td>
                  <td>
                    <StatusBadge status={j.waiting && j.counts.leased === 0 ? 'waiting' : j.status} />
                  </td>
                  <td>
                    <Progress job={j} testId={`progress-${j.id}`} />
                  </td>
                  <td>{j.taskCount.toLocaleString()}</td>
                  <td>{ago(j.createdAt, now)}</td>
                  <td>{j.finishedAt ? formatDuration(j.finishedAt - j.createdAt) : '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {more && jobs && jobs.length >= limit && (
        <p>
          <a href="#/jobs">All jobs →</a>
        </p>
      )}
    </section>
  );
}
