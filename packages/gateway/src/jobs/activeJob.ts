/**
 * The in-memory state of a job that is still running: one byte of state per task, the queue of
 * its tasks waiting for a node, and live counts. This is the hot path: no allocation per task
 * beyond the queue entry, and no database access.
 */
import { maxJobCost, verificationName, type JobSpec, type JobStatus, type TaskCounts, type JobView } from '@lode/protocol';
import type { JobRecord, JobRevisions, Store, TaskRevisionRecord } from '../store/types.js';
import { JobVerification, NO_VERIFICATION_STATS } from '../verify/jobVerification.js';
import { policyFor } from '../verify/trustConfig.js';

export const TaskState = { Queued: 0, Leased: 1, Done: 2, Failed: 3, Cancelled: 4 } as const;
export type TaskState = (typeof TaskState)[keyof typeof TaskState];

export function isTerminal(s: number): boolean {
  return s >= TaskState.Done;
}

export class ActiveJob {
  readonly id: string;
  readonly spec: JobSpec;
  readonly record: JobRecord;
  readonly state: Uint8Array;
  readonly attempts: Uint8Array;
  /** Node that holds or held each task (for views); sparse. */
  readonly nodeOf = new Map<number, string>();
  readonly errors = new Map<number, { code: string; message: string }>();
  readonly counts: TaskCounts = { queued: 0, leased: 0, done: 0, failed: 0, cancelled: 0 };
  /** Fuel used and cost of the tasks ended so far. */
  readonly usage = { fuelUsed: 0n, cost: 0n };
  /** The job's verification: its policy, the replica sets of tasks being verified, known answers. */
  readonly verification: JobVerification<unknown>;
  /**
   * Replicas waiting for a node: task index → entries. A task here is already leased at least
   * once (state Leased); these go out before new tasks so that verification finishes quickly.
   */
  readonly replicas = new Map<number, number>();
  /** Tasks with a speculative copy waiting for a node (a straggling lease's backup). */
  readonly speculative = new Set<number>();
  /**
   * What receipts of this job have charged so far (restored from the store at a restart), and the
   * most they may: the escrow the job was accepted with (`maxJobCost` of its spec).
   */
  private charged = 0n;
  private chargeCap: bigint | undefined;
  /** Writes in flight that are not result rows (known-answer receipts, revisions); the job finishes after them. */
  pendingWrites = 0;
  /** Tasks whose accepted result was replaced after the fact (jobs/revisions.ts). */
  readonly revisions: { revised: number; refunded: bigint; tasks: Array<TaskRevisionRecord & { index: number }> } = { revised: 0, refunded: 0n, tasks: [] };
  /** Its results taken on one node's word alone and not audited yet (set by jobs/revisions.ts). */
  unaudited: (() => number) | undefined;
  /** When it began waiting, all tasks decided, for the audit of such results (ms). */
  auditsFrom: number | undefined;
  /** Run times (ms) of its tasks as nodes report them (for straggler detection). */
  avgTaskMs: number | undefined;
  /** Tasks whose terminal result row is durably committed. The job finishes when this reaches taskCount. */
  committed = 0;
  status: JobStatus;
  finishing = false;
  /** Resolves once the job's final status is recorded. */
  readonly finished: Promise<void>;
  markFinished!: () => void;

  private queue: number[] = [];
  private head = 0;

  /**
   * `verification`: built by the job manager from the spec's policy and the gateway's reputation
   * book (see trust/trustService.ts); the default knows no node (for unit tests).
   */
  constructor(record: JobRecord, verification?: JobVerification<unknown>) {
    this.id = record.id;
    this.verification =
      verification ??
      new JobVerification(policyFor(record.spec.verification), { credibility: () => 0, isNewcomer: () => true, random: Math.random, now: Date.now });
    this.spec = record.spec;
    this.record = record;
    this.status = record.status;
    const n = record.taskCount;
    // Every task starts queued (state 0) but not yet in the queue: `enqueue` or `restore` places it.
    this.state = new Uint8Array(n);
    this.attempts = new Uint8Array(n);
    this.counts.queued = n;
    this.finished = new Promise((resolve) => (this.markFinished = resolve));
  }

  get taskCount(): number {
    return this.state.length;
  }

  /** Marks a task queued and appends it to this job's queue. */
  enqueue(index: number): void {
    if (this.state[index] !== TaskState.Queued) this.setState(index, TaskState.Queued);
    this.queue.push(index);
  }

  /** The next queued task, or -1. Skips entries whose state changed (cancelled, finished). */
  dequeue(): number {
    while (this.head < this.queue.length) {
      const i = this.queue[this.head++]!;
      if (this.state[i] === TaskState.Queued) {
        if (this.head > 4096 && this.head * 2 > this.queue.length) {
          this.queue = this.queue.slice(this.head);
          this.head = 0;
        }
        return i;
      }
    }
    return -1;
  }

  hasQueued(): boolean {
    return this.counts.queued > 0 || this.replicas.size > 0;
  }

  /** Adds `count` replica entries for a task in verification. */
  addReplicas(index: number, count: number): void {
    if (count > 0) this.replicas.set(index, (this.replicas.get(index) ?? 0) + count);
  }

  /**
   * The first task waiting for a replica that `allowed` lets this node take, looking at no more
   * than `maxScan` tasks; -1 if none. Entries of tasks that ended meanwhile are dropped (and the
   * verifier told). The entry taken is counted off.
   */
  takeReplica(allowed: (index: number) => boolean, maxScan = 256): number {
    let scanned = 0;
    for (const [index, n] of this.replicas) {
      if (isTerminal(this.state[index]!)) {
        this.replicas.delete(index);
        this.speculative.delete(index);
        for (let k = 0; k < n; k++) this.verification.unqueued(index);
        continue;
      }
      if (++scanned > maxScan) break;
      if (!allowed(index)) continue;
      if (n <= 1) this.replicas.delete(index);
      else this.replicas.set(index, n - 1);
      return index;
    }
    return -1;
  }

  /** Whether several nodes verify its tasks (its leases count against a node's verified capacity). */
  get verified(): boolean {
    return !this.verification.policy.trivial;
  }

  /** Task `index` was leased to `node`: one attempt more (the scheduler's only write to a job). */
  leased(index: number, node: string): void {
    this.setState(index, TaskState.Leased);
    this.attempts[index] = Math.min(255, this.attempts[index]! + 1);
    this.nodeOf.set(index, node);
  }

  /** A node reported a task's run time (ms): the job's moving average, for straggler detection. */
  ran(ms: number): void {
    this.avgTaskMs = this.avgTaskMs === undefined ? ms : this.avgTaskMs * 0.9 + ms * 0.1;
  }

  /** Whether the replica of task `index` just taken is a straggler's speculative copy (forgets it). */
  takeSpeculative(index: number): boolean {
    return this.speculative.delete(index);
  }

  /** Moves a task between states, keeping counts exact. */
  setState(index: number, next: TaskState): void {
    const prev = this.state[index]!;
    this.counts[NAMES[prev]!]--;
    this.state[index] = next;
    if (next === TaskState.Leased && this.status === 'queued') this.status = 'running';
    this.counts[NAMES[next]!]++;
  }

  /**
   * Restores the tasks whose result rows are committed (a job resumed after a restart, or a final
   * job reopened): their terminal states (no queue entries), usage, and receipts charged against
   * the escrow.
   */
  restoreFinished(rows: Awaited<ReturnType<Store['finishedTasks']>>): void {
    for (const f of rows) {
      this.setState(f.index, f.status === 'done' ? TaskState.Done : f.status === 'failed' ? TaskState.Failed : TaskState.Cancelled);
      this.addUsage(f.fuelUsed ?? 0, f.amount);
      this.charged += f.amount;
    }
    this.committed = rows.length;
  }

  /**
   * Charges up to `amount` against the job's escrow; returns what was charged (less when the
   * escrow would be exceeded: a job's receipts never add up to more than it escrowed).
   */
  charge(amount: bigint): bigint {
    this.chargeCap ??= maxJobCost(this.spec);
    const left = this.chargeCap - this.charged;
    const charged = amount < left ? amount : left > 0n ? left : 0n;
    this.charged += charged;
    return charged;
  }

  /** Gives back what a withdrawn receipt had charged (its result was proven wrong). */
  uncharge(amount: bigint): void {
    this.charged = this.charged > amount ? this.charged - amount : 0n;
  }

  /** Records a task's result replaced after the fact (the first `MAX_LISTED_REVISIONS` are listed). */
  recordRevision(index: number, r: TaskRevisionRecord): void {
    this.revisions.revised++;
    this.revisions.refunded += BigInt(r.refunded);
    if (this.revisions.tasks.length < MAX_LISTED_REVISIONS) this.revisions.tasks.push({ index, ...r });
  }

  /** The revisions as stored and shown. */
  revisionsRecord(): JobRevisions {
    return { revised: this.revisions.revised, refunded: this.revisions.refunded.toString(), tasks: [...this.revisions.tasks] };
  }

  addUsage(fuelUsed: number, cost: bigint): void {
    this.usage.fuelUsed += BigInt(fuelUsed);
    this.usage.cost += cost;
  }

  allTerminal(): boolean {
    return this.counts.done + this.counts.failed + this.counts.cancelled === this.taskCount;
  }

  /** Final status once every task is terminal. */
  finalStatus(): JobStatus {
    if (this.status === 'cancelled' || this.counts.cancelled > 0) return 'cancelled';
    return this.counts.failed > 0 ? 'failed' : 'completed';
  }

  view(): JobView {
    const v = this.verification;
    const unaudited = this.unaudited?.() ?? 0;
    return {
      id: this.id,
      name: this.record.name,
      requester: this.record.requester,
      module: this.record.module,
      status: this.status,
      taskCount: this.taskCount,
      counts: { ...this.counts },
      createdAt: this.record.createdAt,
      finishedAt: this.record.finishedAt,
      deadline: this.record.deadline,
      usage: { fuelUsed: this.usage.fuelUsed.toString(), cost: this.usage.cost.toString() },
      verification: { policy: verificationName(this.spec.verification), inVerification: v.inVerification, ...v.stats },
      ...(this.revisions.revised > 0 ? { revisions: this.revisionsRecord() } : {}),
      ...(unaudited > 0 ? { unaudited } : {}),
      ...(unaudited > 0 && this.auditsFrom !== undefined && this.record.finishedAt === null
        ? {
            waiting: `Every task is decided; ${unaudited} result(s) taken on one node's word alone are being audited (another node checks each such node once) before the job is final.`,
          }
        : {}),
    };
  }
}

/** Revised tasks listed in a job's view (all are counted). */
export const MAX_LISTED_REVISIONS = 100;

const NAMES = ['queued', 'leased', 'done', 'failed', 'cancelled'] as const;

export function recordView(r: JobRecord): JobView {
  return {
    id: r.id,
    name: r.name,
    requester: r.requester,
    module: r.module,
    status: r.status,
    taskCount: r.taskCount,
    counts: r.counts,
    createdAt: r.createdAt,
    finishedAt: r.finishedAt,
    deadline: r.deadline,
    ...(r.usage ? { usage: { fuelUsed: r.usage.fuelUsed.toString(), cost: r.usage.cost.toString() } } : {}),
    verification: { policy: verificationName(r.spec.verification), inVerification: 0, ...(r.verificationStats ?? NO_VERIFICATION_STATS) },
    ...(r.revisions && r.revisions.revised > 0 ? { revisions: r.revisions } : {}),
  };
}
