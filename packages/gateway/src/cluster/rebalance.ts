/**
 * Work flows to where nodes are — by moving nodes to where work is. Each gateway of a cluster
 * writes its load (tasks queued, node slots connected) into its lease row on every beat; a
 * gateway with nothing queued and idle nodes asks some of them to move to a peer whose queue is
 * long for its slots (a node moves only to a gateway on its own list: provider/connection.ts).
 *
 * Why nodes move rather than tasks: a job's verification (replicas compared, known answers,
 * lone-result audits), its fenced writes and its requester's live events stay with one owner,
 * so nothing about correctness changes when work spreads; a node's move costs one handshake.
 *
 * `planMoves` is the whole decision, a pure function (tests: rebalance.test.ts):
 * - a gateway with tasks of its own waiting moves nothing;
 * - only nodes with no lease, connected for at least `settleMs` and not asked within `settleMs`
 *   move (so a node just moved here is not sent back, and one that stayed is not asked again at
 *   once): no ping-pong;
 * - at most half of the idle nodes move per beat, and `reserve` nodes stay (a job submitted here
 *   next starts at once): a cluster converges over a few beats instead of swinging;
 * - a peer needs nodes while its queue exceeds `backlogPerSlot` tasks per slot (any queue when it
 *   has no node); each node goes to the peer with the most tasks per slot, counting the slots
 *   already sent to it.
 */

/** What a gateway's lease row says about its load. */
export interface GatewayLoad {
  /** Tasks waiting for a node. */
  queued: number;
  /** Task slots of the nodes connected. */
  slots: number;
}

export interface PeerLoad extends GatewayLoad {
  /** The peer's incarnation. */
  id: string;
  /** Where nodes reach it (its first public URL), or null when it did not say. */
  url: string | null;
}

export interface MovableNode {
  id: string;
  slots: number;
  /** Leases held now. */
  inflight: number;
  connectedAt: number;
  /** When this gateway last asked it to move (0: never). */
  moveAskedAt: number;
}

export interface RebalanceOptions {
  now: number;
  /** A node stays this long after connecting, or after being asked to move, before it is asked (again). @default 10_000 */
  settleMs?: number;
  /** A peer needs nodes while it has more queued tasks than this per slot. @default 4 */
  backlogPerSlot?: number;
  /** Nodes this gateway keeps however idle. @default 1 */
  reserve?: number;
}

export interface Move {
  node: string;
  to: string;
  peer: string;
}

/** Whether a gateway with this load needs more nodes than it has. */
export function needsNodes(load: GatewayLoad, backlogPerSlot = 4): boolean {
  return load.queued > 0 && load.queued > backlogPerSlot * load.slots;
}

/** Which of this gateway's idle nodes to send to which peer now (see the module comment). */
export function planMoves(self: GatewayLoad, nodes: readonly MovableNode[], peers: readonly PeerLoad[], o: RebalanceOptions): Move[] {
  const settleMs = o.settleMs ?? 10_000;
  const backlogPerSlot = o.backlogPerSlot ?? 4;
  const reserve = o.reserve ?? 1;
  if (self.queued > 0) return [];
  const idle = nodes
    .filter((n) => n.inflight === 0 && o.now - n.connectedAt >= settleMs && o.now - n.moveAskedAt >= settleMs)
    .sort((a, b) => a.connectedAt - b.connectedAt || (a.id < b.id ? -1 : 1));
  const budget = Math.min(Math.max(1, Math.floor(idle.length / 2)), nodes.length - reserve, idle.length);
  if (budget <= 0) return [];
  const wanting = peers.filter((p) => p.url !== null && needsNodes(p, backlogPerSlot)).map((p) => ({ ...p }));
  const moves: Move[] = [];
  for (const node of idle) {
    if (moves.length >= budget) break;
    let best: (typeof wanting)[number] | undefined;
    for (const p of wanting) {
      if (!needsNodes(p, backlogPerSlot)) continue;
      if (!best || p.queued / Math.max(p.slots, 0.5) > best.queued / Math.max(best.slots, 0.5)) best = p;
    }
    if (!best) break;
    moves.push({ node: node.id, to: best.url!, peer: best.id });
    best.slots += node.slots;
  }
  return moves;
}
