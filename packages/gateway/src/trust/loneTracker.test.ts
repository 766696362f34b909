import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { LoneTracker, type LoneListener } from './loneTracker.js';
import { emptyReputation } from '../verify/reputation.js';
import type { LoneResult } from '../verify/loneResults.js';

const log = pino({ level: 'silent' });
let seq = 0;
const entry = (node: string, index: number, receivedAt = 100): LoneResult => ({
  jobId: 'j',
  index,
  node,
  key: 'k',
  seq: ++seq,
  receivedAt,
  leaseId: 'l',
  session: null,
});

/** A store that records deletes; `fail` makes the next delete throw. */
function store(rows: LoneResult[] = []) {
  const deleted: Array<{ jobId: string; index: number; seq: number }> = [];
  let fail = 0;
  return {
    deleted,
    failNext: (n = 1) => (fail = n),
    loadLoneResults: async () => rows,
    deleteLoneResults: async (keys: typeof deleted) => {
      if (fail-- > 0) throw new Error('database away');
      deleted.push(...keys);
    },
  };
}

const listener = () => {
  const heard: { caught: Array<[string, number[]]>; audited: number[] } = { caught: [], audited: [] };
  const l: LoneListener = {
    caught: (node, rs) => heard.caught.push([node, rs.map((r) => r.index)]),
    audited: (rs) => heard.audited.push(...rs.map((r) => r.index)),
  };
  return { heard, l };
};
const settle = () => new Promise((r) => setTimeout(r, 60));

describe('LoneTracker', () => {
  it('forgets an entry in the store only once its own write landed, however early its node passed a check', async () => {
    const s = store();
    const t = new LoneTracker({ store: s, log });
    await t.start((a) => emptyReputation(a, 0));
    const { heard, l } = listener();
    t.listen(l);
    const early = entry('0xa', 0);
    const landed = entry('0xa', 1);
    t.add(early);
    t.add(landed);
    t.stored(landed);
    t.passed('0xa', landed.seq);
    expect(heard.audited).toEqual([0, 1]);
    await settle();
    expect(s.deleted).toEqual([{ jobId: 'j', index: 1, seq: landed.seq }]); // the early one's row is not written yet
    t.stored(early);
    await settle();
    expect(s.deleted.map((d) => d.index)).toEqual([1, 0]);
  });

  it('retries deletes the store refused', async () => {
    const s = store();
    const t = new LoneTracker({ store: s, log });
    await t.start((a) => emptyReputation(a, 0));
    const r = entry('0xa', 0);
    t.add(r);
    t.stored(r);
    s.failNext();
    t.passed('0xa', r.seq);
    await settle();
    expect(s.deleted).toEqual([]);
    await new Promise((res) => setTimeout(res, 1100));
    expect(s.deleted.map((d) => d.index)).toEqual([0]);
    await t.stop();
  });

  it("hands a caught node's entries to the listener, and at start those of nodes caught after them (before a restart)", async () => {
    const caughtLater = entry('0xl', 0, 100);
    const after = entry('0xl', 1, 300); // given after its offence: not part of it
    const other = entry('0xh', 2, 100);
    const t = new LoneTracker({ store: store([caughtLater, after, other]), log });
    await t.start((a) => ({ ...emptyReputation(a, 0), ...(a === '0xl' ? { invalid: 1, lastWrongAt: 200 } : {}) }));
    expect(t.nextSeq()).toBeGreaterThan(other.seq); // the answer order goes on from the stored entries
    const { heard, l } = listener();
    t.listen(l);
    expect(heard.caught).toEqual([['0xl', [0]]]);
    expect(t.book.of('0xl').map((r) => r.index)).toEqual([1]);
    t.caught('0xh');
    expect(heard.caught).toEqual([
      ['0xl', [0]],
      ['0xh', [2]],
    ]);
    expect(t.book.size).toBe(1);
  });
});
