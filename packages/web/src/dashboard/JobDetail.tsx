/** One job: live progress (SSE), per-task status, outputs and downloads. */
import { useState } from 'react';
import { fromBase64, fromUtf8, type JobView, type TaskResultView, type TaskView } from '@lode/protocol';
import { getJob, listTasks } from '@lode/sdk';
import { errorText, readerOf, readerToken } from '../shared/client.js';
import { ago, download, formatBytes, formatDuration, formatLode, LEDGER_PENDING, shortAddress } from '../shared/format.js';
import { useJobEvents, usePoll } from './hooks.js';
import { useLedgerInfo } from './ledger.js';
import { Progress, StatusBadge } from './Progress.js';
import { verificationSummary } from './reputation.js';

const PAGE = 50;
const CELLS = 2000;

export function JobDetail({ id }: { id: string }) {
  const live = useJobEvents(id);
  // Without SSE (a proxy that buffers it), the job is still shown: polled every 2 s.
  const polled = usePoll(async (signal) => getJob(await readerOf(id), { id, signal }), live.job ? 60_000 : 2000, [id]);
  const job = live.job ?? polled.data;
  const finished = job ? ['completed', 'failed', 'cancelled'].includes(job.status) : false;
  const tasks = usePoll(async (signal) => listTasks(await readerOf(id), { id, limit: CELLS, signal }), finished ? 30_000 : 1000, [id, finished]);
  const [page, setPage] = useState(0);
  const [shown, setShown] = useState<number | undefined>();
  const ledger = useLedgerInfo(60_000).data;

  if (!job) {
    const err = live.error ?? (polled.error !== undefined ? errorText(polled.error) : undefined);
    return (
      <section>
        <h1>Job {id}</h1>
        {err ? <div className="notice bad">{err}</div> : <p className="muted">Loading…</p>}
      </section>
    );
  }
  const list = tasks.data ?? [];
  const pageTasks = list.slice(page * PAGE, page * PAGE + PAGE);
  const pages = Math.ceil(Math.min(list.length, job.taskCount) / PAGE);

  return (
    <section>
      <p>
        <a href="#/jobs">← Jobs</a>
      </p>
      <div className="row spread">
        <h1 className="break">{job.name || 'job'}</h1>
        <StatusBadge status={job.status} />
      </div>
      <div className="panel">
        <Progress job={job} testId="job-progress" />
        <p className="small muted" style={{ marginBottom: 0 }}>
          {job.counts.done} done · {job.counts.failed} failed · {job.counts.leased} running · {job.counts.queued} queued
          {job.counts.cancelled ? ` · ${job.counts.cancelled} cancelled` : ''}
          {live.live ? ` · ${live.nodesBusy} node${live.nodesBusy === 1 ? '' : 's'} busy · live` : ''}
        </p>
        {job.waiting && (
          <div className="notice warn" style={{ margin: '0.75rem 0 0' }}>
            Waiting: {job.waiting}
          </div>
        )}
      </div>

      <div className="panel">
        <dl className="facts">
          <dt>Id</dt>
          <dd className="mono">{job.id}</dd>
          <dt>Requester</dt>
          <dd className="mono">{job.requester}</dd>
          <dt>Module</dt>
          <dd className="mono">{job.module}</dd>
          <dt>Tasks</dt>
          <dd>{job.taskCount.toLocaleString()}</dd>
          <dt>Submitted</dt>
          <dd>{ago(job.createdAt)}</dd>
          <dt>Finished</dt>
          <dd>{job.finishedAt ? `${ago(job.finishedAt)} (took ${formatDuration(job.finishedAt - job.createdAt)})` : '—'}</dd>
          <dt>Deadline</dt>
          <dd>{new Date(job.deadline).toLocaleString()}</dd>
          <dt>Cost</dt>
          <UsageFacts job={job} ledgerOn={!!ledger} />
          <dt>Verification</dt>
          <VerificationFacts job={job} />
        </dl>
      </div>

      <div className="panel">
        <div className="row spread">
          <h2>Tasks</h2>
          <DownloadAll id={job.id} disabled={job.counts.done + job.counts.failed + job.counts.cancelled === 0} />
        </div>
        <div className="cells" role="img" aria-label="Task status, one square per task">
          {list.slice(0, CELLS).map((t) => (
            <span key={t.index} className={`cell ${t.status}`} title={`task ${t.index}: ${t.status}`} />
          ))}
        </div>
        {job.taskCount > CELLS && <p className="small muted">The first {CELLS.toLocaleString()} tasks are shown.</p>}
        <div className="table-wrap" style={{ marginTop: '0.75rem' }}>
          <table data-testid="tasks">
            <thead>
              <tr>
                <th>#</th>
                <th>Status</th>
                <th>Output</th>
                <th>Node</th>
                <th>Attempts</th>
                <th>Error</th>
              </tr>
            </thead>
            <tbody>
              {pageTasks.map((t) => (
                <TaskRow key={t.index} task={t} onShow={() => setShown(shown === t.index ? undefined : t.index)} shown={shown === t.index} />
              ))}
            </tbody>
          </table>
        </div>
        {pages > 1 && (
          <div className="row" style={{ marginTop: '0.5rem' }}>
            <button type="button" disabled={page === 0} onClick={() => setPage(page - 1)}>
              ← Previous
            </button>
            <span className="muted small">
              page {page + 1} of {pages}
            </span>
            <button type="button" disabled={page + 1 >= pages} onClick={() => setPage(page + 1)}>
              Next →
            </button>
          </div>
        )}
        {shown !== undefined && <TaskOutput jobId={job.id} index={shown} />}
      </div>
    </section>
  );
}

/** What the finished tasks used and cost, when the gateway reports it (`JobView.usage`). */
function UsageFacts({ job, ledgerOn }: { job: JobView; ledgerOn: boolean }) {
  const usage = job.usage;
  if (!usage) return <dd className="slot">{ledgerOn ? 'not reported by this gateway' : LEDGER_PENDING}</dd>;
  return (
    <dd data-testid="job-cost">
      {ledgerOn ? formatLode(usage.cost) : 'free (no ledger)'} <span className="muted small">· {BigInt(usage.fuelUsed).toLocaleString()} fuel</span>
    </dd>
  );
}

/** How the job's results are checked and what that took so far (`JobView.verification`). */
function VerificationFacts({ job }: { job: JobView }) {
  const v = job.verification;
  if (!v) return <dd className="slot">not reported by this gateway</dd>;
  return (
    <dd data-testid="job-verification">
      <span className="mono">{v.policy}</span>
      <span className="muted small"> · {verificationSummary(v).join(' · ')}</span>
      {job.revisions && (
        <div className="notice" data-testid="job-revisions">
          {job.revisions.revised} result(s) revised after the node they rested on was proven wrong (tasks{' '}
          {job.revisions.tasks
            .slice(0, 10)
            .map((t) => t.index)
            .join(', ')}
          {job.revisions.revised > 10 ? ', …' : ''}); {formatLode(job.revisions.refunded)} refunded.
        </div>
      )}
    </dd>
  );
}

function TaskRow({ task, onShow, shown }: { task: TaskView; onShow: () => void; shown: boolean }) {
  const ended = task.status === 'done' || task.status === 'failed';
  return (
    <tr>
      <td>{task.index}</td>
      <td>
        <StatusBadge status={task.status} />
      </td>
      <td>
        {ended && (
          <button type="button" onClick={onShow} data-testid={`show-${task.index}`}>
            {shown ? 'Hide' : 'Show'}
          </button>
        )}
      </td>
      <td className="mono" title={task.node ?? undefined}>
        {shortAddress(task.node)}
      </td>
      <td>{task.attempts}</td>
      <td className="wrap small">{task.error ? `${task.error.code}: ${task.error.message}` : ''}</td>
    </tr>
  );
}

async function fetchResults(id: string, offset: number, limit: number): Promise<TaskResultView[]> {
  const res = await fetch(`/v1/jobs/${encodeURIComponent(id)}/results?offset=${offset}&limit=${limit}`, {
    headers: { accept: 'application/json', authorization: `Bearer ${await readerToken(id)}` },
  });
  if (!res.ok) throw new Error(`The gateway answered ${res.status} for the results.`);
  return ((await res.json()) as { results: TaskResultView[] }).results;
}

function TaskOutput({ jobId, index }: { jobId: string; index: number }) {
  const { data, error } = usePoll(async () => (await fetchResults(jobId, index, 1)).find((r) => r.index === index) ?? null, 3_600_000, [jobId, index]);
  if (error !== undefined) return <div className="notice bad">{errorText(error)}</div>;
  if (data === undefined) return <p className="muted">Loading task {index}…</p>;
  if (data === null) return <p className="muted">Task {index} has no result yet.</p>;
  const stdout = fromBase64(data.stdout);
  const stderr = fromBase64(data.stderr);
  const preview = (b: Uint8Array) => (b.length === 0 ? '(empty)' : fromUtf8(b.subarray(0, 4096)) + (b.length > 4096 ? '\n…' : ''));
  return (
    <div className="panel" style={{ marginTop: '0.75rem' }} data-testid="task-output">
      <h3>
        Task {index}: {data.status}
        {data.exitCode !== null ? `, exit code ${data.exitCode}` : ''}
      </h3>
      {data.error && <div className="notice bad">{`${data.error.code}: ${data.error.message}`}</div>}
      <div className="row">
        <strong>stdout</strong> <span className="muted small">{formatBytes(stdout.length)}</span>
        {stdout.length > 0 && (
          <button type="button" onClick={() => download(`${jobId}-${index}.stdout`, stdout as Uint8Array<ArrayBuffer>)}>
            Download
          </button>
        )}
      </div>
      <pre className="output">{preview(stdout)}</pre>
      {stderr.length > 0 && (
        <>
          <div className="row" style={{ marginTop: '0.5rem' }}>
            <strong>stderr</strong> <span className="muted small">{formatBytes(stderr.length)}</span>
            <button type="button" onClick={() => download(`${jobId}-${index}.stderr`, stderr as Uint8Array<ArrayBuffer>)}>
              Download
            </button>
          </div>
          <pre className="output">{preview(stderr)}</pre>
        </>
      )}
      {data.files.length > 0 && (
        <>
          <h3 style={{ marginTop: '0.75rem' }}>Files</h3>
          <ul>
            {data.files.map((f) => {
              const bytes = fromBase64(f.data);
              return (
                <li key={f.path}>
                  <span className="mono">{f.path}</span> <span className="muted small">{formatBytes(bytes.length)}</span>{' '}
                  <button type="button" onClick={() => download(`${jobId}-${index}${f.path.replaceAll('/', '_')}`, bytes as Uint8Array<ArrayBuffer>)}>
                    Download
                  </button>
                </li>
              );
            })}
          </ul>
        </>
      )}
      <p className="small muted mono break">
        result hash {data.resultHash ?? '—'}
        {data.fuelUsed !== null ? ` · fuel ${data.fuelUsed.toLocaleString()}` : ''}
      </p>
    </div>
  );
}

/** Every result as one JSON file (`TaskResultView`s: outputs in base64), fetched page by page. */
function DownloadAll({ id, disabled }: { id: string; disabled: boolean }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const run = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const all: TaskResultView[] = [];
      // `offset` is a task index: the next page starts after the last task received.
      for (let offset = 0; ; ) {
        const page = await fetchResults(id, offset, 1000);
        all.push(...page);
        if (page.length < 1000) break;
        offset = page[page.length - 1]!.index + 1;
      }
      download(`${id}-results.json`, JSON.stringify({ job: id, results: all }, null, 1), 'application/json');
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="row">
      {error && (
        <span className="small" style={{ color: 'var(--bad)' }}>
          {error}
        </span>
      )}
      <button type="button" onClick={() => void run()} disabled={disabled || busy} data-testid="download-results">
        {busy ? 'Preparing…' : 'Download results (JSON)'}
      </button>
    </div>
  );
}
