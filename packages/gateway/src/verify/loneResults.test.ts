import { describe, expect, it } from 'vitest';
import { LoneResults, type LoneResult } from './loneResults.js';

let seq = 0;
const entry = (node: string, jobId: string, index: number, receivedAt = 0): LoneResult => ({
  jobId,
  index,
  node,
  key: `ok||h${index}|1`,
  seq: ++seq,
  receivedAt,
  leaseId: `l${seq}`,
  session: null,
});

describe('LoneResults', () => {
  it('forgets what a node gave alone up to the answer of a check it passed, and no later', () => {
    const book = new LoneResults();
    const [a, b, c] = [entry('0xa', 'j', 0), entry('0xa', 'j', 1), entry('0xa', 'k', 0)];
    for (const r of [a, b, c]) book.add(r);
    book.add(entry('0xb', 'j', 2));
    // 0xa answered a check between b and c: a and b were given while it was honest, c after.
    expect(book.passed('0xa', b.seq)).toEqual([a, b]);
    expect(book.of('0xa')).toEqual([c]);
    expect(book.countOf('j')).toBe(1); // 0xb's
    expect(book.passed('0xa', b.seq)).toEqual([]);
    expect(book.size).toBe(2);
  });

  it('hands over every result of a node proven wrong, across jobs, and forgets them', () => {
    const book = new LoneResults();
    const mine = [entry('0xl', 'j', 0), entry('0xl', 'k', 5)];
    for (const r of mine) book.add(r);
    book.add(entry('0xh', 'j', 1));
    expect(book.takeAll('0xl')).toEqual(mine);
    expect(book.takeAll('0xl')).toEqual([]);
    expect(book.ofJob('j').map((r) => r.node)).toEqual(['0xh']);
    expect(book.countOf('k')).toBe(0);
  });

  it('keeps one entry per task: a newer answer for the task replaces the older, whoever gave it', () => {
    const book = new LoneResults();
    const old = entry('0xa', 'j', 0);
    book.add(old);
    const newer = entry('0xb', 'j', 0);
    book.add(newer);
    expect(book.get('j', 0)).toBe(newer);
    expect(book.of('0xa')).toEqual([]);
    expect(book.countOf('j')).toBe(1);
  });

  it('asks for an audit at maxPerNode results, and names nodes whose oldest result is too old', () => {
    const book = new LoneResults({ maxPerNode: 3, maxAgeMs: 1000 });
    expect(book.add(entry('0xa', 'j', 0, 100))).toBe(false);
    expect(book.add(entry('0xa', 'j', 1, 200))).toBe(false);
    expect(book.add(entry('0xa', 'j', 2, 300))).toBe(true);
    book.add(entry('0xb', 'j', 3, 900));
    expect(book.due(1050)).toEqual(['0xa']); // at the cap (and 0xb is young)
    book.passed('0xa', Number.MAX_SAFE_INTEGER);
    expect(book.due(1050)).toEqual([]);
    expect(book.due(1900)).toEqual(['0xb']);
  });

  it("keeps a node's results in answer order when they are replayed out of order (a restart)", () => {
    const book = new LoneResults();
    const [a, b, c] = [entry('0xa', 'j', 0), entry('0xa', 'j', 1), entry('0xa', 'j', 2)];
    for (const r of [c, a, b]) book.add(r);
    expect(book.of('0xa')).toEqual([a, b, c]);
    expect(book.latest('0xa')).toBe(c);
    expect(book.passed('0xa', a.seq)).toEqual([a]);
  });

  it("finds a node's newest result in one job", () => {
    const book = new LoneResults();
    const [a, b, c] = [entry('0xa', 'j', 0), entry('0xa', 'k', 0), entry('0xa', 'k', 1)];
    for (const r of [a, b, c]) book.add(r);
    expect(book.latest('0xa', 'j')).toBe(a);
    expect(book.latest('0xa', 'k')).toBe(c);
    expect(book.latest('0xa', 'x')).toBeUndefined();
  });
});
