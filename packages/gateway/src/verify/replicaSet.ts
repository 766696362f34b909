/**
 * One task's replicas while it is being verified: who holds or returned one (so no account gets
 * two), the votes so far, and how many replicas the policy wants out.
 *
 * Only tasks that need it have a ReplicaSet (a `none` job has none unless a straggler gets a
 * speculative copy), so the hot path of unverified jobs allocates nothing.
 */
import type { ReplicaView, Vote } from './types.js';

/**
 * Why a task already decided is decided again (`reopen`). Its accepted result rested on one
 * node's word alone (see loneResults.ts), and:
 * - `caught`: that node has since been proven wrong — other nodes re-verify the result;
 * - `audit`: that node is being checked through this result (its unchecked results grew too
 *   many or too old, or their job is ending) — one more node must agree with it.
 */
export interface Reopening<P = unknown> {
  reason: 'caught' | 'audit';
  /** The vote that was accepted (its credibility refreshed when the task is reopened). */
  original: Vote<P>;
}

export interface ReplicaLease {
  leaseId: string;
  /** Account, lowercase. */
  node: string;
  remote: string;
  /** The node's credibility when the lease was issued. */
  credibility: number;
  /** The node had no record when the lease was issued. */
  newcomer: boolean;
  /** `speculative`: a copy of a straggling lease on another node (counts as a replica). */
  kind: 'replica' | 'speculative';
  /** The caller's own record of the lease (see `LeaseRef.handle`). */
  handle?: unknown;
}

export class ReplicaSet<P = unknown> implements ReplicaView {
  readonly nodes = new Set<string>();
  private readonly remoteCounts = new Map<string, number>();
  readonly out = new Map<string, ReplicaLease>();
  readonly votes: Vote<P>[] = [];
  /** Replicas (votes plus outstanding) the policy wants. */
  wanted = 1;
  /** Fewest agreeing votes an accepted answer needs (2 for a spot check; k for replicate(k)). */
  required = 1;
  /** Replicas that ended without a vote (timeouts, crashes, departures). */
  lost = 0;
  /** Known-answer executions of this task after it was accepted (they count toward the cap). */
  canaries = 0;
  /** The task picked for a spot check. */
  audited = false;
  /** A speculative copy was given out for a straggling lease. */
  speculated = false;
  /** The next replica must go to a node with a record (see `newcomerGuard`). */
  needEstablished = false;
  /** When the task was parked at the cap waiting for its voters' records to grow (ms); null: not parked. */
  parkedAt: number | null = null;
  /** Queue entries handed to the scheduler for this task and not yet turned into leases. */
  queued = 0;
  decided = false;
  /** Set when an accepted task is decided again (see `JobVerification.reopen`). */
  reopened: Reopening<P> | undefined;

  get remotes(): ReadonlySet<string> {
    return new Set(this.remoteCounts.keys());
  }

  /** Executions that are (or will be) paid: votes and known-answer checks. */
  get executions(): number {
    return this.votes.length + this.canaries;
  }

  /** Replicas still to give out for the policy. */
  get missing(): number {
    return Math.max(0, this.wanted - this.votes.length - this.out.size);
  }

  /** Credibilities of every node assigned so far (voted or holding a lease). */
  assignedCredibilities(): number[] {
    return [...this.votes.map((v) => v.credibility), ...[...this.out.values()].map((l) => l.credibility)];
  }

  outstandingNodes(): Array<{ credibility: number; newcomer: boolean }> {
    return [...this.out.values()].map((l) => ({ credibility: l.credibility, newcomer: l.newcomer }));
  }

  /** Queue entries to add so that every missing replica has one; counts them as queued. */
  toQueue(): number {
    const n = Math.max(0, this.missing - this.queued);
    this.queued += n;
    return n;
  }

  issue(lease: ReplicaLease): void {
    this.out.set(lease.leaseId, lease);
    this.nodes.add(lease.node);
    this.remoteCounts.set(lease.remote, (this.remoteCounts.get(lease.remote) ?? 0) + 1);
  }

  /** A lease ended with a vote; returns its record, or undefined if the set does not hold it. */
  voted(leaseId: string, vote: Vote<P>): ReplicaLease | undefined {
    const l = this.out.get(leaseId);
    if (!l) return undefined;
    this.out.delete(leaseId);
    this.votes.push(vote);
    return l;
  }

  /** A lease ended without a vote: the node may take the task again (it did not answer). */
  lose(leaseId: string): ReplicaLease | undefined {
    const l = this.out.get(leaseId);
    if (!l) return undefined;
    this.out.delete(leaseId);
    this.lost++;
    if (!this.votes.some((v) => v.node === l.node) && ![...this.out.values()].some((o) => o.node === l.node)) this.nodes.delete(l.node);
    const n = (this.remoteCounts.get(l.remote) ?? 1) - 1;
    if (n <= 0) this.remoteCounts.delete(l.remote);
    else this.remoteCounts.set(l.remote, n);
    return l;
  }
}
