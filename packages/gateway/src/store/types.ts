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
import type { LoneResult } from '../verify/loneResults.js';
import type { VerificationStats } from '../verify/jobVerification.js';
import type { EntryBytes, JobSpec, JobStatus, TaskCounts, Capabilities } from '@lode/protocol';
import type { SqlRunner } from './sql.js';
import type { AvailabilityStore } from './availabilityTypes.js';

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
  /** Tasks whose accepted result was replaced after the fact (its node was proven wrong later). */
  revisions?: JobRevisions;
}

/** A result that replaced the one accepted first (see `JobRevisions`). */
export interface TaskRevisionRecord {
  at: number;
  reason: string;
  previousNode: string;
  previousResultHash: string | null;
  /** What the replaced result had cost (token wei, as a decimal string). */
  refunded: string;
}

/** A job's revised tasks; `tasks` lists the first `MAX_LISTED_REVISIONS`. */
export interface JobRevisions {
  revised: number;
  refunded: string;
  tasks: Array<TaskRevisionRecord & { index: number }>;
}

export type EscrowState = 'none' | 'open' | 'closed';

export interface TaskResultRow {
  jobId: string;
  index: number;
  status: 'done' | 'failed' | 'cancelled';
  exitCode: number | null;
  stdout: Uint8Array;
  stderr: Uint8Array;
  /** Files, symlinks and empty directories the task left (see `EntryBytes`). */
  files: EntryBytes[];
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
  /**
   * Set when the result was taken on one node's word alone: remembered with the row (same
   * transaction) until the node passes a check; its receipt is not settled meanwhile.
   */
  lone?: LoneResult;
  /** Set when this result replaced one accepted earlier. */
  revision?: TaskRevisionRecord | null;
}

/**
 * A decided task decided again (`Store.reviseTaskResult`): its row replaced (`row`) or left as
 * it is, the receipts of the nodes that re-verified it added, the wrong node's receipt withdrawn,
 * its lone-result entry dropped — and a new one written when the new answer rests on one node alone.
 */
export interface TaskRevisionWrite {
  jobId: string;
  index: number;
  /** The replacing row (with its receipts, its `lone` entry if any, and `revision`, whose `refunded` the store sets to what it withdrew); absent: the result stands. */
  row?: TaskResultRow;
  /** Receipts of the re-verifying nodes when the result stands. */
  receipts?: TaskReceipt[];
  /** The account whose receipt for this task is withdrawn (its result was wrong). */
  withdraw?: string;
  /** Keep the task's lone-result entry (an audit without a verdict: the result still rests on its node alone). */
  keepLone?: boolean;
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

/** Which of these jobs may still be written by this gateway, checked inside the writing transaction (cluster/ownership.ts). */
export type ResultFence = (tx: SqlRunner, jobIds: string[]) => Promise<ReadonlySet<string>>;

/** Whether this gateway may send the cluster's chain transactions now, checked inside the recording transaction (cluster/ownership.ts). */
export type SenderFence = (tx: SqlRunner) => Promise<boolean>;

export interface Store {
  /** Creates or migrates the schema. Safe to call on every start and from several gateways. */
  init(): Promise<void>;
  close(): Promise<void>;

  /** Stores a blob, counted against `owner` (the account that uploaded it first) when given. */
  putBlob(sha256: string, bytes: Uint8Array, owner?: string): Promise<void>;
  /**
   * Stores a blob from a file (an upload streamed to disk; its sha256 and size already known),
   * counted against `owner`. The file may be moved: the caller removes it if it is still there.
   */
  putBlobFile(sha256: string, file: string, size: number, owner?: string): Promise<void>;
  /** Bytes of the blobs first uploaded by `owner`. */
  blobBytesOf(owner: string): Promise<number>;
  getBlob(sha256: string): Promise<Uint8Array | null>;
  /** Which of these addresses are stored. */
  hasBlobs(sha256s: string[]): Promise<Set<string>>;

  /** `specJson`: the spec already serialized (job intake does it off the event loop); default JSON.stringify(job.spec). */
  insertJob(job: JobRecord, specJson?: string): Promise<boolean>;
  /**
   * A job; with `tasks: false` its `spec.tasks` is empty (a spec can be megabytes, and views need
   * none of it). @default tasks true
   */
  getJob(id: string, opts?: { tasks?: boolean }): Promise<JobRecord | null>;
  /** Jobs as views need them: `spec.tasks` is empty. */
  listJobs(query: JobQuery): Promise<JobRecord[]>;
  /** Jobs whose status is queued or running (to resume after a restart). */
  listUnfinishedJobs(): Promise<JobRecord[]>;
  /**
   * Sets the final state; the usage totals are summed from the result rows and receipts unless
   * `usage` is given. With a `fence` (a cluster), written only while this gateway owns the job:
   * false when it does not (nothing written; its new owner finishes it).
   */
  updateJob(
    id: string,
    patch: {
      status: JobStatus;
      counts: TaskCounts;
      finishedAt: number | null;
      usage?: { fuelUsed: bigint; cost: bigint };
      verificationStats?: VerificationStats;
    },
    fence?: ResultFence,
  ): Promise<boolean>;

  /**
   * Result rows and their receipts, in one transaction; a second row for a task, or a second
   * receipt of an account for a task, is ignored. `fence` (a cluster of gateways): called first
   * in the transaction with the rows' job ids, it returns those this gateway still owns; the
   * other jobs' rows are left out and returned (without a fence: nothing is left out).
   */
  insertTaskResults(rows: TaskResultRow[], fence?: ResultFence): Promise<TaskResultRow[]>;
  /**
   * Receipts of executions after a task's result (known-answer checks); idempotent like the
   * above. With a `fence`, false (nothing written) when this gateway no longer owns the job.
   */
  insertReceipts(jobId: string, index: number, receipts: TaskReceipt[], fence?: ResultFence): Promise<boolean>;
  /** Result rows of a job ordered by index, from `offset` (an index), at most `limit`. */
  getTaskResults(jobId: string, offset: number, limit: number): Promise<TaskResultRow[]>;
  /** Indexes (and status, fuel, and the sum of receipts) of the tasks of a job that already have a result row. */
  finishedTasks(jobId: string): Promise<Array<{ index: number; status: TaskResultRow['status']; fuelUsed: number | null; amount: bigint }>>;
  /** Receipts of a job's task (for views and tests), oldest first. */
  receiptsOf(jobId: string, index: number): Promise<TaskReceipt[]>;

  /** Results taken on one node's word alone and not yet audited (written with their rows: `TaskResultRow.lone`). */
  loadLoneResults(): Promise<LoneResult[]>;
  /** Forgets these entries (their nodes passed a check); an entry is named by its task and seq, so a newer one for the task stays. */
  deleteLoneResults(keys: Array<{ jobId: string; index: number; seq: number }>): Promise<void>;
  /**
   * Applies a re-verification in one transaction (see `TaskRevisionWrite`). Throws if the task
   * has no result row yet (its first write is still in flight: try again). `withdrawn`: the
   * amount of the withdrawn receipt (0 when there was none, or it was already in a batch).
   * With a `fence` (a cluster), nothing is written and undefined returned unless the writer
   * still owns the job.
   */
  reviseTaskResult(w: TaskRevisionWrite, fence?: ResultFence): Promise<{ withdrawn: bigint } | undefined>;
  /**
   * Records a job's revised tasks (and, for a job already final, its counts, status and usage
   * recomputed from its rows). False (nothing written) when `fence` says the writer no longer owns the job.
   */
  setJobRevisions(
    jobId: string,
    revisions: JobRevisions,
    final?: { status: JobStatus; counts: TaskCounts; verificationStats: VerificationStats },
    fence?: ResultFence,
  ): Promise<boolean>;

  /** Reputation records (verify/reputation.ts). */
  /** Every stored reputation, or those of `addresses` (lowercase). */
  loadReputations(addresses?: string[]): Promise<Reputation[]>;
  saveReputations(rows: Reputation[]): Promise<void>;
  /** Evidence against a node; idempotent by hash. */
  insertEvidence(e: EvidenceRecord): Promise<void>;
  updateEvidence(
    hash: string,
    patch: { slash: EvidenceRecord['slash']; slashed?: bigint | null; txHash?: string | null; error?: string | null },
  ): Promise<void>;
  getEvidence(hash: string): Promise<EvidenceRecord | null>;
  /** Evidence by node (newest first), or by slash state (oldest first). */
  listEvidence(query: { node?: string; slash?: EvidenceRecord['slash']; limit?: number }): Promise<EvidenceRecord[]>;

  upsertNodes(nodes: NodeRecord[]): Promise<void>;
  listNodes(): Promise<NodeRecord[]>;

  /** Settlement, escrow and chain-transaction state (the ledger's side of the store). */
  readonly ledger: LedgerStore;
  /** Availability epochs, passed challenges and device records (availability/). */
  readonly availability: AvailabilityStore;
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
  /** The availability epoch a reward batch pays (no debits, no fee); null for a job batch. */
  epoch: number | null;
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
  updateBatch(
    id: number,
    patch: { status: SettlementBatch['status']; txHash?: string | null; chainBatchId?: bigint | null; finalAt?: number | null; error?: string | null },
  ): Promise<void>;
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

  /**
   * Records a signed transaction before it is sent: 'taken' (nothing written) when one for the
   * same (kind, ref) is pending or mined already — the caller awaits that one instead. With a
   * `fence` (a cluster: only the settler sends), checked in the same transaction first; throws
   * {@link NotSenderError} when it says no.
   */
  insertChainTx(tx: ChainTx, fence?: SenderFence): Promise<'recorded' | 'taken'>;
  updateChainTx(hash: string, patch: { status: ChainTx['status']; block: number | null }): Promise<void>;
  /** Sent but not yet seen mined, by nonce. */
  pendingChainTxs(sender: string): Promise<ChainTx[]>;
  chainTxsOf(kind: string, ref: string): Promise<ChainTx[]>;

  getMeta<T>(key: string): Promise<T | null>;
  setMeta(key: string, value: unknown): Promise<void>;

  /**
   * Records a faucet grant if every limit allows it, atomically (one gateway or several on one
   * database: claims are serialized by an advisory lock). Counts rows with `createdAt > now -
   * windowMs` per address, per client and in all, and sums `lode` over all time against
   * `maxTotalLode`. Refused: which limit, how many grants it counts, and when the oldest of them
   * leaves the window (`retryAt`, ms; null for the all-time sum).
   */
  claimFaucetGrant(grant: FaucetGrant, limits: FaucetLimits): Promise<FaucetClaim>;
  /** Marks a claimed grant sent. */
  completeFaucetGrant(id: number, txHashes: string[]): Promise<void>;
  /** Forgets a claimed grant nothing was sent for (it no longer counts). */
  releaseFaucetGrant(id: number): Promise<void>;
  /** Grants recorded and LODE (wei) they hand out, over all time. */
  faucetTotals(): Promise<{ grants: number; lode: bigint }>;
}

/** One faucet grant: to whom, for which client (an IPv4 address or an IPv6 /64), how much. */
export interface FaucetGrant {
  /** Lower-case 0x address. */
  address: string;
  client: string;
  lode: bigint;
  eth: bigint;
  /** ms */
  now: number;
}

/** The limits `claimFaucetGrant` checks (counts per rolling window). */
export interface FaucetLimits {
  windowMs: number;
  perAddress: number;
  perClient: number;
  total: number;
  /** Refuse a grant that would bring the all-time LODE handed out above this. */
  maxTotalLode: bigint;
}

export type FaucetClaim =
  | { granted: true; id: number }
  | { granted: false; limit: 'address' | 'client' | 'total' | 'lifetime'; count: number; retryAt: number | null };
