/**
 * Results accepted on one node's word alone, per node, since that node last passed a check.
 *
 * Under `target(ε)` a trusted node's result is taken alone: no second vote backs it. The
 * credibility model bounds how often such a result is wrong for a node that lies at some rate
 * from the start, but not for one that behaves to earn trust and then lies. So every such
 * result is remembered against its node until the node passes a check — a replica that agreed
 * with it, a known-answer task, or this result itself re-run elsewhere — of an answer it gave
 * at or after that result (a liar that turned before the check would have failed it). If the
 * node is proven wrong first, every result remembered against it is re-verified
 * (jobs/revisions.ts).
 *
 * The book is bounded: at `maxPerNode` results a node is audited at once, and so is a node whose
 * oldest result is older than `maxAgeMs` (see `due`); the caller runs the audit. Order is a
 * gateway-wide sequence number given to every answer as it arrives (`seq`), so "at or after"
 * does not depend on clocks.
 *
 * Pure bookkeeping: no store, no clock (times come in as arguments); the trust service persists
 * the entries and replays them at start.
 */

/** One result taken on its node's word alone. */
export interface LoneResult {
  jobId: string;
  index: number;
  /** The node's account, lowercase. */
  node: string;
  /** The accepted answer's vote key (verify/vote.ts). */
  key: string;
  /** When the answer arrived, in the gateway's answer order. */
  seq: number;
  /** When the answer arrived (ms; for ages and evidence). */
  receivedAt: number;
  /** The lease it answered (evidence names it). */
  leaseId: string;
  /** The node's signed hello of the session it came on (evidence carries it), if known. */
  session: unknown;
}

export interface LoneResultsOptions {
  /** Results kept per node; at this many the node is audited at once. @default 64 */
  maxPerNode?: number;
  /** A node whose oldest result is older than this (ms) is audited. @default 300000 */
  maxAgeMs?: number;
}

export const DEFAULT_LONE_RESULTS = { maxPerNode: 64, maxAgeMs: 300_000 } as const;

/** A task's key in maps of tasks of many jobs. */
export const taskKey = (jobId: string, index: number) => `${index}@${jobId}`;

export class LoneResults {
  /** Per node, oldest first (ascending seq). */
  private readonly byNode = new Map<string, LoneResult[]>();
  private readonly byTask = new Map<string, LoneResult>();
  private readonly jobCounts = new Map<string, number>();
  readonly maxPerNode: number;
  readonly maxAgeMs: number;

  constructor(o: LoneResultsOptions = {}) {
    this.maxPerNode = Math.max(1, Math.floor(o.maxPerNode ?? DEFAULT_LONE_RESULTS.maxPerNode));
    this.maxAgeMs = Math.max(0, o.maxAgeMs ?? DEFAULT_LONE_RESULTS.maxAgeMs);
  }

  /** Results remembered, over all nodes. */
  get size(): number {
    return this.byTask.size;
  }

  /**
   * Remembers a result taken on `r.node`'s word alone (replacing an older entry for the same
   * task). Returns true when the node now holds `maxPerNode` results: audit it now.
   */
  add(r: LoneResult): boolean {
    this.remove(r.jobId, r.index);
    let list = this.byNode.get(r.node);
    if (!list) this.byNode.set(r.node, (list = []));
    // Answers arrive in seq order, but a restart replays them in any order: keep the list sorted.
    let at = list.length;
    while (at > 0 && list[at - 1]!.seq > r.seq) at--;
    list.splice(at, 0, r);
    this.byTask.set(taskKey(r.jobId, r.index), r);
    this.jobCounts.set(r.jobId, (this.jobCounts.get(r.jobId) ?? 0) + 1);
    return list.length >= this.maxPerNode;
  }

  /**
   * `node` passed a check of an answer it gave at `seq`: its results up to that answer were
   * given while it was honest. Forgets and returns them.
   */
  passed(node: string, seq: number): LoneResult[] {
    const list = this.byNode.get(node);
    if (!list || list.length === 0 || list[0]!.seq > seq) return [];
    let n = 0;
    while (n < list.length && list[n]!.seq <= seq) n++;
    const out = list.splice(0, n);
    for (const r of out) this.unindex(r);
    if (list.length === 0) this.byNode.delete(node);
    return out;
  }

  /** `node` was proven wrong: forgets and returns every result it gave alone (to re-verify). */
  takeAll(node: string): LoneResult[] {
    const list = this.byNode.get(node) ?? [];
    this.byNode.delete(node);
    for (const r of list) this.unindex(r);
    return list;
  }

  /** Forgets one task's entry (its result was re-verified or replaced); returns it if there was one. */
  remove(jobId: string, index: number): LoneResult | undefined {
    const r = this.byTask.get(taskKey(jobId, index));
    if (!r) return undefined;
    const list = this.byNode.get(r.node);
    if (list) {
      const i = list.indexOf(r);
      if (i >= 0) list.splice(i, 1);
      if (list.length === 0) this.byNode.delete(r.node);
    }
    this.unindex(r);
    return r;
  }

  get(jobId: string, index: number): LoneResult | undefined {
    return this.byTask.get(taskKey(jobId, index));
  }

  /** How many results of this job are remembered. */
  countOf(jobId: string): number {
    return this.jobCounts.get(jobId) ?? 0;
  }

  /** This job's remembered results (a scan of the book: for job ends and views, not per task). */
  ofJob(jobId: string): LoneResult[] {
    if (!this.jobCounts.has(jobId)) return [];
    const out: LoneResult[] = [];
    for (const r of this.byTask.values()) if (r.jobId === jobId) out.push(r);
    return out;
  }

  /** The nodes with results remembered. */
  nodes(): IterableIterator<string> {
    return this.byNode.keys();
  }

  /** The node's results, oldest first. */
  of(node: string): readonly LoneResult[] {
    return this.byNode.get(node) ?? [];
  }

  /** Its newest result (of one job when `jobId` is given). */
  latest(node: string, jobId?: string): LoneResult | undefined {
    const list = this.byNode.get(node);
    if (!list) return undefined;
    for (let i = list.length - 1; i >= 0; i--) if (jobId === undefined || list[i]!.jobId === jobId) return list[i];
    return undefined;
  }

  /** Nodes to audit now: at `maxPerNode` results, or with a result older than `maxAgeMs`. */
  due(now: number): string[] {
    const out: string[] = [];
    for (const [node, list] of this.byNode) {
      if (list.length >= this.maxPerNode || now - list[0]!.receivedAt >= this.maxAgeMs) out.push(node);
    }
    return out;
  }

  private unindex(r: LoneResult): void {
    this.byTask.delete(taskKey(r.jobId, r.index));
    const n = (this.jobCounts.get(r.jobId) ?? 1) - 1;
    if (n > 0) this.jobCounts.set(r.jobId, n);
    else this.jobCounts.delete(r.jobId);
  }
}
