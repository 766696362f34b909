import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { needsNodes, planMoves, type MovableNode, type PeerLoad } from './rebalance.js';

const NOW = 1_000_000;
const SETTLE = 10_000;
const node = (id: string, over: Partial<MovableNode> = {}): MovableNode => ({ id, slots: 2, inflight: 0, connectedAt: 0, moveAskedAt: 0, ...over });
const peer = (id: string, queued: number, slots: number, url: string | null = `http://${id}`): PeerLoad => ({ id, url, queued, slots });

describe('planMoves', () => {
  it('sends idle nodes to a gateway with work and no node, keeping one here', () => {
    const nodes = [node('a'), node('b'), node('c'), node('d')];
    const moves = planMoves({ queued: 0, slots: 8 }, nodes, [peer('busy', 100, 0), peer('idle', 0, 4)], { now: NOW });
    expect(moves).toEqual([
      { node: 'a', to: 'http://busy', peer: 'busy' },
      { node: 'b', to: 'http://busy', peer: 'busy' },
    ]);
  });

  it('moves nothing while this gateway has tasks of its own waiting, or no peer needs nodes', () => {
    const nodes = [node('a'), node('b'), node('c')];
    expect(planMoves({ queued: 1, slots: 6 }, nodes, [peer('busy', 100, 0)], { now: NOW })).toEqual([]);
    // A queue of at most backlogPerSlot (4) tasks per slot is served well enough where it is.
    expect(planMoves({ queued: 0, slots: 6 }, nodes, [peer('p', 8, 2), peer('q', 0, 0)], { now: NOW })).toEqual([]);
    // A peer that did not say where nodes reach it gets none.
    expect(planMoves({ queued: 0, slots: 6 }, nodes, [peer('p', 100, 0, null)], { now: NOW })).toEqual([]);
  });

  it('never moves a node with leases, one that just connected, or one asked a moment ago', () => {
    const nodes = [node('busy', { inflight: 1 }), node('new', { connectedAt: NOW - 1 }), node('asked', { moveAskedAt: NOW - 1 }), node('x'), node('y')];
    const moves = planMoves({ queued: 0, slots: 10 }, nodes, [peer('p', 1000, 0)], { now: NOW, settleMs: SETTLE });
    expect(moves.map((m) => m.node)).toEqual(['x']); // half of the two idle ones
  });

  it('sends each node to the peer with the most tasks per slot, counting what it already sent', () => {
    const nodes = ['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((id) => node(id));
    const moves = planMoves({ queued: 0, slots: 14 }, nodes, [peer('p', 60, 2), peer('q', 40, 2)], { now: NOW });
    // p: 30/slot > q: 20/slot → p; p then 60/4 = 15 < 20 → q; q 40/4 = 10 < 15 → p.
    expect(moves.map((m) => m.peer)).toEqual(['p', 'q', 'p']);
  });

  it('keeps its promises whatever the loads (property)', () => {
    const arbNode = fc.record({
      id: fc.uuid(),
      slots: fc.integer({ min: 1, max: 64 }),
      inflight: fc.integer({ min: 0, max: 3 }),
      connectedAt: fc.integer({ min: 0, max: NOW }),
      moveAskedAt: fc.integer({ min: 0, max: NOW }),
    });
    const arbPeer = fc.record({
      id: fc.uuid(),
      url: fc.option(fc.webUrl(), { nil: null }),
      queued: fc.integer({ min: 0, max: 100_000 }),
      slots: fc.integer({ min: 0, max: 1000 }),
    });
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 50 }),
        fc.uniqueArray(arbNode, { selector: (n) => n.id, maxLength: 30 }),
        fc.array(arbPeer, { maxLength: 6 }),
        fc.integer({ min: 1, max: 3 }),
        (queued, nodes, peers, reserve) => {
          const self = { queued, slots: nodes.reduce((n, x) => n + x.slots, 0) };
          const moves = planMoves(self, nodes, peers, { now: NOW, settleMs: SETTLE, reserve });
          const byId = new Map(nodes.map((n) => [n.id, n]));
          if (queued > 0) expect(moves).toEqual([]);
          expect(new Set(moves.map((m) => m.node)).size).toBe(moves.length); // each node once
          const idle = nodes.filter((n) => n.inflight === 0 && NOW - n.connectedAt >= SETTLE && NOW - n.moveAskedAt >= SETTLE);
          expect(moves.length).toBeLessThanOrEqual(Math.max(1, Math.floor(idle.length / 2)));
          expect(nodes.length - moves.length).toBeGreaterThanOrEqual(Math.min(reserve, nodes.length)); // the reserve stays
          for (const m of moves) {
            const n = byId.get(m.node)!;
            expect(idle).toContain(n);
            const p = peers.find((x) => x.id === m.peer)!;
            expect(p.url).toBe(m.to);
            expect(needsNodes(p)).toBe(true); // only to a peer that needed nodes before any was sent
          }
        },
      ),
    );
  });
});
