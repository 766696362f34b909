/**
 * Who may take a replica of a task: small `{ ok, reason }` filters, chained like the
 * scheduler's match filters. Replicas are only worth something if they are independent.
 */
import type { MatchResult } from '../scheduler/policy.js';
import type { NetworkView, ReplicaCandidate, ReplicaFilter, ReplicaView } from './types.js';

/** One account never holds two replicas of a task (one account may run several node processes). */
export const distinctAccount: ReplicaFilter = {
  name: 'distinct-account',
  allows(task, node) {
    return task.nodes.has(node.address) ? { ok: false, reason: 'this account already holds or returned a replica of the task' } : { ok: true };
  },
};

/**
 * Replicas of a task come from distinct remote addresses — where the network allows it: when
 * every connected node shares one address (a single machine, a test network), or every
 * connected address already holds a replica of the task, the rule gives way.
 */
export const distinctRemote: ReplicaFilter = {
  name: 'distinct-remote',
  allows(task, node, net) {
    if (!task.remotes.has(node.remote) || task.remotes.size >= net.distinctRemotes) return { ok: true };
    return { ok: false, reason: `a node at ${node.remote} already holds or returned a replica of the task` };
  },
};

/**
 * When a task's answer so far comes from newcomers only, its next replica goes to a node with a
 * record (see `newcomerGuard`) — if one is connected.
 */
export const establishedWhenAsked: ReplicaFilter = {
  name: 'established',
  allows(task, node, net) {
    if (!task.needEstablished || !node.newcomer || net.established === 0) return { ok: true };
    return { ok: false, reason: "the task needs a node with a record to confirm newcomers' answer" };
  },
};

export const DEFAULT_REPLICA_FILTERS: readonly ReplicaFilter[] = [distinctAccount, distinctRemote, establishedWhenAsked];

export function replicaAllowed(filters: readonly ReplicaFilter[], task: ReplicaView, node: ReplicaCandidate, net: NetworkView): MatchResult {
  for (const f of filters) {
    const r = f.allows(task, node, net);
    if (!r.ok) return { ok: false, reason: `${f.name}: ${r.reason}` };
  }
  return { ok: true };
}
