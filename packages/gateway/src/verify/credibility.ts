/**
 * Credibility: how likely a node's result is right, from its record — BOINC's adaptive
 * replication (trust grows with consecutive valid results and resets on a wrong one) made
 * quantitative, and iExec's credibility-weighted quorum to combine several nodes.
 *
 * The model. A node is either honest (its results are always right: the sandbox is
 * deterministic) or a liar, with prior probability `priorLiarFraction` (f). A liar lies on a
 * task with probability at least `minLieRate` (s). A checked result — one compared with other
 * nodes' or with a known answer — that was right is evidence of honesty: after v consecutive
 * right checks, by Bayes,
 *
 *     P(liar | v) = f (1 − s)^v / (f (1 − s)^v + (1 − f))        credibility c = 1 − P(liar | v)
 *
 * A node once proven wrong starts again from v = 0 with the larger prior `offenderLiarFraction`.
 *
 * A group of agreeing votes (iExec's formula, in odds o = c / (1 − c)): the group G is right
 * when its members are honest and every other voter is not, so
 *
 *     Cr(G) = O_G / (Σ_groups O_g + 1),   O_g = Π_{i ∈ g} o_i
 *
 * (the "+ 1" is the case where every voter is wrong). One vote alone has Cr = c.
 *
 * What it does not cover: a liar that lies less often than `minLieRate` passes its probation
 * more easily ((1 − s')^v instead of (1 − s)^v); spot checks and canaries keep catching it
 * afterwards, at their rate (see docs/trust.md for the figures).
 */

export interface TrustParams {
  /** Prior probability that a node without a record is a liar. @default 0.2 */
  priorLiarFraction: number;
  /** Prior for a node proven wrong before. @default 0.9 */
  offenderLiarFraction: number;
  /** The least rate at which a liar is assumed to lie. @default 0.2 */
  minLieRate: number;
}

export const DEFAULT_TRUST_PARAMS: TrustParams = {
  priorLiarFraction: 0.2,
  offenderLiarFraction: 0.9,
  minLieRate: 0.2,
};

/** Largest credibility used (odds stay finite; no node is ever certain). */
const MAX_CREDIBILITY = 1 - 1e-12;

/**
 * A node's credibility after `consecutiveValid` right checks in a row. `offender`: it was
 * proven wrong before (its streak restarted then).
 */
export function credibility(consecutiveValid: number, offender: boolean, p: TrustParams = DEFAULT_TRUST_PARAMS): number {
  const f = offender ? p.offenderLiarFraction : p.priorLiarFraction;
  const liar = f * (1 - p.minLieRate) ** Math.max(0, consecutiveValid);
  const c = (1 - f) / (1 - f + liar);
  return Math.min(MAX_CREDIBILITY, c);
}

/** Right checks in a row a node needs before one result of it alone meets `errorRate`. */
export function checksToTrust(errorRate: number, offender: boolean, p: TrustParams = DEFAULT_TRUST_PARAMS): number {
  const f = offender ? p.offenderLiarFraction : p.priorLiarFraction;
  // (1 − c) ≤ ε  ⇔  f(1 − s)^v / (1 − f) ≤ ε / (1 − ε)
  const v = Math.log((errorRate / (1 - errorRate)) * ((1 - f) / f)) / Math.log(1 - p.minLieRate);
  return Math.max(0, Math.ceil(v - 1e-9));
}

/** Odds c / (1 − c). */
export function odds(c: number): number {
  const x = Math.min(MAX_CREDIBILITY, Math.max(0, c));
  return x / (1 - x);
}

export interface Group {
  key: string;
  /** Credibilities of the agreeing voters. */
  members: number[];
}

/** Groups votes by key, largest credibility first (ties: more members first, then key). */
export function groupVotes(votes: ReadonlyArray<{ key: string; credibility: number }>): Group[] {
  const byKey = new Map<string, number[]>();
  for (const v of votes) {
    let g = byKey.get(v.key);
    if (!g) byKey.set(v.key, (g = []));
    g.push(v.credibility);
  }
  const groups = [...byKey].map(([key, members]) => ({ key, members }));
  const weight = new Map(groups.map((g) => [g.key, groupOdds(g.members)]));
  return groups.sort((a, b) => weight.get(b.key)! - weight.get(a.key)! || b.members.length - a.members.length || (a.key < b.key ? -1 : 1));
}

/** O_g: the product of the members' odds. */
export function groupOdds(members: readonly number[]): number {
  let o = 1;
  for (const c of members) o *= odds(c);
  return o;
}

/**
 * Cr of each group (same order as given): the probability that it is the right answer, given
 * every vote. Computed in odds; sums to at most 1 (the rest is "every voter is wrong").
 */
export function groupCredibilities(groups: readonly Group[]): number[] {
  const os = groups.map((g) => groupOdds(g.members));
  const total = os.reduce((a, b) => a + b, 0) + 1;
  return os.map((o) => (Number.isFinite(total) ? o / total : Number.isFinite(o) ? 0 : 1));
}

/** Credibility of a group if every node assigned so far agrees (used to decide how many to assign). */
export function optimisticCredibility(assigned: readonly number[]): number {
  if (assigned.length === 0) return 0;
  const o = groupOdds(assigned);
  return o / (o + 1);
}
