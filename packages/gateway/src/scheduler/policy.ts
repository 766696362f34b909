/**
 * Matching and ranking policies: small strategies a simulation can swap and compare.
 * A filter answers `{ ok, reason }` for a (job, node) pair; a ranker orders eligible nodes.
 * Requirements are per job (every task of a job asks the same), so matching is per job.
 */
import type { JobSpec, Capabilities } from '@lode/protocol';

export interface MatchResult {
  ok: boolean;
  reason?: string;
}

export interface NodeFacts {
  address: string;
  capabilities: Capabilities;
  /** Leases held now. */
  inflight: number;
  /** Leases the node may hold at once. */
  capacity: number;
}

export interface MatchFilter {
  readonly name: string;
  match(job: JobSpec, node: NodeFacts): MatchResult;
}

export const memoryFilter: MatchFilter = {
  name: 'memory',
  match(job, node) {
    return job.resources.memoryMiB <= node.capabilities.memoryMiB
      ? { ok: true }
      : { ok: false, reason: `node has ${node.capabilities.memoryMiB} MiB, task needs ${job.resources.memoryMiB} MiB` };
  },
};

export const priceFilter: MatchFilter = {
  name: 'price',
  match(job, node) {
    if (BigInt(node.capabilities.pricePerTask) > BigInt(job.price.maxPerTask)) {
      return { ok: false, reason: `node asks ${node.capabilities.pricePerTask} per task, job pays at most ${job.price.maxPerTask}` };
    }
    const perFuel = node.capabilities.pricePerFuel ?? '0';
    const maxPerFuel = job.price.maxPerFuel ?? '0';
    if (BigInt(perFuel) > BigInt(maxPerFuel)) {
      return { ok: false, reason: `node asks ${perFuel} per unit of fuel, job pays at most ${maxPerFuel}` };
    }
    return { ok: true };
  },
};

export const DEFAULT_FILTERS: readonly MatchFilter[] = [memoryFilter, priceFilter];

export function matchAll(filters: readonly MatchFilter[], job: JobSpec, node: NodeFacts): MatchResult {
  for (const f of filters) {
    const r = f.match(job, node);
    if (!r.ok) return { ok: false, reason: `${f.name}: ${r.reason}` };
  }
  return { ok: true };
}

/** Orders eligible nodes, best first. */
export interface Ranker {
  readonly name: string;
  compare(a: NodeFacts, b: NodeFacts): number;
}

/** A node's price per task as a bigint, parsed once per capabilities object (a sort compares each node ~log n times). */
const prices = new WeakMap<Capabilities, bigint>();
function priceOf(c: Capabilities): bigint {
  let p = prices.get(c);
  if (p === undefined) prices.set(c, (p = BigInt(c.pricePerTask)));
  return p;
}

/** Cheapest first, then least loaded (share of capacity in use), then benchmark speed. */
export const priceThenLoad: Ranker = {
  name: 'price-then-load',
  compare(a, b) {
    const pa = priceOf(a.capabilities);
    const pb = priceOf(b.capabilities);
    if (pa !== pb) return pa < pb ? -1 : 1;
    const la = a.inflight / a.capacity;
    const lb = b.inflight / b.capacity;
    if (la !== lb) return la - lb;
    return b.capabilities.benchmark - a.capabilities.benchmark;
  },
};
