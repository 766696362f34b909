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
import type { Reputation } from '../verify/reputation.js';
import type { VerificationStats } from '../verify/jobVerification.js';
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
  /** none: free job; open: escrow held on chain; closed: its unspent escrow was refunded. @default 'none' */
  escrow?: EscrowState;
  /** Totals over its results, recorded when the job finishes. */
  usage?: { fuelUsed: bigint; cost: bigint };
  /** What verifying its results took, recorded when the job finishes. */
  verificationStats?: VerificationStats;
}

export type EscrowState = 'none' | 'open' | 'closed';

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
  /** Fuel the task used, as the node counted it (deterministic); null when unknown. */
  fuelUsed?: number | null;
  /** The paid executions behind this result, written in the same transaction as the row. */
  receipts?: TaskReceipt[];
}

/**
 * One paid execution of a task: `result`, the node whose result was accepted; `replica`, another
 * node that agreed with it; `canary`, a passed known-answer check; `unverified`, a result of a
 * task whose replicas never agreed (the node did the work; nobody was proven wrong).
 */
export interface TaskReceipt {
  payee: string;
  amount: bigint;
  fuelUsed: number | null;
  kind: 'result' | 'replica' | 'canary' | 'unverified';
}

export interface EvidenceRecord {
  hash: string;
  node: string;
  jobId: string;
  index: number;
  kind: 'quorum' | 'canary';
  body: unknown;
  createdAt: number;
  /** none: no ledger to slash on; pending: to be sent; slashed; failed (see error). */
  slash: 'none' | 'pending' | 'slashed' | 'failed';
  slashed: bigint | null;
  txHash: string | null;
  error: string | null;
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
  /** Sets the final state; the usage totals are summed from the result rows and receipts unless `usage` is given. */
  updateJob(id: string, patch: { status: JobStatus; counts: TaskCounts; finishedAt: number | null; usage?: { fuelUsed: bigint; cost: bigint }; verificationStats?: VerificationStats }): Promise<void>;

  /** Result rows and their receipts, in one transaction; a second row for a task, or a second receipt of an account for a task, is ignored. */
  insertTaskResults(rows: TaskResultRow[]): Promise<void>;
  /** Receipts of executions after a task's result (known-answer checks); idempotent like the above. */
  insertReceipts(jobId: string, index: number, receipts: TaskReceipt[]): Promise<void>;
  /** Result rows of a job ordered by index, from `offset` (an index), at most `limit`. */
  getTaskResults(jobId: string, offset: number, limit: number): Promise<TaskResultRow[]>;
  /** Indexes (and status, fuel, and the sum of receipts) of the tasks of a job that already have a result row. */
  finishedTasks(jobId: string): Promise<Array<{ index: number; status: TaskResultRow['status']; fuelUsed: number | null; amount: bigint }>>;
  /** Receipts of a job's task (for views and tests), oldest first. */
  receiptsOf(jobId: string, index: number): Promise<TaskReceipt[]>;

  /** Reputation records (verify/reputation.ts). */
  loadReputations(): Promise<Reputation[]>;
  saveReputations(rows: Reputation[]): Promise<void>;
  /** Evidence against a node; idempotent by hash. */
  insertEvidence(e: EvidenceRecord): Promise<void>;
  updateEvidence(hash: string, patch: { slash: EvidenceRecord['slash']; slashed?: bigint | null; txHash?: string | null; error?: string | null }): Promise<void>;
  getEvidence(hash: string): Promise<EvidenceRecord | null>;
  /** Evidence by node (newest first), or by slash state (oldest first). */
  listEvidence(query: { node?: string; slash?: EvidenceRecord['slash']; limit?: number }): Promise<EvidenceRecord[]>;

  upsertNodes(nodes: NodeRecord[]): Promise<void>;
  listNodes(): Promise<NodeRecord[]>;

  /** Settlement, escrow and chain-transaction state (the ledger's side of the store). */
  readonly ledger: LedgerStore;
}

/** A receipt waiting for settlement: one paid result. */
export interface Receipt {
  jobId: string;
  index: number;
  payee: string;
  amount: bigint;
}

/** What a settlement batch pays: built from its receipts by the settlement service. */
export interface BatchPlan {
  root: string;
  tree: unknown;
  /** Per job: the amount debited from its escrow. */
  debits: Array<[jobId: string, amount: bigint]>;
  fee: bigint;
  payouts: Array<{ provider: string; amount: bigint; gross: bigint; tasks: number }>;
}

export interface SettlementBatch {
  id: number;
  status: 'prepared' | 'posted' | 'failed';
  root: string;
  tree: unknown;
  debits: Array<[jobId: string, amount: bigint]>;
  receipts: number;
  total: bigint;
  fee: bigint;
  createdAt: number;
  txHash: string | null;
  chainBatchId: bigint | null;
  /** Chain time (s) from which the batch is final: claims pass, challenges are closed. */
  finalAt: number | null;
  error: string | null;
}

export interface Payout {
  batchId: number;
  provider: string;
  amount: bigint;
  gross: bigint;
  tasks: number;
}

export interface ChainTx {
  hash: string;
  kind: string;
  ref: string;
  sender: string;
  nonce: number;
  raw: string;
  status: 'sent' | 'mined' | 'reverted';
  createdAt: number;
  block: number | null;
}

/**
 * Guarantees:
 * - `createBatch` takes receipts with no batch, at most `maxReceipts` (of at most `maxJobs` jobs), oldest first, and assigns
 *   them to a new batch in ONE transaction with the batch row and its payouts; a receipt is in at
 *   most one batch, ever (also with several gateways on one database: rows are claimed with
 *   `FOR UPDATE SKIP LOCKED`).
 * - A chain transaction is recorded (`insertChainTx`) before it is sent.
 */
export interface LedgerStore {
  /**
   * Folds unsettled receipts into a new 'prepared' batch; null when there are none. A batch debits
   * at most `maxJobs` jobs (each debit costs ~6,000 gas in postBatch: the bound keeps a batch
   * inside a block's gas limit); receipts of further jobs wait for the next batch.
   */
  createBatch(maxReceipts: number, now: number, plan: (receipts: Receipt[]) => BatchPlan, maxJobs?: number): Promise<SettlementBatch | null>;
  /** Batches by status (oldest first), or all when omitted. */
  listBatches(status?: SettlementBatch['status']): Promise<SettlementBatch[]>;
  updateBatch(id: number, patch: { status: SettlementBatch['status']; txHash?: string | null; chainBatchId?: bigint | null; finalAt?: number | null; error?: string | null }): Promise<void>;
  /** A provider's payouts with their batches, newest first; `from`/`to` filter on the batch's creation time (ms). */
  payoutsOf(provider: string, range?: { from?: number; to?: number }): Promise<Array<{ payout: Payout; batch: SettlementBatch }>>;
  /** Posted batches with a fee not yet sent to the treasury, final at chain time `chainNow` (s): their chain ids. */
  batchesToSweep(chainNow: number, limit: number): Promise<Array<{ id: number; chainBatchId: bigint }>>;
  markFeesSwept(ids: number[]): Promise<void>;
  /** Unsettled receipts (not batched, not held): count and sum. */
  unsettled(): Promise<{ receipts: number; amount: bigint }>;
  /**
   * Undoes a batch that was never posted (its post would revert, or its transaction reverted):
   * in one transaction the batch becomes 'failed' with `error`, its payouts are removed, the
   * receipts of `heldJobs` are held with `reason` (never batched again), and its other receipts
   * are released to the next batch. Returns how many receipts were held and released.
   */
  setAside(batchId: number, heldJobs: string[], reason: string, error: string): Promise<{ held: number; released: number }>;

  setJobEscrow(jobId: string, escrow: EscrowState): Promise<void>;
  /** Ended jobs whose escrow is still open and that have no receipt left outside a posted batch (held receipts aside). */
  jobsToClose(limit: number): Promise<string[]>;

  insertChainTx(tx: ChainTx): Promise<void>;
  updateChainTx(hash: string, patch: { status: ChainTx['status']; block: number | null }): Promise<void>;
  /** Sent but not yet seen mined, by nonce. */
  pendingChainTxs(sender: string): Promise<ChainTx[]>;
  chainTxsOf(kind: string, ref: string): Promise<ChainTx[]>;

  getMeta<T>(key: string): Promise<T | null>;
  setMeta(key: string, value: unknown): Promise<void>;
}
