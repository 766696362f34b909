import { describe, expect, it } from 'vitest';
import { checksToTrust, credibility } from './credibility.js';
import { JobVerification, type VerificationDeps } from './jobVerification.js';
import { nonePolicy, replicatePolicy, targetPolicy } from './policies.js';
import { KnownAnswers } from './canaries.js';

const net = { distinctRemotes: 1, established: 0 };
const TRUSTED = credibility(checksToTrust(1e-4, false), false);
const FRESH = credibility(0, false);

/** Deps with a scripted credibility per node and a replayable random sequence. */
function deps(cred: Record<string, number> = {}, randoms: number[] = []): VerificationDeps {
  let i = 0;
  return {
    credibility: (a) => cred[a] ?? FRESH,
    isNewcomer: () => false,
    random: () => (i < randoms.length ? randoms[i++]! : 0.999),
    now: () => 1000,
  };
}

let seq = 0;
const lease = (node: string) => ({ leaseId: `l${seq++}`, node, remote: '127.0.0.1' });

describe('JobVerification under none', () => {
  it('tracks nothing for an ordinary task', () => {
    const v = new JobVerification(nonePolicy, deps());
    expect(v.issued(0, lease('0xa'))).toEqual({ more: 0, canary: false });
    expect(v.inVerification).toBe(0);
  });

  it('takes the first result of a straggling task and cancels its speculative copy', () => {
    const v = new JobVerification(nonePolicy, deps());
    const slow = lease('0xa');
    v.issued(0, slow);
    expect(v.trackForSpeculation(0, slow)).toBe(true);
    expect(v.trackForSpeculation(0, slow)).toBe(false); // one copy per task
    expect(v.allows(0, { address: '0xa', remote: '127.0.0.1', newcomer: false }, net).ok).toBe(false);
    const copy = lease('0xb');
    expect(v.issued(0, copy, 'speculative')).toEqual({ more: 0, canary: false });
    const d = v.voted(0, copy.leaseId, 'copy', 'k');
    expect(d).toMatchObject({ kind: 'accept', winner: { node: '0xb', payload: 'copy' }, wrong: [] });
    if (d.kind === 'accept') expect(d.cancel.map((l) => l.leaseId)).toEqual([slow.leaseId]);
    expect(v.voted(0, slow.leaseId, 'late', 'k')).toEqual({ kind: 'unknown' });
    expect(v.stats).toMatchObject({ accepted: 1, executions: 1, speculative: 1 });
  });

  it('gives the task out again when both copies are lost', () => {
    const v = new JobVerification(nonePolicy, deps());
    const a = lease('0xa');
    v.issued(0, a);
    v.trackForSpeculation(0, a);
    const b = lease('0xb');
    v.issued(0, b, 'speculative');
    expect(v.lost(0, a.leaseId)).toEqual({ kind: 'more', count: 0 });
    expect(v.lost(0, b.leaseId)).toEqual({ kind: 'more', count: 1 });
    expect(v.inVerification).toBe(0);
  });
});

describe('JobVerification under replicate(2)', () => {
  it('gives each task to two distinct accounts and accepts when they agree', () => {
    const v = new JobVerification<string>(replicatePolicy(2), deps());
    const a = lease('0xa');
    expect(v.issued(0, a)).toEqual({ more: 1, canary: false });
    expect(v.allows(0, { address: '0xa', remote: '127.0.0.1', newcomer: false }, net).ok).toBe(false);
    const b = lease('0xb');
    expect(v.issued(0, b)).toEqual({ more: 0, canary: false });
    expect(v.voted(0, a.leaseId, 'ra', 'k1')).toEqual({ kind: 'wait' });
    const d = v.voted(0, b.leaseId, 'rb', 'k1');
    expect(d).toMatchObject({ kind: 'accept', agreeing: [{ node: '0xa' }, { node: '0xb' }], wrong: [] });
    expect(v.known.size).toBe(1);
  });

  it('adds a replica on disagreement and proves the minority wrong', () => {
    const v = new JobVerification<string>(replicatePolicy(2), deps());
    const [a, b, c] = [lease('0xa'), lease('0xb'), lease('0xc')];
    v.issued(0, a);
    v.issued(0, b);
    v.voted(0, a.leaseId, 'ra', 'good');
    expect(v.voted(0, b.leaseId, 'rb', 'bad')).toMatchObject({ kind: 'more', count: 1 });
    expect(v.issued(0, c)).toEqual({ more: 0, canary: false });
    const d = v.voted(0, c.leaseId, 'rc', 'good');
    expect(d).toMatchObject({ kind: 'accept', winner: { node: '0xa' }, wrong: [{ node: '0xb', payload: 'rb' }] });
    expect(v.stats).toMatchObject({ accepted: 1, executions: 3, wrong: 1 });
  });

  it('lets a node that lost its lease take the task again, and gives the lost replica out again', () => {
    const v = new JobVerification(replicatePolicy(2), deps());
    const a = lease('0xa');
    v.issued(0, a);
    v.issued(0, lease('0xb'));
    expect(v.lost(0, a.leaseId)).toEqual({ kind: 'more', count: 1 });
    expect(v.allows(0, { address: '0xa', remote: '127.0.0.1', newcomer: false }, net).ok).toBe(true);
    expect(v.setOf(0)!.lost).toBe(1);
  });

  it('takes a waiting decision again when the replica it waited for is lost', () => {
    const v = new JobVerification(replicatePolicy(2), deps());
    const [a, b, c] = [lease('0xa'), lease('0xb'), lease('0xc')];
    v.issued(0, a);
    v.issued(0, b);
    v.voted(0, a.leaseId, 'ra', 'x');
    expect(v.voted(0, b.leaseId, 'rb', 'y')).toMatchObject({ kind: 'more', count: 1 });
    v.issued(0, c);
    expect(v.lost(0, c.leaseId)).toEqual({ kind: 'more', count: 1 });
  });

  it('fails the task with every vote once 2k + 1 results disagree', () => {
    const v = new JobVerification(replicatePolicy(2), deps());
    let last;
    for (let i = 0; i < 5; i++) {
      const l = lease(`0x${i}`);
      v.issued(0, l);
      last = v.voted(0, l.leaseId, i, `k${i}`);
    }
    expect(last).toMatchObject({ kind: 'fail' });
    if (last?.kind === 'fail') expect(last.votes).toHaveLength(5);
    expect(v.stats.failed).toBe(1);
  });
});

describe('JobVerification under target(1e-4)', () => {
  const policy = (spotCheck = 0, canary = 0) => targetPolicy(1e-4, { maxReplicas: 9, audit: { spotCheck, canary } });

  it('accepts a trusted node alone and pairs a newcomer', () => {
    const v = new JobVerification(policy(), deps({ '0xt': TRUSTED }));
    const t = lease('0xt');
    expect(v.issued(0, t)).toEqual({ more: 0, canary: false });
    expect(v.voted(0, t.leaseId, 'r', 'k')).toMatchObject({ kind: 'accept' });

    const n = lease('0xn');
    expect(v.issued(1, n)).toEqual({ more: 1, canary: false });
    const t2 = lease('0xt');
    expect(v.issued(1, t2)).toEqual({ more: 0, canary: false });
    expect(v.voted(1, n.leaseId, 'r', 'k')).toEqual({ kind: 'wait' });
    expect(v.voted(1, t2.leaseId, 'r', 'k')).toMatchObject({ kind: 'accept', agreeing: [{ node: '0xn' }, { node: '0xt' }] });
  });

  it("parks a task at its cap, accepts it once its voters' records make the answer credible, and fails it after the wait", () => {
    const cred: Record<string, number> = {};
    let now = 1000;
    const v = new JobVerification(targetPolicy(1e-4, { maxReplicas: 3, audit: { spotCheck: 0, canary: 0 } }), { ...deps(cred), now: () => now });
    const nodes = ['0xa', '0xb', '0xc'];
    const ls = nodes.map((n) => lease(n));
    v.issued(0, ls[0]!);
    v.issued(0, ls[1]!);
    v.issued(0, ls[2]!);
    for (const l of ls) expect(v.voted(0, l.leaseId, 'r', 'k').kind).not.toBe('accept');
    expect(v.parkedCount).toBe(1);
    expect(v.reconsider(60_000)).toEqual([]); // nothing changed yet
    cred['0xa'] = TRUSTED; // 0xa's record grew on other tasks
    const [d] = v.reconsider(60_000);
    expect(d).toMatchObject({ index: 0, decision: { kind: 'accept', agreeing: [{ node: '0xa' }, { node: '0xb' }, { node: '0xc' }] } });
    expect(v.parkedCount).toBe(0);

    const more = nodes.map((n) => lease(n));
    for (const l of more) v.issued(1, l);
    cred['0xa'] = FRESH;
    for (const l of more) v.voted(1, l.leaseId, 'r', 'k');
    now += 59_000;
    expect(v.reconsider(60_000)).toEqual([]);
    now += 2_000;
    expect(v.reconsider(60_000)).toMatchObject([{ index: 1, decision: { kind: 'fail', reason: expect.stringMatching(/after waiting 61 s/) } }]);
    expect(v.stats.failed).toBe(1);
  });

  it("spot-checks a trusted node's task at the audit rate and asks for a canary at the canary rate", () => {
    const v = new JobVerification(policy(0.5, 0.5), deps({ '0xt': TRUSTED, '0xu': TRUSTED }, [0.4, 0.6, 0.6, 0.4]));
    const t = lease('0xt');
    expect(v.issued(0, t)).toEqual({ more: 1, canary: false }); // spot check (0.4 < 0.5), no canary (0.6)
    const u = lease('0xu');
    v.issued(0, u);
    expect(v.voted(0, t.leaseId, 'r', 'k')).toEqual({ kind: 'wait' }); // trusted, but needs a second vote
    expect(v.voted(0, u.leaseId, 'r', 'k')).toMatchObject({ kind: 'accept' });
    expect(v.issued(1, lease('0xt'))).toEqual({ more: 0, canary: true }); // no spot check (0.6), canary (0.4)
    expect(v.stats.spotChecks).toBe(1);
  });

  it('gives a verified task as a known-answer check: passing confirms, failing proves the node wrong', () => {
    const v = new JobVerification(policy(), deps({ '0xa': TRUSTED, '0xb': TRUSTED }));
    const [a, b] = [lease('0xa'), lease('0xb')];
    // Verify task 0 by two agreeing nodes (a spot check).
    v.issued(0, a);
    const set = v.setOf(0)!;
    set.required = 2;
    set.wanted = 2;
    v.issued(0, b);
    v.voted(0, a.leaseId, 'r', 'answer');
    v.voted(0, b.leaseId, 'r', 'answer');
    expect(v.pickCanary('0xa')).toBeUndefined(); // it produced the answer itself
    const answer = v.pickCanary('0xc')!;
    expect(answer).toMatchObject({ index: 0, key: 'answer' });
    const c = lease('0xc');
    v.canaryIssued(answer, c);
    expect(v.isCanary(c.leaseId)).toBe(true);
    expect(v.pickCanary('0xc')).toBeUndefined(); // never asked twice
    expect(v.canaryVoted(c.leaseId, 'lie')).toMatchObject({ valid: false, canary: { node: '0xc', answer: { index: 0 } } });
    const d = lease('0xd');
    v.canaryIssued(v.pickCanary('0xd')!, d);
    expect(v.canaryVoted(d.leaseId, 'answer')).toMatchObject({ valid: true });
    expect(v.stats).toMatchObject({ canaries: 2, wrong: 1, executions: 4 });
  });

  it("never runs a verified task more often than the policy's cap, and gives back a lost canary's execution", () => {
    const pool = new KnownAnswers(4, () => 0);
    pool.add({ index: 3, key: 'k', nodes: ['0xa', '0xb'], executions: 8, decidedAt: 0 });
    const a = pool.pick('0xc', 9)!;
    pool.reserve(a, '0xc');
    expect(pool.pick('0xd', 9)).toBeUndefined();
    pool.release(a, '0xc');
    expect(pool.pick('0xd', 9)).toBeDefined();
    expect(pool.pick('0xc', 9)).toBeDefined();
  });
});

describe("JobVerification.reopen (a result taken on one node's word alone, decided again)", () => {
  const policy = () => targetPolicy(1e-4, { maxReplicas: 9, audit: { spotCheck: 0, canary: 0 } });
  const OFFENDER = credibility(0, true);

  /** Task 0 accepted from trusted 0xl alone; returns its accepting vote. */
  function acceptedAlone(v: JobVerification<string>) {
    const l = lease('0xl');
    v.issued(0, l);
    const d = v.voted(0, l.leaseId, 'lie', 'wrong');
    if (d.kind !== 'accept') throw new Error('not accepted');
    expect(d.agreeing).toHaveLength(1);
    return d.winner;
  }

  it("re-verifies a caught node's result: its vote now weighs little, others outvote it, and it is proven wrong", () => {
    const cred: Record<string, number> = { '0xl': TRUSTED, '0xh': TRUSTED, '0xi': TRUSTED };
    const v = new JobVerification<string>(policy(), deps(cred));
    const original = acceptedAlone(v);
    cred['0xl'] = OFFENDER; // caught on another task
    const n = v.reopen(0, { reason: 'caught', original });
    expect(n).toBeGreaterThanOrEqual(1);
    expect(v.allows(0, { address: '0xl', remote: '127.0.0.1', newcomer: false }, net).ok).toBe(false); // never its own judge
    expect(v.reopen(0, { reason: 'caught', original })).toBe(-1); // once
    let d;
    for (const node of ['0xh', '0xi']) {
      const l = lease(node);
      v.issued(0, l);
      d = v.voted(0, l.leaseId, 'right', 'right');
      if (d.kind === 'accept') break;
    }
    expect(d).toMatchObject({ kind: 'accept', winner: { node: '0xh', payload: 'right' }, wrong: [{ node: '0xl' }], reopened: { reason: 'caught' } });
    expect(v.stats).toMatchObject({ accepted: 1, reverified: 1, revised: 1, wrong: 1 });
    // The original counted as the task's first execution when it was accepted.
    expect(v.stats.executions).toBe(1 + (d!.kind === 'accept' ? d!.agreeing.length : 0));
  });

  it('audits a trusted node through a result: one more node must agree, however credible the node is', () => {
    const v = new JobVerification<string>(policy(), deps({ '0xl': TRUSTED, '0xh': TRUSTED }));
    const original = acceptedAlone(v);
    expect(v.reopen(0, { reason: 'audit', original })).toBe(1);
    const h = lease('0xh');
    v.issued(0, h);
    const d = v.voted(0, h.leaseId, 'same', 'wrong'); // agrees with the original answer
    expect(d).toMatchObject({
      kind: 'accept',
      winner: { node: '0xh' },
      agreeing: [{ node: '0xl' }, { node: '0xh' }],
      wrong: [],
      reopened: { reason: 'audit' },
    });
    expect(v.stats).toMatchObject({ reverified: 1, revised: 0, executions: 2 });
  });

  it('a node caught while it is being audited: the audit becomes a re-verification', () => {
    const v = new JobVerification<string>(policy(), deps({ '0xl': TRUSTED }));
    const original = acceptedAlone(v);
    v.reopen(0, { reason: 'audit', original });
    expect(v.reopen(0, { reason: 'caught', original })).toBe(-1);
    expect(v.reopenedOf(0)?.reason).toBe('caught');
  });

  it('gives up without an answer: the caller gets the reopening back', () => {
    const v = new JobVerification<string>(policy(), deps({ '0xl': TRUSTED }));
    const original = acceptedAlone(v);
    v.reopen(0, { reason: 'caught', original });
    const gone = v.abandon(0);
    expect(gone).toMatchObject({ votes: [{ node: '0xl' }], reopened: { reason: 'caught' } });
    expect(v.stats).toMatchObject({ failed: 0, reverified: 1, executions: 1 });
    expect(v.reopenedOf(0)).toBeUndefined();
  });
});
