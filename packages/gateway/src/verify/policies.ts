/**
 * Verification policies, one per `JobSpec.verification` kind, each a chain of small steps (the
 * first step with a decision wins) so that a simulation can swap and compare them.
 *
 * - `none`: the first result is the result.
 * - `replicate(k)`: k agreeing results from k distinct accounts (BOINC's quorum). On
 *   disagreement more replicas are given out until one answer has k votes; a task that reaches
 *   2k + 1 results without one fails (VERIFICATION_FAILED).
 * - `target(ε)`: as many replicas as the credibility of the nodes involved needs for the
 *   answer to be right with probability ≥ 1 − ε (iExec's credibility-weighted quorum): one
 *   result of a node with a long record of checked results is enough; newcomers are paired
 *   with others. Results accepted from one node alone are audited at `audit` rates (a second
 *   replica, or a hidden known-answer task for the node).
 */
import { groupCredibilities, groupOdds, groupVotes, optimisticCredibility } from './credibility.js';
import type { AuditRates, Decision, TaskTally, VerificationPolicy, VerificationStep } from './types.js';

/** Runs the steps in order; the first decision wins. The last step must always decide. */
export function chainSteps(steps: readonly VerificationStep[]): (tally: TaskTally) => Decision {
  return (tally) => {
    for (const s of steps) {
      const d = s.decide(tally);
      if (d) return d;
    }
    return { kind: 'wait', reason: 'no step decided' };
  };
}

// ---------------------------------------------------------------- steps

/** Accepts the first answer with `k` votes. */
export function quorumOf(k: number): VerificationStep {
  return {
    name: `quorum(${k})`,
    decide({ votes }) {
      const lead = largestGroup(votes);
      return lead && lead.size >= k ? { kind: 'accept', key: lead.key, reason: `${lead.size} agreeing results` } : undefined;
    },
  };
}

/** Accepts the leading answer once its credibility reaches 1 − errorRate. */
export function credibleGroup(errorRate: number): VerificationStep {
  return {
    name: `credible(${errorRate})`,
    decide({ votes, required }) {
      const groups = groupVotes(votes);
      if (groups.length === 0 || groups[0]!.members.length < required) return undefined;
      const cr = groupCredibilities(groups)[0]!;
      return cr >= 1 - errorRate ? { kind: 'accept', key: groups[0]!.key, reason: `credibility ${cr.toPrecision(6)} ≥ ${1 - errorRate}` } : undefined;
    },
  };
}

/**
 * A quorum of newcomers only — nodes without a single checked result — is where colluding
 * Sybils would win: they agree on one wrong answer and nothing is known about any of them. So
 * an answer backed by newcomers only is not accepted while a node with a record is connected:
 * one more replica goes to such a node (`established`). With no such node online (a network
 * starting up) the newcomers' answer needs a vote to spare: it must still be accepted with any
 * one of its votes taken away (k + 1 for replicate(k)).
 */
export function newcomerGuard(accept: VerificationStep, max: number): VerificationStep {
  return {
    name: `newcomer-guard(${accept.name})`,
    decide(tally) {
      const d = accept.decide(tally);
      if (d?.kind !== 'accept') return d;
      const group = tally.votes.filter((v) => v.key === d.key);
      if (group.some((v) => !v.newcomer)) return d;
      const room = tally.votes.length + tally.outstanding.length < max;
      if (tally.establishedAvailable) {
        if (tally.outstanding.some((o) => !o.newcomer)) return { kind: 'wait', reason: "waiting for a node with a record to confirm a newcomers' answer" };
        if (room) return { kind: 'more', count: 1, established: true, reason: 'an answer from newcomers only needs a node with a record to confirm it' };
      } else {
        // One vote to spare: the answer must still be accepted with one of its votes taken away.
        const i = tally.votes.findIndex((v) => v.key === d.key);
        const spare = accept.decide({ ...tally, votes: [...tally.votes.slice(0, i), ...tally.votes.slice(i + 1)] });
        if (spare?.kind === 'accept' && spare.key === d.key) return d;
      }
      if (tally.outstanding.length > 0) return { kind: 'wait', reason: 'newcomers only: waiting for the replicas still out' };
      if (!room) return d; // at the cap: the base rule stands
      return { kind: 'more', count: 1, reason: 'an answer from newcomers only needs one more vote while no node with a record is online' };
    },
  };
}

/** Fails the task once it has `max` results, or once no answer can reach `k` within `max`. */
export function capAt(max: number, k = 1): VerificationStep {
  return {
    name: `cap(${max})`,
    decide({ votes }) {
      if (votes.length >= max) return { kind: 'fail', reason: `no answer was verified after ${votes.length} results (the most this policy takes)` };
      const lead = largestGroup(votes)?.size ?? 0;
      if (lead + (max - votes.length) < k) {
        return { kind: 'fail', reason: `${votes.length} results disagree; no answer can reach ${k} agreeing within ${max} results` };
      }
      return undefined;
    },
  };
}

/** Gives out replicas until the leading answer could reach `k` votes if the outstanding ones agree. */
export function moreUntil(k: number, max: number): VerificationStep {
  return {
    name: `more(${k})`,
    decide({ votes, outstanding }) {
      const need = k - (largestGroup(votes)?.size ?? 0);
      const room = max - votes.length - outstanding.length;
      if (need <= outstanding.length || room <= 0) return { kind: 'wait', reason: `${outstanding.length} replica(s) out` };
      return { kind: 'more', count: Math.min(need - outstanding.length, room), reason: `${need} more agreeing result(s) needed` };
    },
  };
}

/**
 * Gives out one more replica when even the outstanding ones, all agreeing with the leading
 * answer, would not bring it to 1 − errorRate.
 */
export function moreUntilCredible(errorRate: number, max: number): VerificationStep {
  return {
    name: `more-credible(${errorRate})`,
    decide({ votes, outstanding, required }) {
      const groups = groupVotes(votes);
      const lead = groups[0]?.members ?? [];
      const others = groups.slice(1).reduce((s, g) => s + groupOdds(g.members), 0);
      const o = groupOdds([...lead, ...outstanding.map((x) => x.credibility)]);
      const best = o / (o + others + 1);
      const enough = lead.length + outstanding.length >= required;
      if (best >= 1 - errorRate && enough && outstanding.length > 0) return { kind: 'wait', reason: `${outstanding.length} replica(s) out` };
      if (votes.length + outstanding.length >= max) {
        // At the cap, the answer may still become credible enough: the voters' records grow as
        // other tasks are verified (at start-up every node is a newcomer). The caller decides
        // parked tasks again with fresh credibilities, and fails them after a while.
        return outstanding.length > 0
          ? { kind: 'wait', reason: 'at the replica cap; waiting for the last results' }
          : { kind: 'wait', park: true, reason: `no answer has credibility ${1 - errorRate} within ${max} results yet` };
      }
      return { kind: 'more', count: 1, reason: `credibility ${best.toPrecision(4)} < ${1 - errorRate} even if the outstanding replicas agree` };
    },
  };
}

/** The answer with the most votes (the first to get there on a tie). */
function largestGroup(votes: TaskTally['votes']): { key: string; size: number } | undefined {
  const n = new Map<string, number>();
  let best: { key: string; size: number } | undefined;
  for (const v of votes) {
    const c = (n.get(v.key) ?? 0) + 1;
    n.set(v.key, c);
    if (!best || c > best.size) best = { key: v.key, size: c };
  }
  return best;
}

// ---------------------------------------------------------------- policies

export const nonePolicy: VerificationPolicy = {
  name: 'none',
  maxReplicas: 1,
  minAgreeing: 1,
  trivial: true,
  wanted: () => 1,
  decide: ({ votes }) => (votes.length > 0 ? { kind: 'accept', key: votes[0]!.key, reason: 'first result' } : { kind: 'wait', reason: 'no result yet' }),
};

/** k agreeing results from k distinct accounts; at most 2k + 1 results. */
export function replicatePolicy(k: number): VerificationPolicy {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`replicate(k) needs an integer k ≥ 1, got ${k}`);
  if (k === 1) return { ...nonePolicy, name: 'replicate(1)' };
  const max = 2 * k + 1;
  const decide = chainSteps([newcomerGuard(quorumOf(k), max), capAt(max, k), moreUntil(k, max)]);
  return { name: `replicate(${k})`, maxReplicas: max, minAgreeing: k, trivial: false, wanted: () => k, decide };
}

/** Replication chosen per task from the nodes' credibility so that an accepted answer is wrong with probability ≤ errorRate. */
export function targetPolicy(errorRate: number, opts: { maxReplicas: number; audit: AuditRates }): VerificationPolicy {
  if (!(errorRate > 0 && errorRate < 1)) throw new RangeError(`target(errorRate) needs 0 < errorRate < 1, got ${errorRate}`);
  const max = opts.maxReplicas;
  const decide = chainSteps([newcomerGuard(credibleGroup(errorRate), max), moreUntilCredible(errorRate, max)]);
  return {
    name: `target(${errorRate})`,
    maxReplicas: max,
    minAgreeing: 1,
    trivial: false,
    wanted(assigned) {
      if (assigned.length >= max) return max;
      return optimisticCredibility(assigned) >= 1 - errorRate ? Math.max(1, assigned.length) : assigned.length + 1;
    },
    decide,
    audit: opts.audit,
  };
}
