/**
 * The Store contract: everything the gateway persists. Two implementations share one schema
 * and one SQL dialect — PGlite (embedded, in the data directory) and a PostgreSQL server — and
 * one compliance suite (`store.suite.ts`).
 *
 * What lives where (see docs/architecture.md):
 * - The hot path (queue, leases, attempts) lives in memory in the scheduler.
 * - A job row is written, and committed, before the submit request is answered: an accepted
 *   job is never lost.
 * - A task gets a result row only when it reaches a terminal state (done/failed/cancelled);
 *   rows are written in multi-row statements by the group committer. After a restart, a task of
 *   an unfinished job with no result row is queued again (at-least-once execution,
 *   exactly-once result: `insertTaskResults` ignores a second row for the same task).
 *
 * Guarantees every implementation gives:
 * - `insertJob` is atomic and idempotent: inserting an existing id returns false and changes nothing.
 * - `insertTaskResults` is atomic for the whole batch, keeps the first row per (jobId, index).
 * - Blobs are immutable; `putBlob` of an existing address is a no-op.
 * - All methods may be called concurrently.
 */
import type { JobSpec, JobStatus, TaskCounts, Capabilities } from '@lode/protocol';

export interface JobRecord {
  id: string;
  name: string;
  requester: string;
  module: string;
  spec: JobSpec;
  signature: string;
  status: JobStatus;
  taskCount: number;
  /** Final counts; kept up to date in memory while the job runs, written at finish. */
  counts: TaskCounts;
  createdAt: number;
  finishedAt: number | null;
  deadline: number;
}

export interface TaskResultRow {
  jobId: string;
  index: number;
  status: 'done' | 'failed' | 'cancelled';
  exitCode: number | null;
  stdout: Uint8Array;
  stderr: Uint8Array;
  files: { path: string; data: Uint8Array }[];
  deleted: string[];
  resultHash: string | null;
  node: string | null;
  attempts: number;
  error: { code: string; message: string } | null;
  finishedAt: number;
}

export interface NodeRecord {
  address: string;
  capabilities: Capabilities;
  completed: number;
  failed: number;
  firstSeenAt: number;
  lastSeenAt: number;
}

export interface JobQuery {
  requester?: string;
  status?: JobStatus;
  /** @default 50 */
  limit?: number;
  /** Jobs created strictly before this time (ms), for paging. */
  before?: number;
}

export interface Store {
  /** Creates or migrates the schema. Safe to call on every start and from several gateways. */
  init(): Promise<void>;
  close(): Promise<void>;

  putBlob(sha256: string, bytes: Uint8Array): Promise<void>;
  getBlob(sha256: string): Promise<Uint8Array | null>;
  /** Which of these addresses are stored. */
  hasBlobs(sha256s: string[]): Promise<Set<string>>;

  insertJob(job: JobRecord): Promise<boolean>;
  getJob(id: string): Promise<JobRecord | null>;
  listJobs(query: JobQuery): Promise<JobRecord[]>;
  /** Jobs whose status is queued or running (to resume after a restart). */
  listUnfinishedJobs(): Promise<JobRecord[]>;
  updateJob(id: string, patch: { status: JobStatus; counts: TaskCounts; finishedAt: number | null }): Promise<void>;

  insertTaskResults(rows: TaskResultRow[]): Promise<void>;
  /** Result rows of a job ordered by index, from `offset` (an index), at most `limit`. */
  getTaskResults(jobId: string, offset: number, limit: number): Promise<TaskResultRow[]>;
  /** Indexes (and status) of the tasks of a job that already have a result row. */
  finishedTasks(jobId: string): Promise<Array<{ index: number; status: TaskResultRow['status'] }>>;

  upsertNodes(nodes: NodeRecord[]): Promise<void>;
  listNodes(): Promise<NodeRecord[]>;
}
