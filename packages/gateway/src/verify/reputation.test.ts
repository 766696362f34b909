import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { DEFAULT_TRUST_PARAMS, checksToTrust, credibility } from './credibility.js';
import { ReputationBook, emptyReputation, type Reputation, type ReputationStore } from './reputation.js';
import { KnownAnswers } from './canaries.js';
import { RunTimeAverage, expectedLeaseMs, stragglesAt } from './stragglers.js';

function memoryStore(initial: Reputation[] = []): ReputationStore & { rows: Map<string, Reputation>; saves: number } {
  const rows = new Map(initial.map((r) => [r.address, { ...r }]));
  const s = {
    rows,
    saves: 0,
    async loadReputations(addresses?: string[]) {
      return [...rows.values()].filter((r) => !addresses || addresses.includes(r.address)).map((r) => ({ ...r }));
    },
    async saveReputations(list: Reputation[]) {
      s.saves++;
      for (const r of list) rows.set(r.address, { ...r });
    },
  };
  return s;
}

function book(store = memoryStore(), clock = { t: 1_000 }) {
  return new ReputationBook({ store, log: pino({ level: 'silent' }), now: () => clock.t, trust: DEFAULT_TRUST_PARAMS, persistMs: 60_000 });
}

describe('ReputationBook', () => {
  it('grows credibility with consecutive valid results and resets it on a wrong one', () => {
    const b = book();
    expect(b.isNewcomer('0xa')).toBe(true);
    expect(b.credibility('0xa')).toBeCloseTo(0.8, 12);
    for (let i = 0; i < 10; i++) b.recordValid('0xa');
    expect(b.isNewcomer('0xa')).toBe(false);
    expect(b.credibility('0xa')).toBeCloseTo(credibility(10, false), 12);
    expect(b.recordWrong('0xa')).toBe(1);
    expect(b.get('0xa')).toMatchObject({ validated: 10, invalid: 1, consecutiveValid: 0 });
    expect(b.isNewcomer('0xa')).toBe(true); // back on probation
    expect(b.credibility('0xa')).toBeLessThan(0.8); // an offender starts below a newcomer
  });

  it('rereads a node’s record when told to (another gateway of the cluster wrote it), keeping its own unwritten changes', async () => {
    const store = memoryStore();
    const here = book(store);
    await here.start();
    const there = book(store);
    await there.start();
    for (let i = 0; i < 3; i++) there.recordWrong('0xa'); // proven wrong three times on the other gateway (written at once)
    await there.flush();
    expect(here.isRefused('0xa')).toBe(false); // this gateway's copy is older…
    await here.reload('0xa');
    expect(here.isRefused('0xa')).toBe(true); // …until the node connects here
    here.recordValid('0xb'); // not written yet
    store.rows.set('0xb', { ...emptyReputation('0xb', 0), validated: 99 }); // another gateway's older view
    await here.reload('0xb');
    expect(here.get('0xb').validated).toBe(1);
    await here.stop();
    await there.stop();
  });

  it('counts the established nodes online as a brute-force count does, whatever happens (kept incrementally)', async () => {
    const op = fc.record({
      kind: fc.constantFrom('connected', 'disconnected', 'valid', 'wrong', 'prior'),
      node: fc.constantFrom('0xa', '0xb', '0xc', '0xd'),
      checks: fc.nat(20),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 60 }), async (ops) => {
        const b = book();
        const sessions = new Map<string, number>();
        for (const o of ops) {
          if (o.kind === 'connected') {
            b.connected(o.node);
            sessions.set(o.node, (sessions.get(o.node) ?? 0) + 1);
          } else if (o.kind === 'disconnected') {
            b.disconnected(o.node);
            if ((sessions.get(o.node) ?? 0) > 0) sessions.set(o.node, sessions.get(o.node)! - 1);
          } else if (o.kind === 'valid') b.recordValid(o.node);
          else if (o.kind === 'wrong') b.recordWrong(o.node);
          else b.importPrior(o.node, o.checks, '0xissuer');
          const brute = [...sessions].filter(([a, n]) => n > 0 && !b.isNewcomer(a) && !b.isRefused(a)).length;
          expect(b.establishedOnline()).toBe(brute);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('refuses a node after maxStrikes results proven wrong', () => {
    const b = book();
    b.recordWrong('0xa');
    b.recordWrong('0xa');
    expect(b.isRefused('0xa')).toBe(false);
    b.recordWrong('0xa');
    expect(b.isRefused('0xa')).toBe(true);
  });

  it('counts time connected across sessions', () => {
    const clock = { t: 1_000 };
    const b = book(memoryStore(), clock);
    b.connected('0xa');
    clock.t += 5_000;
    b.connected('0xa'); // a second process of the same account
    clock.t += 1_000;
    b.disconnected('0xa');
    expect(b.uptimeOf('0xa')).toBe(6_000);
    clock.t += 4_000;
    b.disconnected('0xa');
    expect(b.uptimeOf('0xa')).toBe(10_000);
    clock.t += 50_000; // offline time is not uptime
    expect(b.uptimeOf('0xa')).toBe(10_000);
  });

  it('persists records and reads them back after a restart', async () => {
    const store = memoryStore();
    const clock = { t: 1_000 };
    const b = book(store, clock);
    await b.start();
    b.connected('0xa');
    for (let i = 0; i < 3; i++) b.recordValid('0xa');
    b.recordWrong('0xb');
    clock.t += 2_000;
    await b.stop();
    const again = book(store, clock);
    await again.start();
    expect(again.get('0xa')).toMatchObject({ validated: 3, consecutiveValid: 3, uptimeMs: 2_000 });
    expect(again.get('0xb')).toMatchObject({ invalid: 1 });
    await again.stop();
  });

  it('writes an offence at once, without waiting for the persist interval', async () => {
    const store = memoryStore();
    const b = book(store);
    await b.start();
    b.recordWrong('0xa');
    await b.flush();
    expect(store.rows.get('0xa')?.invalid).toBe(1);
    await b.stop();
  });

  it('counts a credential from another gateway as a capped prior, dropped at the first offence', () => {
    const b = book();
    b.importPrior('0xa', 1_000, '0xissuer');
    expect(b.get('0xa').priorValid).toBe(16);
    expect(b.isNewcomer('0xa')).toBe(false);
    expect(b.credibility('0xa')).toBeCloseTo(credibility(16, false), 12);
    expect(16).toBeLessThan(checksToTrust(1e-4, false)); // a prior alone never reaches 1e-4
    b.recordWrong('0xa');
    expect(b.get('0xa').priorValid).toBe(0);
    b.importPrior('0xa', 10, '0xissuer'); // an offender here is not rehabilitated by another gateway's word
    expect(b.get('0xa').priorValid).toBe(0);
  });
});

describe('known answers', () => {
  it("keeps a bounded sample of a job's verified tasks", () => {
    let r = 0;
    const pool = new KnownAnswers(8, () => ((r = (r * 9301 + 49297) % 233280), r / 233280));
    for (let i = 0; i < 1000; i++) pool.add({ index: i, key: `k${i}`, nodes: ['0xa', '0xb'], executions: 2, decidedAt: i });
    expect(pool.size).toBe(8);
    const picked = new Set<number>();
    for (let i = 0; i < 50; i++) picked.add(pool.pick('0xc', 9)!.index);
    expect(picked.size).toBeGreaterThan(1);
    expect([...picked].some((i) => i >= 8)).toBe(true); // later tasks replace early ones
  });
});

describe('stragglers', () => {
  it('expects a lease to take the average task time per lease queued ahead of it, per slot', () => {
    expect(expectedLeaseMs(100, 0, 2)).toBe(100);
    expect(expectedLeaseMs(100, 3, 2)).toBe(200);
    expect(expectedLeaseMs(100, 8, 2)).toBe(500);
  });

  it('calls a lease a straggler after factor × expected, and never sooner than minLateMs late', () => {
    expect(stragglesAt(0, 1_000, { factor: 4, minLateMs: 2_000 })).toBe(4_000);
    expect(stragglesAt(0, 100, { factor: 4, minLateMs: 2_000 })).toBe(2_100);
  });

  it('averages run times', () => {
    const a = new RunTimeAverage(0.5);
    expect(a.value).toBeUndefined();
    a.observe(100);
    a.observe(200);
    a.observe(Number.NaN);
    expect(a.value).toBe(150);
  });
});
