/**
 * Long because it holds one job's whole verification state machine (replica sets, known answers,
 * parking, re-opening) whose transitions must be read together.
 *
 * One job's verification: its policy, the replica sets of its tasks in verification, its pool
 * of known answers, and its counters. The job manager and the scheduler call it; it never
 * touches sockets, the store or the clock itself (all come in through `deps`), so the whole
 * life of a replicated task can be driven by a unit test.
 *
 * Guarantees:
 * - A task accepted from one trusted node alone is picked for a spot check with probability
 *   `audit.spotCheck` (it then needs two agreeing votes), and its node gets a known-answer
 *   task with probability `audit.canary` (when the job has one it has not run).
 * - A decision is taken at most once per task; after it, every lease still out for the task is
 *   returned in `cancel` (the caller sends cancel frames: the first valid result wins).
 * - Paid executions of a task (votes, then known-answer runs) never exceed `policy.maxReplicas`.
 */
import type { MatchResult } from '../scheduler/policy.js';
import { KnownAnswers, type KnownAnswer } from './canaries.js';
import { DEFAULT_REPLICA_FILTERS, replicaAllowed } from './filters.js';
import { ReplicaSet, type ReplicaLease, type Reopening } from './replicaSet.js';

import type { Decision, NetworkView, ReplicaCandidate, ReplicaFilter, VerificationPolicy, Vote } from './types.js';

export interface VerificationDeps {
  credibility(address: string): number;
  isNewcomer(address: string): boolean;
  /** Whether a node with a record is connected now (see `newcomerGuard`). @default () => false */
  establishedAvailable?(): boolean;
  /** Uniform in [0, 1); injected so tests and simulations replay the same audits. */
  random(): number;
  now(): number;
  filters?: readonly ReplicaFilter[];
  /** Known answers kept per job. @default 64 */
  knownAnswers?: number;
}

/** A lease as the verifier sees it. */
export interface LeaseRef {
  leaseId: string;
  node: string;
  remote: string;
  /** What the caller keeps with the lease (returned in `cancel` lists). */
  handle?: unknown;
}

/** What the scheduler does after issuing a lease. */
export interface IssueOutcome {
  /**
   * Queue the task this many more times. The verifier counts the entries it asked for and
   * each lease issued from one, so entries are never asked twice for one missing replica.
   */
  more: number;
  /** Also give this node a known-answer task now (if the job has one for it). */
  canary: boolean;
}

export type VoteOutcomeDecision<P> =
  /** The lease is not one of this task's replicas (already decided, cancelled…). */
  | { kind: 'unknown' }
  | { kind: 'wait' }
  | { kind: 'more'; count: number; reason: string }
  | { kind: 'accept'; winner: Vote<P>; agreeing: Vote<P>[]; wrong: Vote<P>[]; cancel: ReplicaLease[]; reason: string; reopened?: Reopening<P> }
  | { kind: 'fail'; votes: Vote<P>[]; cancel: ReplicaLease[]; reason: string; reopened?: Reopening<P> };

export type LostOutcome<P> = { kind: 'more'; count: number } | Extract<VoteOutcomeDecision<P>, { kind: 'fail' | 'accept' }>;

/** Every count at zero: a job's stats before its first verified result. */
export const NO_VERIFICATION_STATS: Readonly<Required<VerificationStats>> = {
  accepted: 0,
  executions: 0,
  canaries: 0,
  spotChecks: 0,
  speculative: 0,
  wrong: 0,
  failed: 0,
  reverified: 0,
  revised: 0,
};

export interface CanaryLease {
  leaseId: string;
  node: string;
  answer: KnownAnswer;
}

export interface VerificationStats {
  /** Tasks accepted. */
  accepted: number;
  /** Paid executions: votes of accepted or failed tasks and known-answer runs. */
  executions: number;
  /** Known-answer runs (passed or failed). */
  canaries: number;
  /** Tasks picked for a spot check. */
  spotChecks: number;
  /** Speculative copies of straggling leases. */
  speculative: number;
  /** Results proven wrong (quorum minority or failed canary). */
  wrong: number;
  /** Tasks failed with VERIFICATION_FAILED. */
  failed: number;
  /** Results taken on one node's word alone that were decided again (`reopen`), and those replaced by another answer. */
  reverified?: number;
  revised?: number;
}

const OK: MatchResult = { ok: true };

export class JobVerification<P = unknown> {
  private readonly sets = new Map<number, ReplicaSet<P>>();
  /** Tasks at the replica cap waiting for their voters' records to grow. */
  private readonly parked = new Set<number>();
  private readonly canaryLeases = new Map<string, CanaryLease>();
  readonly known: KnownAnswers;
  readonly stats: Required<VerificationStats> = { ...NO_VERIFICATION_STATS };
  private readonly filters: readonly ReplicaFilter[];

  constructor(
    readonly policy: VerificationPolicy,
    private readonly deps: VerificationDeps,
  ) {
    this.filters = deps.filters ?? DEFAULT_REPLICA_FILTERS;
    this.known = new KnownAnswers(deps.knownAnswers ?? 64, deps.random);
  }

  /** The task's replica set, if it has one (a task in verification or with a speculative copy). */
  setOf(index: number): ReplicaSet<P> | undefined {
    return this.sets.get(index);
  }

  /** Tasks with a replica set now (for views and tests). */
  get inVerification(): number {
    return this.sets.size;
  }

  /**
   * A queue entry of this task was dropped without a lease (the task was decided, or its job
   * ended): forget it, so a later miss is queued again.
   */
  unqueued(index: number): void {
    const set = this.sets.get(index);
    if (set && set.queued > 0) set.queued--;
  }

  /** May this node take a replica of the task now? */
  allows(index: number, node: ReplicaCandidate, net: NetworkView): MatchResult {
    const set = this.sets.get(index);
    return set ? replicaAllowed(this.filters, set, node, net) : OK;
  }

  /**
   * Records a lease of a task. A `none` job's first lease of a task costs nothing here; every
   * other one is tracked. Returns how many more replicas to give out, and whether to add a canary.
   */
  issued(index: number, lease: LeaseRef, kind: ReplicaLease['kind'] = 'replica'): IssueOutcome {
    let set = this.sets.get(index);
    if (!set) {
      if (this.policy.trivial && kind === 'replica') return { more: 0, canary: false };
      set = this.open(index);
    }
    const first = set.votes.length === 0 && set.out.size === 0;
    if (kind === 'replica' && set.queued > 0) set.queued--;
    const newcomer = this.deps.isNewcomer(lease.node);
    if (!newcomer) set.needEstablished = false;
    set.issue({ ...lease, credibility: this.deps.credibility(lease.node), newcomer, kind });
    if (kind === 'speculative') {
      this.stats.speculative++;
      return { more: 0, canary: false };
    }
    set.wanted = Math.min(this.policy.maxReplicas, Math.max(set.wanted, this.policy.wanted(set.assignedCredibilities())));
    let canary = false;
    const audit = this.policy.audit;
    if (first && set.wanted === 1 && audit) {
      if (this.deps.random() < audit.spotCheck) {
        set.audited = true;
        set.required = 2;
        set.wanted = 2;
        this.stats.spotChecks++;
      }
      canary = this.deps.random() < audit.canary;
    }
    return { more: set.toQueue(), canary };
  }

  /**
   * Registers a straggling lease of a task that has no replica set yet (a `none` job), so a
   * speculative copy can be given out beside it. Returns false if the task is not in flight.
   */
  trackForSpeculation(index: number, lease: LeaseRef): boolean {
    let set = this.sets.get(index);
    if (!set) {
      set = this.open(index);
      set.issue({ ...lease, credibility: this.deps.credibility(lease.node), newcomer: this.deps.isNewcomer(lease.node), kind: 'replica' });
    }
    if (set.speculated || !set.out.has(lease.leaseId)) return false;
    set.speculated = true;
    return true;
  }

  /** A replica's deterministic result came back. */
  voted(index: number, leaseId: string, payload: P, key: string): VoteOutcomeDecision<P> {
    const set = this.sets.get(index);
    if (!set || set.decided) return { kind: 'unknown' };
    const lease = set.out.get(leaseId);
    if (!lease) return { kind: 'unknown' };
    const vote: Vote<P> = {
      node: lease.node,
      key,
      credibility: this.deps.credibility(lease.node),
      newcomer: this.deps.isNewcomer(lease.node),
      kind: 'replica',
      payload,
    };
    set.voted(leaseId, vote);
    return this.settle(index, set, this.decide(set));
  }

  /** Applies a decision to a task's replica set. */
  private settle(index: number, set: ReplicaSet<P>, d: Decision): VoteOutcomeDecision<P> {
    switch (d.kind) {
      case 'wait':
        if (d.park && set.parkedAt === null) {
          set.parkedAt = this.deps.now();
          this.parked.add(index);
        }
        return { kind: 'wait' };
      case 'more': {
        const count = this.more(set, d);
        return count > 0 ? { kind: 'more', count, reason: d.reason } : { kind: 'wait' };
      }
      case 'accept': {
        const agreeing = set.votes.filter((v) => v.key === d.key);
        const wrong = set.votes.filter((v) => v.key !== d.key);
        const cancel = this.close(index, set);
        const reopened = set.reopened;
        if (reopened) {
          // The original vote was counted when the task was first accepted.
          this.stats.reverified++;
          this.stats.executions += set.votes.length - 1;
          if (d.key !== reopened.original.key) this.stats.revised++;
        } else {
          this.stats.accepted++;
          this.stats.executions += set.votes.length;
        }
        this.stats.wrong += wrong.length;
        if (agreeing.length >= 2) {
          this.known.add({ index, key: d.key, nodes: set.votes.map((v) => v.node), executions: set.votes.length, decidedAt: this.deps.now() });
        }
        // The first vote of the answer carries its output: the original holds none when reopened.
        const winner = agreeing.find((v) => v !== reopened?.original) ?? agreeing[0]!;
        return { kind: 'accept', winner, agreeing, wrong, cancel, reason: d.reason, ...(reopened ? { reopened } : {}) };
      }
      case 'fail':
        return this.fail(index, set, d.reason);
    }
  }

  /** Tasks parked at the replica cap now. */
  get parkedCount(): number {
    return this.parked.size;
  }

  /**
   * Decides parked tasks again with their voters' credibility now (records grow as other tasks
   * are verified). A task parked longer than `maxParkMs` fails. Returns the decisions taken.
   */
  reconsider(maxParkMs: number): Array<{ index: number; decision: VoteOutcomeDecision<P> }> {
    const out: Array<{ index: number; decision: VoteOutcomeDecision<P> }> = [];
    const now = this.deps.now();
    for (const index of [...this.parked]) {
      const set = this.sets.get(index);
      if (!set || set.decided) {
        this.parked.delete(index);
        continue;
      }
      for (const v of set.votes) {
        v.credibility = this.deps.credibility(v.node);
        v.newcomer = this.deps.isNewcomer(v.node);
      }
      const d = this.decide(set);
      if (d.kind === 'wait' && d.park) {
        if (now - set.parkedAt! < maxParkMs) continue;
        out.push({
          index,
          decision: this.fail(index, set, `${d.reason} after waiting ${Math.round((now - set.parkedAt!) / 1000)} s for the nodes' records to grow`),
        });
        continue;
      }
      out.push({ index, decision: this.settle(index, set, d) });
    }
    return out;
  }

  /**
   * A replica ended without a vote (timeout, crash, node left, lease expired). Returns how many
   * times to queue the task again (0 when others are still out), or a failure when the task can
   * no longer be verified (its policy's cap is reached with votes that disagree).
   */
  lost(index: number, leaseId: string): LostOutcome<P> {
    const set = this.sets.get(index);
    if (!set || set.decided || !set.lose(leaseId)) return { kind: 'more', count: 0 };
    if (set.out.size === 0 && set.votes.length === 0 && this.policy.trivial) {
      this.sets.delete(index); // back to an ordinary task
      return { kind: 'more', count: 1 };
    }
    const n = set.toQueue();
    if (n > 0 || set.votes.length === 0) return { kind: 'more', count: n };
    // A decision that was waiting for this replica is taken again without it.
    const r = this.settle(index, set, this.decide(set));
    if (r.kind === 'accept' || r.kind === 'fail' || r.kind === 'more') return r;
    return { kind: 'more', count: 0 };
  }

  /**
   * Gives up on a task (its replicas keep ending without a vote): closes its replica set.
   * Returns the votes so far and the leases still out, or undefined if it has no set.
   */
  abandon(index: number): { votes: Vote<P>[]; cancel: ReplicaLease[]; reopened?: Reopening<P> } | undefined {
    const set = this.sets.get(index);
    if (!set || set.decided) return undefined;
    const cancel = this.close(index, set);
    this.count(set);
    return { votes: [...set.votes], cancel, ...(set.reopened ? { reopened: set.reopened } : {}) };
  }

  /** Replica leases of a task still out (to cancel when its job ends). */
  outstanding(): Array<{ index: number; lease: ReplicaLease }> {
    const out: Array<{ index: number; lease: ReplicaLease }> = [];
    for (const [index, set] of this.sets) for (const lease of set.out.values()) out.push({ index, lease });
    return out;
  }

  // ---------------------------------------------------------------- decided again

  /**
   * Decides a task again that was accepted on one node's word alone (see `Reopening`): a new
   * replica set holding the original vote, at the credibility its node has now. The answer
   * accepted this time has two agreeing votes at least, however credible its nodes: an audit
   * needs another node to agree with the original; a caught node's answer weighs little, so
   * others outvote it — and the answer that replaces it rests on no single node again. Paid
   * executions stay within `maxReplicas`: the original counts as the first. Returns how many
   * replicas to queue, or -1 when the task is in verification already (a `caught` reopening
   * then takes over an audit).
   */
  reopen(index: number, reopening: Reopening<P>): number {
    const existing = this.sets.get(index);
    if (existing) {
      if (reopening.reason === 'caught' && existing.reopened?.reason === 'audit') existing.reopened.reason = 'caught';
      return -1;
    }
    const original: Vote<P> = {
      ...reopening.original,
      credibility: this.deps.credibility(reopening.original.node),
      newcomer: this.deps.isNewcomer(reopening.original.node),
    };
    const set = this.open(index);
    set.reopened = { reason: reopening.reason, original };
    set.votes.push(original);
    set.nodes.add(original.node);
    set.required = Math.max(2, set.required);
    set.audited = reopening.reason === 'audit';
    set.wanted = Math.min(this.policy.maxReplicas, Math.max(set.required, this.policy.wanted([original.credibility]), 2));
    return set.toQueue();
  }

  /** Whether the task is being decided again (see `reopen`). */
  reopenedOf(index: number): Reopening<P> | undefined {
    return this.sets.get(index)?.reopened;
  }

  // ---------------------------------------------------------------- known-answer tasks

  /** A verified task of this job for `node` to run as a known-answer check, or undefined. */
  pickCanary(node: string): KnownAnswer | undefined {
    return this.known.pick(node, this.policy.maxReplicas);
  }

  canaryIssued(answer: KnownAnswer, lease: LeaseRef): void {
    this.known.reserve(answer, lease.node);
    this.canaryLeases.set(lease.leaseId, { leaseId: lease.leaseId, node: lease.node, answer });
  }

  isCanary(leaseId: string): boolean {
    return this.canaryLeases.has(leaseId);
  }

  /** A known-answer task's result: right or wrong. Undefined if the lease is not a canary of this job. */
  canaryVoted(leaseId: string, key: string): { valid: boolean; canary: CanaryLease } | undefined {
    const c = this.canaryLeases.get(leaseId);
    if (!c) return undefined;
    this.canaryLeases.delete(leaseId);
    this.stats.canaries++;
    this.stats.executions++;
    const valid = c.answer.key === key;
    if (!valid) this.stats.wrong++;
    return { valid, canary: c };
  }

  /** A known-answer lease ended without a result: its execution is given back. */
  canaryLost(leaseId: string): void {
    const c = this.canaryLeases.get(leaseId);
    if (!c) return;
    this.canaryLeases.delete(leaseId);
    this.known.release(c.answer, c.node);
  }

  /** Canary leases still out (to cancel when the job ends). */
  outstandingCanaries(): CanaryLease[] {
    return [...this.canaryLeases.values()];
  }

  private open(index: number): ReplicaSet<P> {
    const set = new ReplicaSet<P>();
    if (!this.policy.trivial) {
      set.wanted = Math.max(1, this.policy.wanted([]));
      set.required = this.policy.minAgreeing;
    }
    this.sets.set(index, set);
    return set;
  }

  private decide(set: ReplicaSet<P>): Decision {
    return this.policy.decide({
      votes: set.votes,
      outstanding: set.outstandingNodes(),
      required: set.required,
      establishedAvailable: this.deps.establishedAvailable?.() ?? false,
    });
  }

  /** Applies a `more` decision; returns the queue entries to add. */
  private more(set: ReplicaSet<P>, d: Extract<Decision, { kind: 'more' }>): number {
    const count = Math.max(0, Math.min(d.count, this.policy.maxReplicas - set.votes.length - set.out.size));
    set.wanted = set.votes.length + set.out.size + count;
    if (d.established) set.needEstablished = true;
    return set.toQueue();
  }

  private fail(index: number, set: ReplicaSet<P>, reason: string): Extract<VoteOutcomeDecision<P>, { kind: 'fail' }> {
    const cancel = this.close(index, set);
    this.count(set);
    return { kind: 'fail', votes: [...set.votes], cancel, reason, ...(set.reopened ? { reopened: set.reopened } : {}) };
  }

  /** Counts a task given up on: a failure, or a re-verification without an answer (the caller decides what becomes of it). */
  private count(set: ReplicaSet<P>): void {
    if (set.reopened) {
      this.stats.reverified++;
      this.stats.executions += set.votes.length - 1;
    } else {
      this.stats.failed++;
      this.stats.executions += set.votes.length;
    }
  }

  private close(index: number, set: ReplicaSet<P>): ReplicaLease[] {
    set.decided = true;
    this.sets.delete(index);
    this.parked.delete(index);
    return [...set.out.values()];
  }
}
