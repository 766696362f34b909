/**
 * The verifier's contracts: what a vote is, what a verification policy decides, how a node's
 * record turns into credibility, and the filters that keep replicas of one task apart.
 *
 * Guarantees the parts below give each other:
 * - Only deterministic outcomes are votes (`isVote`): the module ran to completion, or the
 *   sandbox stopped it at a limit every device hits at the same instruction (trap, memory,
 *   output, fuel). A timeout, a crash, a cancellation or an unreachable blob says nothing about
 *   the module and is never a vote; the replica is simply lost and given out again.
 * - Two votes agree when their keys are equal: (status, error code, resultHash, fuelUsed).
 * - A task collects at most `policy.maxReplicas` executions (votes, lost replicas excluded,
 *   canaries included): the escrow ceiling (`maxJobCost`) is computed from the same bound.
 * - One account holds at most one replica of a task, ever (a node that lost its lease may get
 *   the task again: it did not vote). Where connected nodes come from more than one remote
 *   address, replicas of a task go to distinct addresses.
 * - Policies are pure: the same votes and credibilities give the same decision. Randomness
 *   (audits, canaries) comes in through an injected `random()`, so tests and simulations can
 *   replay it.
 */
import type { MatchResult } from '../scheduler/policy.js';

/** What a replica's outcome is compared on. */
export interface VoteOutcome {
  status: 'ok' | 'failed';
  /** The sandbox's failure code (`SANDBOX_TRAP`, …); null for a module that ran to completion. */
  errorCode: string | null;
  resultHash: string;
  /** Fuel the task used; null when the sandbox did not report it (an unmetered module, a stack overflow). */
  fuelUsed: number | null;
}

/** One deterministic result of a task from one node. */
export interface Vote<P = unknown> {
  /** The node's account (lowercase). */
  node: string;
  key: string;
  /** The node's credibility when the vote was counted, in [0, 1). */
  credibility: number;
  /** Whether the node was on probation when it voted: no right checked result yet, or none since its last wrong one (`ReputationBook.isNewcomer`). */
  newcomer: boolean;
  /** A replica, or a known-answer check of an already verified task. */
  kind: 'replica' | 'canary';
  /** What the caller keeps with the vote (the full outcome, the lease…). */
  payload: P;
}

/** What a policy says about a task, given its votes so far. */
export type Decision =
  /** The group with this key is the task's result; votes with other keys are proven wrong. */
  | { kind: 'accept'; key: string; reason: string }
  /**
   * Enough replicas are out; wait for their votes. `park`: none is out and the cap is reached —
   * wait instead for the voters' records to grow (the task is decided again as they do).
   */
  | { kind: 'wait'; reason: string; park?: boolean }
  /** Give the task to `count` more nodes; `established`: only to nodes with a record. */
  | { kind: 'more'; count: number; reason: string; established?: boolean }
  /** No quorum is possible within the policy's bounds: the task fails with VERIFICATION_FAILED. */
  | { kind: 'fail'; reason: string };

/** The state a policy decides on. */
export interface TaskTally {
  votes: ReadonlyArray<Pick<Vote, 'key' | 'credibility' | 'newcomer'>>;
  /** The nodes holding replicas whose votes have not come back. */
  outstanding: ReadonlyArray<{ credibility: number; newcomer: boolean }>;
  /**
   * The fewest agreeing votes an accepted answer needs whatever its credibility: k for
   * `replicate(k)`, 2 for a task picked for a spot check, else 1.
   */
  required: number;
  /** Whether a node with a record (not a newcomer) is connected and could take a replica. */
  establishedAvailable: boolean;
}

/**
 * One step of a verification policy. Steps are chained: the first that returns a decision
 * wins; `undefined` passes to the next step. A policy is a chain of steps plus its bounds.
 */
export interface VerificationStep {
  readonly name: string;
  decide(tally: TaskTally): Decision | undefined;
}

export interface VerificationPolicy {
  /** `none`, `replicate(3)`, `target(0.0001)`. */
  readonly name: string;
  /** Most executions one task may take (votes and canaries); then it fails. */
  readonly maxReplicas: number;
  /** Fewest agreeing results an accepted answer has (k for `replicate(k)`, else 1). */
  readonly minAgreeing: number;
  /** True when a single result is accepted as it is (`none`): no replica bookkeeping at all. */
  readonly trivial: boolean;
  /**
   * Replicas to have out, given the credibilities of the nodes assigned so far (assuming they
   * will agree). Called after each assignment; the task is given out again while more are wanted.
   */
  wanted(assigned: readonly number[]): number;
  decide(tally: TaskTally): Decision;
  /**
   * Whether a result accepted from a node with this credibility alone should be checked (a
   * spot-check replica), and whether the node should get a hidden known-answer task now.
   * Undefined: never (`none`, `replicate(k)` — every task is replicated anyway).
   */
  readonly audit?: AuditRates;
}

export interface AuditRates {
  /** Probability that a task given to one trusted node alone also goes to a second node. */
  spotCheck: number;
  /** Probability, per task given to one trusted node alone, that the node also gets a known-answer task. */
  canary: number;
}

/** What the replica filters see about a candidate node. */
export interface ReplicaCandidate {
  /** Account, lowercase. */
  address: string;
  /** The remote (IP) address of its session. */
  remote: string;
  /** On probation: no right checked result yet, or none since its last wrong one (`ReputationBook.isNewcomer`). */
  newcomer: boolean;
}

/** What the replica filters see about a task's replicas. */
export interface ReplicaView {
  /** Accounts that hold or voted on a replica. */
  readonly nodes: ReadonlySet<string>;
  /** Remote addresses of those replicas. */
  readonly remotes: ReadonlySet<string>;
  /** The next replica must come from a node with a record (a quorum of newcomers only is not enough). */
  readonly needEstablished: boolean;
}

/** The network's state that filters may need (how many remote addresses are connected). */
export interface NetworkView {
  /** Distinct remote addresses among connected nodes. */
  distinctRemotes: number;
  /** Connected nodes with a record (not newcomers). */
  established: number;
}

/** May this node take a replica of this task? `{ ok, reason }`, chained like the scheduler's match filters. */
export interface ReplicaFilter {
  readonly name: string;
  allows(task: ReplicaView, node: ReplicaCandidate, net: NetworkView): MatchResult;
}
