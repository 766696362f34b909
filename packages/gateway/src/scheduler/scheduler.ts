/**
 * The scheduler: matches queued tasks to node capacity and tracks leases.
 *
 * Guarantees:
 * - A task is leased to at most one node session at a time; a lease ends exactly once, by a
 *   result (`complete`), by its node leaving (`removeSession` → requeued), by expiry
 *   (`onExpired`) or by cancellation (`cancelJob`).
 * - Jobs share capacity round-robin, so one large job cannot starve a small one.
 * - Each node is offered up to `capacity` leases (slots × pipeline depth) so that the next task
 *   is already on the node when one finishes; leases are sent in one frame per node per pump.
 *   The depth adapts per node: it starts at `pipelineDepth` and grows while tasks are short, so
 *   that a node holds about `queueTargetMs` of work per slot (tiny tasks travel in big batches;
 *   long tasks are not hoarded by one node while others idle).
 * - `pump` is coalesced: any number of triggers in one tick cause one pass, and a pass looks only
 *   at the sessions that may have room (`open`: added, or a lease of theirs ended, since they were
 *   last found full), not at every connected one: with many nodes busy, a pass costs what the
 *   free ones cost.
 * - Verification (through `trust`): a job's replicas waiting for a node go out before its new
 *   tasks, each only to a node the verifier allows (never a second replica to one account); a
 *   node on probation holds at most `trust.verifiedCapacity` leases of verified jobs; a lease may
 *   bring a known-answer (canary) lease for the same node with it, in the same frame.
 */
import type { JobSpec, Lease, LeaseLimits, SessionProof } from '@lode/protocol';
import { taskSeed } from '@lode/protocol';
import type { Clock } from '../clock.js';
import { DEFAULT_FILTERS, matchAll, priceThenLoad, type MatchFilter, type NodeFacts, type Ranker } from './policy.js';

/**
 * What the scheduler needs of a job: its spec, its queues, and one call to record a lease. The
 * scheduler owns leases, not jobs; `J` (jobs/activeJob.ts) is the one the gateway runs.
 */
export interface TaskSource {
  readonly id: string;
  readonly spec: JobSpec;
  /** Whether several nodes verify its tasks (such leases count against a node's verified capacity). */
  readonly verified: boolean;
  /** Replicas waiting for a node (they go out before new tasks). */
  readonly replicas: { readonly size: number };
  hasQueued(): boolean;
  /** The next queued task, or -1. */
  dequeue(): number;
  /** The next waiting replica that `allowed` accepts, or -1. */
  takeReplica(allowed: (index: number) => boolean): number;
  /** Whether the replica of task `index` just taken is a straggler's speculative copy. */
  takeSpeculative(index: number): boolean;
  /** Task `index` was leased to `node` (not called for known-answer leases). */
  leased(index: number, node: string): void;
  /** A node reported a task's run time (ms). */
  ran(ms: number): void;
}

/** What the scheduler needs from a connected node session. */
export interface SessionPort<J extends TaskSource = TaskSource> extends NodeFacts {
  readonly id: string;
  /** The node's remote (IP) address, for spreading replicas of a task. @default '' */
  readonly remote?: string;
  /** Leases of verified (non-`none`) jobs held now. */
  verifiedInflight?: number;
  /** The signed hello that opened the session (evidence against the node names it). */
  readonly proof?: SessionProof;
  /** Moving average of this node's task run time, ms (updated by the scheduler). */
  avgTaskMs?: number;
  /** True once the node said it drains: no new leases. */
  draining: boolean;
  readonly leases: Map<string, LeaseRecord<J>>;
  sendLeases(leases: Lease[]): void;
  sendCancel(leaseIds: string[]): void;
}

export interface LeaseRecord<J extends TaskSource = TaskSource> {
  leaseId: string;
  job: J;
  index: number;
  session: SessionPort<J>;
  expiresAt: number;
  issuedAt: number;
  /**
   * task: the task (or one of its replicas); speculative: a backup copy of a straggling lease;
   * canary: a known-answer check — a task already verified, leased again to test the node.
   */
  kind: 'task' | 'speculative' | 'canary';
}

/** A known-answer check to lease with a task: the task to lease again (the rest is verification's). */
export interface CanaryPick {
  readonly index: number;
}

/** What verification asks of the scheduler (implemented by jobs/schedulerHooks.ts). */
export interface SchedulerTrust<J extends TaskSource = TaskSource> {
  /** May this node take a replica of task `index` of `job` now? */
  allowsReplica(job: J, index: number, node: SessionPort<J>): boolean;
  /**
   * A task lease was issued (recorded on the job's verification). Returns a task of the job to
   * lease to the same node as a known-answer check (its index, and what verification needs back
   * in `canaryIssued`), or undefined.
   */
  issued(lease: LeaseRecord<J>): CanaryPick | undefined;
  /** The known-answer lease that `issued` asked for was issued. */
  canaryIssued(lease: LeaseRecord<J>, pick: CanaryPick): void;
  /** Leases of verified jobs this node may hold at once (a node on probation holds few). */
  verifiedCapacity(node: SessionPort<J>): number;
  /** Whether the node is on probation (no checked result yet). */
  onProbation(node: SessionPort<J>): boolean;
  /** Whether nodes on probation should be served first now (they got less than their share lately). */
  probationFirst(): boolean;
}

export interface SchedulerOptions<J extends TaskSource = TaskSource> {
  clock: Clock;
  filters?: readonly MatchFilter[];
  ranker?: Ranker;
  /** Leases per slot kept on a node, at least. @default 2 */
  pipelineDepth?: number;
  /** Leases per slot kept on a node, at most (reached when tasks are tiny). @default 32 */
  maxPipelineDepth?: number;
  /** Work, in ms of task run time, to keep queued per slot on a node. @default 10 */
  queueTargetMs?: number;
  /** Added to a task's wall time to get its lease deadline. @default 10_000 */
  leaseGraceMs?: number;
  /** How often expired leases are looked for. @default 500 */
  expiryScanMs?: number;
  /** Called when a lease expires or its node leaves; the owner decides to requeue or fail. */
  onLeaseLost(lease: LeaseRecord<J>, reason: 'expired' | 'node-left'): void;
  /** Verification hooks; absent: every job is served as `none`. */
  trust?: SchedulerTrust<J>;
}

export class Scheduler<J extends TaskSource = TaskSource> {
  private readonly sessions = new Map<string, SessionPort<J>>();
  /** Sessions that may have room for a lease: the only ones a pump looks at. */
  private readonly open = new Set<SessionPort<J>>();
  private readonly jobs: J[] = [];
  private rr = 0;
  private pumpScheduled = false;
  private leaseSeq = 0;
  private expiryTimer: ReturnType<typeof setInterval> | undefined;
  private readonly filters: readonly MatchFilter[];
  private readonly ranker: Ranker;
  private readonly depth: number;
  private readonly maxDepth: number;
  private readonly queueTargetMs: number;
  private readonly grace: number;

  constructor(private readonly opts: SchedulerOptions<J>) {
    this.filters = opts.filters ?? DEFAULT_FILTERS;
    this.ranker = opts.ranker ?? priceThenLoad;
    this.depth = opts.pipelineDepth ?? 2;
    this.maxDepth = Math.max(this.depth, opts.maxPipelineDepth ?? 32);
    this.queueTargetMs = opts.queueTargetMs ?? 10;
    this.grace = opts.leaseGraceMs ?? 10_000;
  }

  start(): void {
    this.expiryTimer = setInterval(() => this.expireLeases(), this.opts.expiryScanMs ?? 500);
    this.expiryTimer.unref();
  }

  stop(): void {
    if (this.expiryTimer) clearInterval(this.expiryTimer);
  }

  capacityOf(slots: number): number {
    return slots * this.depth;
  }

  addSession(session: SessionPort<J>): void {
    this.sessions.set(session.id, session);
    this.open.add(session);
    this.schedulePump();
  }

  /** A session that took no new leases for a while (asked to move, and stayed) may get work again. */
  resume(session: SessionPort<J>): void {
    if (!this.sessions.has(session.id)) return;
    this.open.add(session);
    this.schedulePump();
  }

  /** Forgets a session; each lease it held is handed to `onLeaseLost(…, 'node-left')`. */
  removeSession(session: SessionPort<J>): void {
    if (!this.sessions.delete(session.id)) return;
    this.open.delete(session);
    const held = [...session.leases.values()];
    session.leases.clear();
    session.inflight = 0;
    session.verifiedInflight = 0;
    for (const l of held) this.opts.onLeaseLost(l, 'node-left');
    this.schedulePump();
  }

  /** Makes a job's queued tasks eligible for dispatch. Call after enqueueing tasks on it. */
  addJob(job: J): void {
    if (!this.jobs.includes(job)) this.jobs.push(job);
    this.schedulePump();
  }

  removeJob(job: J): void {
    const i = this.jobs.indexOf(job);
    if (i >= 0) this.jobs.splice(i, 1);
  }

  /**
   * Ends a lease because its result arrived; `runMs` (the node's report of the task's run time)
   * tunes the node's pipeline depth. Returns the lease, or undefined if the session does not hold it.
   */
  complete(session: SessionPort<J>, leaseId: string, runMs?: number): LeaseRecord<J> | undefined {
    const lease = session.leases.get(leaseId);
    if (!lease) return undefined;
    this.release(lease);
    if (runMs !== undefined && Number.isFinite(runMs) && runMs >= 0) {
      this.observe(session, runMs);
      if (lease.kind !== 'canary') lease.job.ran(runMs);
    }
    this.schedulePump();
    return lease;
  }

  /** Folds a task run time into the node's average and resizes its capacity. */
  private observe(session: SessionPort<J>, runMs: number): void {
    const avg = session.avgTaskMs === undefined ? runMs : session.avgTaskMs * 0.9 + runMs * 0.1;
    session.avgTaskMs = avg;
    const depth = Math.min(this.maxDepth, Math.max(this.depth, Math.round(this.queueTargetMs / Math.max(avg, 0.01))));
    session.capacity = session.capabilities.slots * depth;
  }

  /** Ends every lease of a job (cancellation). Nodes are told to drop them. */
  cancelJob(job: J): void {
    this.removeJob(job);
    for (const s of this.sessions.values()) {
      const ids: string[] = [];
      for (const [id, l] of s.leases) {
        if (l.job === job) {
          this.release(l);
          ids.push(id);
        }
      }
      if (ids.length) s.sendCancel(ids);
    }
    this.schedulePump();
  }

  /**
   * Ends these leases at once and tells their nodes to drop them (the replicas still out when a
   * task is decided: the first valid result wins). Leases no longer held are skipped.
   */
  cancelLeases(leases: Iterable<{ leaseId: string; session: SessionPort<J> }>): void {
    const bySession = new Map<SessionPort<J>, string[]>();
    for (const { leaseId, session } of leases) {
      const l = session.leases.get(leaseId);
      if (!l) continue;
      this.release(l);
      let ids = bySession.get(session);
      if (!ids) bySession.set(session, (ids = []));
      ids.push(leaseId);
    }
    for (const [s, ids] of bySession) s.sendCancel(ids);
    if (bySession.size) this.schedulePump();
  }

  /** Every connected session (for the straggler scan and views). */
  allSessions(): Iterable<SessionPort<J>> {
    return this.sessions.values();
  }

  schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  /** Number of node sessions holding at least one lease. */
  busyNodes(): number {
    let n = 0;
    for (const s of this.sessions.values()) if (s.inflight > 0) n++;
    return n;
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  /** One dispatch pass: fill every node's free capacity from the jobs, round-robin. */
  pump(): void {
    if (this.jobs.length === 0 || this.sessions.size === 0) return;
    const now = this.opts.clock.now();
    const nodes: SessionPort<J>[] = [];
    for (const s of this.open) {
      if (!s.draining && s.inflight < s.capacity) nodes.push(s);
      else this.open.delete(s); // full: back when one of its leases ends
    }
    if (nodes.length === 0) return;
    nodes.sort((a, b) => this.ranker.compare(a, b));
    const trust = this.opts.trust;
    if (trust?.probationFirst()) {
      const first = nodes.filter((n) => trust.onProbation(n));
      if (first.length > 0 && first.length < nodes.length) nodes.splice(0, nodes.length, ...first, ...nodes.filter((n) => !trust.onProbation(n)));
    }
    const out = new Map<SessionPort<J>, Lease[]>();

    // Round-robin over jobs; within a job, fill the best-ranked eligible nodes first.
    let idle = 0;
    while (idle < this.jobs.length && nodes.some((n) => n.inflight < n.capacity)) {
      const job = this.jobs[this.rr % this.jobs.length]!;
      this.rr = (this.rr + 1) % Math.max(1, this.jobs.length);
      if (!job.hasQueued()) {
        idle++;
        continue;
      }
      let placed = false;
      for (const node of nodes) {
        if (node.inflight >= node.capacity) continue;
        if (!this.matches(job, node)) continue;
        // Give this job a fair chunk on this node before moving to the next job.
        const chunk = Math.max(1, Math.ceil((node.capacity - node.inflight) / this.jobs.length));
        for (let k = 0; k < chunk && node.inflight < node.capacity; k++) {
          const taken = this.take(job, node);
          if (!taken) break;
          const { record, lease } = this.issue(job, taken.index, node, now, taken.kind);
          let batch = out.get(node);
          if (!batch) out.set(node, (batch = []));
          batch.push(lease);
          placed = true;
          const canary = trust?.issued(record);
          if (canary) {
            const c = this.issue(job, canary.index, node, now, 'canary');
            trust!.canaryIssued(c.record, canary);
            batch.push(c.lease);
          }
        }
        if (!job.hasQueued()) break;
      }
      idle = placed ? 0 : idle + 1;
    }
    for (const [node, leases] of out) node.sendLeases(leases);
  }

  /** Whether this node passes the scheduler's match filters for the job. */
  matches(job: J, node: SessionPort<J>): boolean {
    return matchAll(this.filters, job.spec, node).ok;
  }

  /** Why no connected node can take this job (for a clear status); empty if some can. */
  unmatchedReasons(job: J): string[] {
    const reasons: string[] = [];
    for (const s of this.sessions.values()) {
      const r = matchAll(this.filters, job.spec, s);
      if (r.ok) return [];
      reasons.push(`${s.address}: ${r.reason}`);
    }
    return reasons;
  }

  /**
   * The next task of `job` for `node`: a replica waiting for a node this one may take, else a
   * new task; undefined when there is none (or the node holds all the verified work it may).
   */
  private take(job: J, node: SessionPort<J>): { index: number; kind: LeaseRecord<J>['kind'] } | undefined {
    const trust = this.opts.trust;
    const verified = trust !== undefined && job.verified;
    if (verified && (node.verifiedInflight ?? 0) >= trust.verifiedCapacity(node)) return undefined;
    if (trust && job.replicas.size > 0) {
      const index = job.takeReplica((i) => trust.allowsReplica(job, i, node));
      if (index >= 0) {
        return { index, kind: job.takeSpeculative(index) ? 'speculative' : 'task' };
      }
    }
    const index = job.dequeue();
    return index < 0 ? undefined : { index, kind: 'task' };
  }

  private issue(job: J, index: number, node: SessionPort<J>, now: number, kind: LeaseRecord<J>['kind']): { record: LeaseRecord<J>; lease: Lease } {
    const leaseId = `${node.id}.${(this.leaseSeq++).toString(36)}`;
    const limits: LeaseLimits = {
      memoryMiB: job.spec.resources.memoryMiB,
      wallMs: job.spec.limits.wallMs,
      maxOutputBytes: job.spec.limits.maxOutputBytes,
      fuel: job.spec.limits.fuel,
    };
    const expiresAt = now + limits.wallMs + this.grace;
    if (kind !== 'canary') job.leased(index, node.address);
    const record: LeaseRecord<J> = { leaseId, job, index, session: node, expiresAt, issuedAt: now, kind };
    node.leases.set(leaseId, record);
    node.inflight++;
    if (job.verified) node.verifiedInflight = (node.verifiedInflight ?? 0) + 1;
    const lease: Lease = {
      leaseId,
      jobId: job.id,
      taskIndex: index,
      module: job.spec.module,
      input: job.spec.tasks[index]!,
      limits,
      seed: taskSeed(job.id, index),
      expiresAt,
    };
    return { record, lease };
  }

  private expireLeases(): void {
    const now = this.opts.clock.now();
    for (const s of this.sessions.values()) {
      const expired: LeaseRecord<J>[] = [];
      for (const l of s.leases.values()) if (l.expiresAt <= now) expired.push(l);
      if (expired.length === 0) continue;
      for (const l of expired) this.release(l);
      s.sendCancel(expired.map((l) => l.leaseId));
      for (const l of expired) this.opts.onLeaseLost(l, 'expired');
    }
    this.schedulePump();
  }

  /** Takes a lease off its session's books; the session may have room again. */
  private release(l: LeaseRecord<J>): void {
    const s = l.session;
    if (!s.leases.delete(l.leaseId)) return;
    s.inflight--;
    if (l.job.verified) s.verifiedInflight = Math.max(0, (s.verifiedInflight ?? 1) - 1);
    if (this.sessions.has(s.id)) this.open.add(s);
  }
}
