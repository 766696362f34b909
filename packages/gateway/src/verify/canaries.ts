/**
 * Known-answer tasks (canaries). A canary is a task of the same job that a quorum has already
 * verified, leased again — same module, input, seed, limits and lease shape — to a node that
 * has not run it. To the node it is one more task of the job; to the gateway its answer is
 * known, so one execution says whether the node is honest. A node that fails one is proven
 * wrong, exactly like a quorum's minority.
 *
 * The pool keeps a bounded sample of verified tasks per job (reservoir sampling over all the
 * job's verified tasks), so memory does not grow with the job.
 */

export interface KnownAnswer {
  index: number;
  key: string;
  /** Accounts whose agreeing votes verified it (never asked again for this task). */
  nodes: string[];
  /** Paid executions of the task so far (its votes, then each known-answer run); bounded by the policy's cap. */
  executions: number;
  decidedAt: number;
}

export class KnownAnswers {
  private readonly items: KnownAnswer[] = [];
  private seen = 0;

  constructor(
    private readonly capacity = 64,
    private readonly random: () => number = Math.random,
  ) {}

  get size(): number {
    return this.items.length;
  }

  /** Adds a task verified by at least two agreeing accounts (or by a passed canary). */
  add(answer: KnownAnswer): void {
    this.seen++;
    const existing = this.items.findIndex((a) => a.index === answer.index);
    if (existing >= 0) {
      this.items[existing] = answer;
      return;
    }
    if (this.items.length < this.capacity) {
      this.items.push(answer);
      return;
    }
    const slot = Math.floor(this.random() * this.seen);
    if (slot < this.capacity) this.items[slot] = answer;
  }

  /**
   * A known answer this node has not produced (nor been asked for), whose task has fewer than
   * `maxExecutions` paid executions; undefined if none. Count the run with `reserve`.
   */
  pick(node: string, maxExecutions: number): KnownAnswer | undefined {
    if (this.items.length === 0) return undefined;
    const start = Math.floor(this.random() * this.items.length);
    for (let i = 0; i < this.items.length; i++) {
      const a = this.items[(start + i) % this.items.length]!;
      if (!a.nodes.includes(node) && a.executions < maxExecutions) return a;
    }
    return undefined;
  }

  /** Counts one more execution of this answer's task by `node` (given out as a canary). */
  reserve(answer: KnownAnswer, node: string): void {
    answer.executions++;
    answer.nodes.push(node);
  }

  /** Gives back an execution that was not done (the canary lease was lost or cancelled). */
  release(answer: KnownAnswer, node: string): void {
    answer.executions = Math.max(0, answer.executions - 1);
    const i = answer.nodes.lastIndexOf(node);
    if (i >= 0) answer.nodes.splice(i, 1);
  }
}
