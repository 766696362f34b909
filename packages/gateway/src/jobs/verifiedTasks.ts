/**
 * Answers for tasks that several nodes verify (`replicate(k)`, `target(ε)`) and for known-answer
 * checks, and the verifier's decisions applied: each answer is a vote; the verifier
 * (verify/jobVerification.ts, pure) decides to wait, ask for more replicas, accept an answer or
 * give up; `TaskExecutor` writes the outcome.
 *
 * Guarantees:
 * - A verified task's row is written once, when the verifier accepts an answer (or gives up:
 *   VERIFICATION_FAILED), with one receipt per paid execution — each agreeing replica, never a
 *   wrong one. Votes wait in memory until then; after a restart the task runs again from scratch
 *   (no receipt was written for it).
 * - Replicas still out when a task is decided are cancelled at once (the first valid answer
 *   wins); an answer that arrives after the decision is acknowledged and not paid.
 * - Nodes whose answers disagree with the accepted one are proven wrong (evidence, reputation,
 *   slashing: trust/trustService.ts); a node that fails a known-answer check likewise.
 */
import { VerificationFailedError, type TaskOutcome } from '@lode/protocol';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { GatewayMetrics } from '../metrics.js';
import type { JobScheduler, JobLease } from './leases.js';
import type { TrustService } from '../trust/trustService.js';
import type { VoteOutcomeDecision } from '../verify/jobVerification.js';
import type { ReplicaLease } from '../verify/replicaSet.js';
import { expectedLeaseMs, stragglesAt } from '../verify/stragglers.js';
import type { TrustConfig } from '../verify/trustConfig.js';
import type { Vote, VoteOutcome } from '../verify/types.js';
import { isVote, voteKey } from '../verify/vote.js';
import { type ActiveJob, TaskState, isTerminal } from './activeJob.js';
import { errorOf, type OutputCheck, type RetryPolicy } from './decide.js';
import type { HeldResult, SessionAcks, TaskExecutor } from './executor.js';
import type { Revisions } from './revisions.js';
import type { JobTable } from './table.js';

export interface VerifiedTasksDeps {
  clock: Clock;
  log: Logger;
  metrics: GatewayMetrics;
  table: JobTable;
  scheduler: JobScheduler;
  trust: TrustService;
  acks: SessionAcks;
  executor: TaskExecutor;
  revisions: Revisions<HeldResult>;
  retry: RetryPolicy;
  check(lease: JobLease, outcome: TaskOutcome): OutputCheck;
  /** Speculative copies of straggling leases; false turns them off. */
  stragglers: TrustConfig['stragglers'];
  /** How long a task may wait at its replica cap for its voters' records to grow. */
  maxParkMs: number;
}

type Decision = VoteOutcomeDecision<HeldResult>;

const EMPTY = new Uint8Array(0);

/** What replicas of an outcome are compared on (see verify/vote.ts). */
const factsOf = (o: TaskOutcome): VoteOutcome => ({
  status: o.status,
  errorCode: o.error?.code ?? null,
  resultHash: o.resultHash,
  fuelUsed: o.fuelUsed ?? null,
});

export class VerifiedTasks {
  constructor(private readonly d: VerifiedTasksDeps) {}

  /** An answer for a task being verified: a vote, or a replica lost. */
  replicaAnswered(lease: JobLease, outcome: TaskOutcome, now: number): void {
    const { acks, executor } = this.d;
    if (isTerminal(lease.job.state[lease.index]!)) {
      acks.ack(lease.session, lease.leaseId); // the task ended meanwhile (cancelled, deadline): nothing to decide
      return;
    }
    const check = this.d.check(lease, outcome);
    if (!check.ok) {
      executor.offence(lease, check.refusal);
      acks.reject(lease.session, lease.leaseId, check.refusal.code, check.refusal.message);
      this.replicaLost(lease, { code: check.refusal.code, message: check.refusal.offence });
      return;
    }
    acks.ack(lease.session, lease.leaseId);
    const facts = factsOf(outcome);
    if (!isVote(facts)) {
      // A timeout, a crash, a blob the node could not fetch: says nothing about the module.
      this.replicaLost(lease, errorOf(outcome));
      return;
    }
    // Held until the task is decided: the output once per distinct answer (votes with equal keys
    // have equal outputs: the key holds the result hash), never the frame's base64 copy.
    const key = voteKey(facts);
    const slim: TaskOutcome = { ...outcome, stdout: '', stderr: '', files: [] };
    const known = lease.job.verification.setOf(lease.index)?.votes.some((v) => v.key === key);
    const seq = this.d.trust.lone.nextSeq();
    const held: HeldResult = known
      ? { lease, outcome: slim, stdout: EMPTY, stderr: EMPTY, files: [], receivedAt: now, seq }
      : { lease, outcome: slim, ...check.output, receivedAt: now, seq };
    this.decided(lease.job, lease.index, lease.job.verification.voted(lease.index, lease.leaseId, held, key) as Decision);
  }

  /** Applies a verifier decision for task `index` of `job`. */
  decided(job: ActiveJob, index: number, d: Decision): void {
    switch (d.kind) {
      case 'unknown': // a late replica of a decided task: not paid
      case 'wait':
        return;
      case 'more':
        return this.d.executor.addReplicas(job, index, d.count);
      case 'accept':
        if (d.reopened) return this.d.revisions.decided(job, index, d); // decided again (jobs/revisions.ts)
        return this.accepted(job, index, d);
      case 'fail':
        if (d.reopened) return this.d.revisions.decided(job, index, d);
        return this.unverifiable(job, index, d.votes, d.cancel, new VerificationFailedError(`Task ${index}: ${d.reason}. Is the module deterministic?`));
    }
  }

  /** The verifier accepted an answer: pay those who gave it, learn from who did not. */
  private accepted(job: ActiveJob, index: number, d: Extract<Decision, { kind: 'accept' }>): void {
    const { executor, trust } = this.d;
    executor.cancelReplicas(d.cancel);
    const winner = d.winner.payload;
    const agreeing = d.agreeing.map((v) => v.node);
    // Each agreeing node passed a check of the answer it gave then: what it gave alone before is audited.
    if (d.agreeing.length >= 2) trust.validated(d.agreeing.map((v) => (v.payload.seq === undefined ? v.node : { node: v.node, seq: v.payload.seq })));
    for (const v of d.wrong) {
      const p = v.payload;
      this.provenWrong({
        kind: 'quorum',
        jobId: job.id,
        index,
        agreedKey: d.winner.key,
        agreeing,
        node: v.node,
        leaseId: p.lease.leaseId,
        key: v.key,
        receivedAt: p.receivedAt,
        session: p.lease.session.proof ?? null,
      });
    }
    const receipts = d.agreeing.map((v) => executor.receipt(job, v.payload.lease, v.payload.outcome, v === d.winner ? 'result' : 'replica'));
    const error = winner.outcome.status === 'ok' ? null : errorOf(winner.outcome);
    const row = executor.resultRow(job, winner, error, receipts);
    // Taken on one node's word alone: remembered until that node passes a check (or re-verified if it is proven wrong).
    if (d.agreeing.length === 1 && !job.verification.policy.trivial) this.d.revisions.lone(job, index, d.winner, row);
    executor.end(job, index, error ? TaskState.Failed : TaskState.Done, row);
  }

  private provenWrong(evidence: Parameters<TrustService['provenWrong']>[0]): void {
    this.d.trust
      .provenWrong(evidence)
      .catch((err: unknown) => this.d.log.error({ err, node: evidence.node, jobId: evidence.jobId, index: evidence.index }, 'could not record evidence'));
  }

  /**
   * The task cannot be verified (replicas disagree up to the policy's cap, or keep ending
   * without an answer): it fails. Nobody was proven wrong; each node that answered is paid.
   */
  private unverifiable(job: ActiveJob, index: number, votes: Vote<HeldResult>[], cancel: ReplicaLease[], err: { code: string; shortMessage: string }): void {
    const { executor } = this.d;
    executor.cancelReplicas(cancel);
    const receipts = votes.map((v) => executor.receipt(job, v.payload.lease, v.payload.outcome, 'unverified'));
    const row = executor.emptyRow(job, index, 'failed', { code: err.code, message: err.shortMessage });
    row.receipts = receipts.filter((x) => x.amount > 0n);
    executor.end(job, index, TaskState.Failed, row);
  }

  /** A replica ended without a vote: give it out again, or give up after `maxAttempts` such losses. */
  replicaLost(lease: JobLease, error: { code: string; message: string }): void {
    const { job, index } = lease;
    const { executor, retry } = this.d;
    const jv = job.verification;
    const r = jv.lost(index, lease.leaseId);
    if (r.kind !== 'more') return this.decided(job, index, r as Decision);
    const set = jv.setOf(index);
    if (set && !retry.mayRetry(set.lost)) {
      const reason = `${error.message} Gave up after ${set.lost} replicas ended without a result.`;
      if (set.reopened) return this.d.revisions.ended(job, index, reason);
      const gone = jv.abandon(index)!;
      this.unverifiable(job, index, gone.votes as Vote<HeldResult>[], gone.cancel, { code: error.code, shortMessage: reason });
      return;
    }
    if (!set && r.count > 0 && !isTerminal(job.state[index]!) && !retry.mayRetry(job.attempts[index]!)) {
      // Back to an ordinary task (a `none` job's straggler): bounded by its attempts like any other.
      executor.end(
        job,
        index,
        TaskState.Failed,
        executor.emptyRow(job, index, 'failed', { code: error.code, message: retry.gaveUp(error.message, job.attempts[index]!) }),
      );
      return;
    }
    this.d.metrics.tasksRetried.inc(r.count);
    executor.addReplicas(job, index, r.count);
  }

  /** A known-answer check came back: the node passed (and is paid) or is proven wrong. */
  canaryAnswered(lease: JobLease, outcome: TaskOutcome): void {
    const { job, index } = lease;
    const { acks, executor } = this.d;
    const jv = job.verification;
    const check = this.d.check(lease, outcome);
    if (!check.ok) {
      executor.offence(lease, check.refusal);
      acks.reject(lease.session, lease.leaseId, check.refusal.code, check.refusal.message);
      jv.canaryLost(lease.leaseId);
      return;
    }
    acks.ack(lease.session, lease.leaseId);
    const facts = factsOf(outcome);
    if (!isVote(facts)) {
      jv.canaryLost(lease.leaseId);
      return;
    }
    const r = jv.canaryVoted(lease.leaseId, voteKey(facts));
    if (!r) return;
    const node = lease.session.address;
    if (!r.valid) {
      this.provenWrong({
        kind: 'canary',
        jobId: job.id,
        index,
        agreedKey: r.canary.answer.key,
        agreeing: r.canary.answer.nodes.filter((n) => n !== node),
        node,
        leaseId: lease.leaseId,
        key: voteKey(facts),
        receivedAt: this.d.clock.now(),
        session: lease.session.proof ?? null,
      });
      return;
    }
    this.d.trust.validated([node]);
    const receipt = executor.receipt(job, lease, outcome, 'canary');
    if (receipt.amount > 0n) executor.writeReceipt(job, index, receipt);
  }

  /**
   * Tasks parked at their replica cap are decided again as their voters' records grow; those
   * parked longer than `maxParkMs` fail with VERIFICATION_FAILED.
   */
  reconsiderParked(): void {
    for (const job of this.d.table.values()) {
      if (job.verification.parkedCount === 0) continue;
      for (const { index, decision } of job.verification.reconsider(this.d.maxParkMs)) this.decided(job, index, decision as Decision);
    }
  }

  /**
   * Speculative copies: a task lease that has taken `factor` × its expected time gets a copy on
   * another node; the first valid result wins and the other lease is cancelled.
   */
  speculate(): void {
    const params = this.d.stragglers;
    const { scheduler } = this.d;
    if (!params || scheduler.sessionCount < 2) return;
    const now = this.d.clock.now();
    for (const s of scheduler.allSessions()) {
      let ahead = 0;
      for (const l of s.leases.values()) {
        const position = ahead++;
        if (l.kind !== 'task' || l.job.avgTaskMs === undefined || isTerminal(l.job.state[l.index]!)) continue;
        const avg = Math.max(l.job.avgTaskMs, s.avgTaskMs ?? 0);
        if (now < stragglesAt(l.issuedAt, expectedLeaseMs(avg, position, s.capabilities.slots), params)) continue;
        if (!l.job.verification.trackForSpeculation(l.index, { leaseId: l.leaseId, node: s.address, remote: s.remote ?? '', handle: l })) continue;
        l.job.speculative.add(l.index);
        l.job.addReplicas(l.index, 1);
        this.d.log.info({ jobId: l.job.id, index: l.index, node: s.address, lateMs: now - l.issuedAt }, 'straggling lease: giving out a speculative copy');
        scheduler.addJob(l.job);
      }
    }
  }
}
