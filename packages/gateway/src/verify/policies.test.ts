import { describe, expect, it } from 'vitest';
import { checksToTrust, credibility, groupCredibilities, groupVotes, optimisticCredibility, DEFAULT_TRUST_PARAMS } from './credibility.js';
import { nonePolicy, replicatePolicy, targetPolicy } from './policies.js';
import { distinctAccount, distinctRemote, replicaAllowed, DEFAULT_REPLICA_FILTERS } from './filters.js';
import { isVote, parseVoteKey, voteKey } from './vote.js';
import { maxReplicasOf, policyFor } from './trustConfig.js';
import type { TaskTally } from './types.js';

const NO_AUDIT = { spotCheck: 0, canary: 0 };
const tally = (keys: string[], cred = 0.8, outstanding: number[] = [], required = 1, newcomer = false): TaskTally => ({
  votes: keys.map((key) => ({ key, credibility: cred, newcomer })),
  outstanding: outstanding.map((credibility) => ({ credibility, newcomer })),
  required,
  establishedAvailable: false,
});
const votesOf = (list: Array<[string, number]>) => list.map(([key, credibility]) => ({ key, credibility, newcomer: false }));

describe('votes', () => {
  it('counts deterministic failures as votes but not timeouts, crashes, cancellations or missing blobs', () => {
    expect(isVote({ status: 'ok', errorCode: null })).toBe(true);
    for (const code of ['SANDBOX_TRAP', 'SANDBOX_MEMORY_LIMIT', 'SANDBOX_OUTPUT_LIMIT', 'SANDBOX_FUEL_EXHAUSTED', 'SANDBOX_INVALID_MODULE']) {
      expect(isVote({ status: 'failed', errorCode: code }), code).toBe(true);
    }
    for (const code of ['SANDBOX_TIMEOUT', 'SANDBOX_WORKER_CRASHED', 'SANDBOX_CANCELLED', 'SANDBOX_BLOB_UNAVAILABLE']) {
      expect(isVote({ status: 'failed', errorCode: code }), code).toBe(false);
    }
  });

  it('compares status, error code, result hash and fuel — a different fuel count is a different answer', () => {
    const a = { status: 'ok' as const, errorCode: null, resultHash: 'ab', fuelUsed: 100 };
    expect(voteKey(a)).toBe(voteKey({ ...a }));
    expect(voteKey(a)).not.toBe(voteKey({ ...a, fuelUsed: 101 }));
    expect(voteKey(a)).not.toBe(voteKey({ ...a, resultHash: 'ac' }));
    expect(voteKey({ ...a, status: 'failed', errorCode: 'SANDBOX_TRAP' })).not.toBe(voteKey({ ...a, status: 'failed', errorCode: 'SANDBOX_FUEL_EXHAUSTED' }));
    expect(parseVoteKey(voteKey(a))).toEqual(a);
    expect(parseVoteKey(voteKey({ ...a, fuelUsed: null, status: 'failed', errorCode: 'SANDBOX_TRAP' }))).toEqual({
      ...a,
      fuelUsed: null,
      status: 'failed',
      errorCode: 'SANDBOX_TRAP',
    });
  });
});

describe('credibility', () => {
  it('starts at 1 − priorLiarFraction, grows with each right check, and an offender starts lower', () => {
    expect(credibility(0, false)).toBeCloseTo(0.8, 12);
    let prev = 0;
    for (let v = 0; v < 60; v++) {
      const c = credibility(v, false);
      expect(c).toBeGreaterThan(prev);
      prev = c;
    }
    expect(credibility(10, true)).toBeLessThan(credibility(10, false));
  });

  it('needs as many right checks for one result to meet an error rate as the model says', () => {
    for (const eps of [1e-2, 1e-3, 1e-4, 1e-6]) {
      const v = checksToTrust(eps, false);
      expect(1 - credibility(v, false)).toBeLessThanOrEqual(eps);
      expect(1 - credibility(v - 1, false)).toBeGreaterThan(eps);
    }
    expect(checksToTrust(1e-4, false, DEFAULT_TRUST_PARAMS)).toBe(36);
    expect(checksToTrust(1e-4, true)).toBeGreaterThan(checksToTrust(1e-4, false));
  });

  it("weighs groups like iExec: one vote alone has its node's credibility; agreement multiplies odds", () => {
    expect(groupCredibilities(groupVotes([{ key: 'a', credibility: 0.9 }]))[0]).toBeCloseTo(0.9, 12);
    const two = groupCredibilities(
      groupVotes([
        { key: 'a', credibility: 0.9 },
        { key: 'a', credibility: 0.9 },
      ]),
    )[0]!;
    expect(two).toBeCloseTo(81 / 82, 12);
    // A disagreeing voter lowers the leader's credibility.
    const groups = groupVotes([
      { key: 'a', credibility: 0.9 },
      { key: 'a', credibility: 0.9 },
      { key: 'b', credibility: 0.9 },
    ]);
    expect(groups[0]!.key).toBe('a');
    const [ca, cb] = groupCredibilities(groups);
    expect(ca).toBeLessThan(two);
    expect(ca! + cb!).toBeLessThan(1);
    expect(optimisticCredibility([0.9, 0.9])).toBeCloseTo(81 / 82, 12);
  });
});

describe('replicate(k)', () => {
  const p = replicatePolicy(3);

  it('wants k replicas and accepts the first answer with k votes', () => {
    expect(p.wanted([])).toBe(3);
    expect(p.maxReplicas).toBe(7);
    expect(p.decide(tally(['a', 'a'], 0.8, [0.8], 3)).kind).toBe('wait');
    expect(p.decide(tally(['a', 'a', 'a'], 0.8, [], 3))).toMatchObject({ kind: 'accept', key: 'a' });
  });

  it('adds replicas on disagreement until k agree', () => {
    expect(p.decide(tally(['a', 'b', 'a'], 0.8, [], 3))).toMatchObject({ kind: 'more', count: 1 });
    expect(p.decide(tally(['a', 'b', 'c'], 0.8, [], 3))).toMatchObject({ kind: 'more', count: 2 });
    expect(p.decide(tally(['a', 'b', 'c'], 0.8, [0.8], 3))).toMatchObject({ kind: 'more', count: 1 });
    expect(p.decide(tally(['a', 'b', 'a', 'b', 'a'], 0.8, [], 3))).toMatchObject({ kind: 'accept', key: 'a' });
  });

  it('fails at 2k + 1 results, or as soon as no answer can reach k within the cap', () => {
    expect(p.decide(tally(['a', 'b', 'a', 'b', 'c', 'c', 'd'], 0.8, [], 3))).toMatchObject({ kind: 'fail' });
    expect(p.decide(tally(['a', 'b', 'c', 'd', 'e', 'f'], 0.8, [], 3))).toMatchObject({ kind: 'fail' });
    expect(p.decide(tally(['a', 'b', 'c', 'd', 'e'], 0.8, [], 3))).toMatchObject({ kind: 'more', count: 2 });
  });

  it('replicate(1) is none', () => {
    expect(replicatePolicy(1).trivial).toBe(true);
    expect(() => replicatePolicy(0)).toThrow(RangeError);
  });
});

describe('target(errorRate)', () => {
  const eps = 1e-4;
  const p = targetPolicy(eps, { maxReplicas: 9, audit: NO_AUDIT });
  const trusted = credibility(checksToTrust(eps, false), false);
  const fresh = credibility(0, false);

  it('gives a trusted node a task alone and pairs a newcomer with others until the group could reach the target', () => {
    expect(p.wanted([])).toBe(1);
    expect(p.wanted([trusted])).toBe(1);
    expect(p.wanted([fresh])).toBe(2);
    expect(p.wanted([fresh, fresh])).toBe(3);
    expect(p.wanted([fresh, trusted])).toBe(2);
    // Seven fresh nodes agreeing (odds 4^7) are enough at 1e-4; six are not.
    expect(p.wanted(Array(6).fill(fresh))).toBe(7);
    expect(p.wanted(Array(7).fill(fresh))).toBe(7);
  });

  it("accepts a trusted node's result alone, but not a newcomer's", () => {
    expect(p.decide(tally(['a'], trusted))).toMatchObject({ kind: 'accept', key: 'a' });
    expect(p.decide(tally(['a'], fresh, [fresh])).kind).toBe('more');
    expect(
      p.decide({
        ...tally([]),
        votes: votesOf([
          ['a', fresh],
          ['a', trusted],
        ]),
      }).kind,
    ).toBe('accept');
  });

  it('needs two agreeing votes for a spot-checked task, however trusted the first node', () => {
    expect(p.decide(tally(['a'], trusted, [trusted], 2)).kind).toBe('wait');
    expect(p.decide(tally(['a'], trusted, [], 2)).kind).toBe('more');
    expect(p.decide(tally(['a', 'a'], trusted, [], 2)).kind).toBe('accept');
  });

  it('resolves a disagreement with more replicas, and the minority loses', () => {
    const votes = votesOf([
      ['a', trusted],
      ['b', fresh],
    ]);
    expect(p.decide({ ...tally([]), votes }).kind).toBe('more');
    expect(p.decide({ ...tally([]), votes: [...votes, ...votesOf([['a', trusted]])] })).toMatchObject({ kind: 'accept', key: 'a' });
  });

  it('parks a task at its cap when no answer is credible enough yet (the caller decides it again as records grow)', () => {
    const votes = votesOf(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'].map((key) => [key, fresh]));
    expect(p.decide({ ...tally([]), votes })).toMatchObject({ kind: 'wait', park: true });
    expect(p.decide({ ...tally([], fresh, [fresh]), votes: votes.slice(0, 8) })).toEqual({ kind: 'wait', reason: expect.any(String) });
  });
});

describe('newcomers only', () => {
  const fresh = credibility(0, false);
  const asNewcomers = (t: TaskTally): TaskTally => ({
    ...t,
    votes: t.votes.map((v) => ({ ...v, newcomer: true })),
    outstanding: t.outstanding.map((o) => ({ ...o, newcomer: true })),
  });

  it("asks a node with a record to confirm a newcomers' quorum when one is connected", () => {
    const p = replicatePolicy(3);
    const t = asNewcomers(tally(['a', 'a', 'a'], fresh, [], 3));
    expect(p.decide({ ...t, establishedAvailable: true })).toMatchObject({ kind: 'more', count: 1, established: true });
    expect(p.decide({ ...t, establishedAvailable: true, outstanding: [{ credibility: 0.99, newcomer: false }] }).kind).toBe('wait');
    expect(p.decide({ ...t, votes: [...t.votes.slice(1), { key: 'a', credibility: 0.99, newcomer: false }], establishedAvailable: true }).kind).toBe('accept');
  });

  it('needs a vote to spare from newcomers while no node with a record is online (k + 1 for replicate(k))', () => {
    const p = replicatePolicy(3);
    expect(p.decide(asNewcomers(tally(['a', 'a', 'a'], fresh, [], 3)))).toMatchObject({ kind: 'more', count: 1 });
    expect(p.decide(asNewcomers(tally(['a', 'a', 'a', 'b'], fresh, [], 3)))).toMatchObject({ kind: 'more', count: 1 });
    expect(p.decide(asNewcomers(tally(['a', 'a', 'a', 'a'], fresh, [], 3)))).toMatchObject({ kind: 'accept', key: 'a' });
    const t = targetPolicy(1e-4, { maxReplicas: 9, audit: NO_AUDIT });
    expect(t.decide(asNewcomers(tally(Array(7).fill('a'), fresh)))).toMatchObject({ kind: 'more' });
    expect(t.decide(asNewcomers(tally(Array(8).fill('a'), fresh)))).toMatchObject({ kind: 'accept' });
  });

  it('keeps to the base rule at the replica cap', () => {
    const p = replicatePolicy(2);
    expect(p.decide(asNewcomers(tally(['a', 'b', 'c', 'a', 'a'], fresh, [], 2)))).toMatchObject({ kind: 'accept', key: 'a' });
  });
});

describe('policyFor', () => {
  it("maps a job's verification to its policy and bound", () => {
    expect(policyFor({ kind: 'none' })).toBe(nonePolicy);
    expect(policyFor({ kind: 'replicate', k: 2 }).name).toBe('replicate(2)');
    expect(policyFor({ kind: 'target', errorRate: 0.001 }).name).toBe('target(0.001)');
    expect(maxReplicasOf({ kind: 'none' })).toBe(1);
    expect(maxReplicasOf({ kind: 'replicate', k: 3 })).toBe(7);
    expect(maxReplicasOf({ kind: 'target', errorRate: 1e-4 })).toBe(policyFor({ kind: 'target', errorRate: 1e-4 }).maxReplicas);
  });
});

describe('replica filters', () => {
  const net1 = { distinctRemotes: 1, established: 1 };
  const net3 = { distinctRemotes: 3, established: 1 };
  const task = { nodes: new Set(['0xa']), remotes: new Set(['10.0.0.1']), needEstablished: false };

  it('never gives one account two replicas of a task', () => {
    expect(distinctAccount.allows(task, { address: '0xa', remote: '10.0.0.9', newcomer: false }, net3).ok).toBe(false);
    expect(distinctAccount.allows(task, { address: '0xb', remote: '10.0.0.9', newcomer: false }, net3).ok).toBe(true);
  });

  it('keeps replicas on distinct remote addresses when the network has several, and gives way when it has one', () => {
    expect(distinctRemote.allows(task, { address: '0xb', remote: '10.0.0.1', newcomer: false }, net3).ok).toBe(false);
    expect(distinctRemote.allows(task, { address: '0xb', remote: '10.0.0.1', newcomer: false }, net1).ok).toBe(true);
    expect(
      distinctRemote.allows(
        { ...task, nodes: new Set(['0xa', '0xc']), remotes: new Set(['10.0.0.1', '10.0.0.2']) },
        { address: '0xb', remote: '10.0.0.1', newcomer: false },
        { distinctRemotes: 2, established: 1 },
      ).ok,
    ).toBe(true);
    const r = replicaAllowed(DEFAULT_REPLICA_FILTERS, task, { address: '0xb', remote: '10.0.0.1', newcomer: false }, net3);
    expect(r).toEqual({ ok: false, reason: expect.stringMatching(/^distinct-remote: /) });
  });
});
