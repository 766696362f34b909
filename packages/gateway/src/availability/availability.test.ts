/**
 * The availability service against fake sessions and a fake chain (the real ones are in
 * test/e2e/availability.test.ts), on a real store (PGlite in memory): who earns in an epoch, how
 * late, wrong and busy answers count, and that a restart or a second gateway loses no pass.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reference } from '@lode/workloads';
import type { Capabilities, Lease, TaskOutcome } from '@lode/protocol';
import { openStore, type SqlStore } from '../store/index.js';
import { AvailabilityService, BUSY_GRACE_MS, DEVICE_REFRESH_MS, FINISH_GRACE_MS, type AvailabilityOptions, type ChallengeSession } from './availability.js';
import { challengeOffsets } from './plan.js';

let store: SqlStore;
beforeAll(async () => {
  store = await openStore();
});
afterAll(() => store?.close());

/** Reward batches in the store from `fromId` on: epoch and payouts, read back from their trees. */
async function rewardBatches(fromId: number) {
  const batches = (await store.ledger.listBatches()).filter((b) => b.epoch !== null && b.id >= fromId);
  return batches.map((b) => ({
    epoch: b.epoch,
    payouts: (b.tree as { values: Array<{ value: [string, string] }> }).values.map(({ value: [provider, amount] }) => ({ provider, amount: BigInt(amount) })),
  }));
}

const EPOCH_S = 100;
const caps = (slots: number): Capabilities => ({
  cores: slots,
  memoryMiB: 1024,
  os: 'test',
  arch: 'x64',
  kind: 'server',
  slots,
  pricePerTask: '0',
  benchmark: 2_000,
  agent: 'test',
});

type Behaviour = 'honest' | 'wrong' | 'silent' | 'late';

class FakeSession implements ChallengeSession {
  ready = true;
  leases = new Map<string, unknown>();
  held = 0;
  errors: string[] = [];
  sent: Lease[] = [];
  constructor(
    readonly address: string,
    readonly remote: string,
    readonly capabilities: Capabilities,
    private readonly behaviour: Behaviour,
    private readonly svc: () => AvailabilityService,
    private readonly clock: { t: number },
  ) {}
  sendLeases(leases: Lease[]): void {
    this.sent.push(...leases);
    if (this.behaviour === 'silent') return;
    if (this.behaviour === 'late') this.clock.t += 60_000;
    const outcomes: TaskOutcome[] = leases.map((l) => {
      const [lo, hi] = l.input.args.map(Number) as [number, number];
      const count = reference.primesCount(lo, hi) + (this.behaviour === 'wrong' ? 1 : 0);
      return {
        leaseId: l.leaseId,
        status: 'ok',
        exitCode: 0,
        stdout: Buffer.from(`${JSON.stringify({ lo, hi, count })}\n`).toString('base64'),
        stderr: '',
        files: [],
        deleted: [],
        resultHash: '0'.repeat(64),
        durationMs: 1,
      };
    });
    queueMicrotask(() => this.svc().onResults(this, outcomes));
  }
  sendCancel(): void {}
  sendError(code: string): void {
    this.errors.push(code);
  }
  ack(): void {}
  holdUntil(until: number): void {
    this.held = until;
  }
}

type Device = { node: string; remote: string; slots: number; behaviour: Behaviour; online?: boolean; registeredAt?: number };

/** A fresh epoch numbering per setup (the store is shared by the tests). */
let nextBase = 10;

async function setup(devices: Device[], pool = 1_000n, o: { clock?: { t: number }; registered?: Device[]; secret?: number } = {}) {
  const base = nextBase;
  nextBase += 100;
  // Epochs earlier tests left unscored are closed: this test's service would score them at start.
  // (A second gateway in the same test, sharing its clock, leaves them to be scored.)
  if (!o.clock) {
    for (const e of await store.availability.unsettledEpochs(Number.MAX_SAFE_INTEGER, 1_000)) await store.availability.settleEpoch(e.epoch, null, [], 0);
  }
  const clock = o.clock ?? { t: base * EPOCH_S * 1000 }; // the start of epoch `base`
  const registered = o.registered ?? devices;
  let svc!: AvailabilityService;
  const sessions = devices.filter((d) => d.online !== false).map((d) => new FakeSession(d.node, d.remote, caps(d.slots), d.behaviour, () => svc, clock));
  const options: AvailabilityOptions = {
    chain: {
      params: async () => ({ epochLength: EPOCH_S, pool, rate: 3 }),
      devices: async () => registered.filter((d) => d.registeredAt === undefined || clock.t >= d.registeredAt).map((d) => d.node),
      eligible: async () => true,
      available: async () => pool * 10n,
    },
    sessions: () => sessions,
    module: 'ab'.repeat(32),
    countPrimes: reference.primesCount,
    store: store.availability,
    resume: () => {},
    now: () => clock.t,
    log: pino({ level: 'silent' }),
    secret: new Uint8Array(32).fill(o.secret ?? 1),
  };
  svc = new AvailabilityService(options);
  /** Runs 1 s steps until `until` (answers arrive on microtasks between ticks). */
  const runUntil = async (until: number) => {
    while (clock.t < until) {
      await svc.tick();
      await new Promise((r) => setImmediate(r));
      clock.t += 1000;
    }
  };
  /** Runs the epoch, then past its end until it is scored. */
  const runEpoch = async () => {
    const end = Math.floor(clock.t / (EPOCH_S * 1000) + 1) * EPOCH_S * 1000;
    await runUntil(end + FINISH_GRACE_MS);
    await svc.tick();
  };
  const firstBatch = Math.max(0, ...(await store.ledger.listBatches()).map((b) => b.id)) + 1;
  return { svc, sessions, batches: () => rewardBatches(firstBatch), clock, base, runEpoch, runUntil, options };
}

describe('AvailabilityService', () => {
  it('rewards the device that answers, not the one offline, wrong or silent', async () => {
    const { sessions, batches, base, runEpoch } = await setup([
      { node: '0xaa', remote: '10.0.0.1', slots: 2, behaviour: 'honest' },
      { node: '0xbb', remote: '10.0.0.2', slots: 2, behaviour: 'honest', online: false },
      { node: '0xcc', remote: '10.0.0.3', slots: 2, behaviour: 'wrong' },
      { node: '0xdd', remote: '10.0.0.4', slots: 2, behaviour: 'silent' },
    ]);
    await runEpoch();
    expect(await batches()).toEqual([{ epoch: base, payouts: [expect.objectContaining({ provider: '0xaa', amount: 1_000n })] }]);
    const byNode = Object.fromEntries(sessions.map((s) => [s.address, s]));
    expect(byNode['0xaa']!.sent).toHaveLength(3 * 2); // 3 challenges × 2 slots
    expect(byNode['0xcc']!.errors).toContain('CHALLENGE_WRONG');
    expect(byNode['0xdd']!.held).toBe(0); // released after the deadline
  });

  it('challenges devices behind one address at the same moments', async () => {
    const { sessions, runEpoch } = await setup([
      { node: '0xa1', remote: '10.9.9.9', slots: 1, behaviour: 'silent' },
      { node: '0xa2', remote: '10.9.9.9', slots: 1, behaviour: 'silent' },
    ]);
    await runEpoch();
    expect(sessions[0]!.sent.map((l) => l.expiresAt)).toEqual(sessions[1]!.sent.map((l) => l.expiresAt));
    expect(sessions[0]!.sent).toHaveLength(3);
  });

  it("refuses an answer sent on another node's session, and one to a challenge never sent", async () => {
    const { sessions, svc, batches, runEpoch } = await setup([
      { node: '0xa1', remote: '10.0.0.1', slots: 1, behaviour: 'silent' },
      { node: '0xb2', remote: '10.0.0.2', slots: 1, behaviour: 'silent' },
    ]);
    const [victim, thief] = sessions as [FakeSession, FakeSession];
    // The thief relays the victim's challenges, answered right, on its own session.
    const send = victim.sendLeases.bind(victim);
    victim.sendLeases = (leases) => {
      send(leases);
      const answers = leases.map((l) => {
        const [lo, hi] = l.input.args.map(Number) as [number, number];
        const stdout = Buffer.from(`${JSON.stringify({ lo, hi, count: reference.primesCount(lo, hi) })}\n`).toString('base64');
        return {
          leaseId: l.leaseId,
          status: 'ok' as const,
          exitCode: 0,
          stdout,
          stderr: '',
          files: [],
          deleted: [],
          resultHash: '0'.repeat(64),
          durationMs: 1,
        };
      });
      queueMicrotask(() => svc.onResults(thief, answers));
    };
    svc.onResults(thief, [
      { leaseId: 'avail-1-0-0-forged', status: 'ok', exitCode: 0, stdout: '', stderr: '', files: [], deleted: [], resultHash: '0'.repeat(64), durationMs: 1 },
    ]);
    await runEpoch();
    expect(thief.errors.filter((c) => c === 'CHALLENGE_LATE').length).toBeGreaterThanOrEqual(4); // 3 relayed + 1 forged
    expect(await batches()).toEqual([]); // nobody answered their own challenges
  });

  it('lets a device registered mid-epoch answer the moments left, the earlier ones missed', async () => {
    const start = nextBase * EPOCH_S * 1000; // the epoch setup starts in
    const joinedAt = start + 40_000;
    const { svc, base, runEpoch } = await setup([
      { node: '0xa1', remote: '10.0.0.1', slots: 1, behaviour: 'honest' },
      { node: '0xb2', remote: '10.0.0.2', slots: 1, behaviour: 'honest', registeredAt: joinedAt },
    ]);
    await runEpoch();
    const late = svc.settledViews()[0]!.devices.find((d) => d.node === '0xb2')!;
    // Seen at the first device refresh (every DEVICE_REFRESH_MS from the epoch's start) after it registered.
    const seenAt = start + Math.ceil((joinedAt - start) / DEVICE_REFRESH_MS) * DEVICE_REFRESH_MS;
    const left = challengeOffsets(new Uint8Array(32).fill(1), BigInt(base), '10.0.0.2', 3, EPOCH_S * 1000).filter((t) => start + t >= seenAt - 2_000).length;
    expect(late.passed).toBe(left);
    expect(late.passed + late.missed).toBe(3);
  });

  it('scores an ended epoch once the store answers again: no epoch is lost to a failure', async () => {
    let failures = 2;
    const { svc, batches, base, clock, runUntil, options } = await setup([{ node: '0xaa', remote: '10.0.0.1', slots: 1, behaviour: 'honest' }]);
    // This service's view of the store fails to score twice (its own tick throws; it is tried again).
    options.store = Object.create(store.availability, {
      settleEpoch: {
        value: async (...a: Parameters<typeof store.availability.settleEpoch>) => {
          if (failures-- > 0) throw new Error('the store is away');
          return store.availability.settleEpoch(...a);
        },
      },
    });
    const end = (base + 1) * EPOCH_S * 1000;
    await runUntil(end + FINISH_GRACE_MS).catch(() => {});
    for (let i = 0; i < 3; i++) {
      await svc.tick().catch(() => {});
      clock.t += 1000;
    }
    expect(failures).toBe(-1);
    expect((await batches()).map((b) => b.epoch)).toEqual([base]);
    expect(svc.currentView()?.epoch).toBe(base + 1);
  });

  it('keeps what a device passed before a gateway restart: the same moments, none asked twice', async () => {
    const device: Device = { node: '0xab', remote: '10.0.0.7', slots: 1, behaviour: 'honest' };
    const first = await setup([device]);
    const moments = challengeOffsets(new Uint8Array(32).fill(1), BigInt(first.base), device.remote, 3, EPOCH_S * 1000);
    const start = first.base * EPOCH_S * 1000;
    await first.runUntil(start + moments[1]! + 1000); // two passed
    await first.svc.stop();
    expect(first.sessions[0]!.sent).toHaveLength(2);

    // The same gateway (same key: same secret) starts again, a second later.
    first.clock.t += 1000;
    const second = await setup([device], 1_000n, { clock: first.clock });
    await second.runEpoch();
    expect(second.sessions[0]!.sent).toHaveLength(1); // only the third moment
    expect(second.svc.settledViews()[0]).toMatchObject({ epoch: first.base, devices: [{ node: '0xab', passed: 3, missed: 0 }] });
    expect(await first.batches()).toEqual([{ epoch: first.base, payouts: [{ provider: '0xab', amount: 1_000n }] }]);
  });

  it('two gateways on one store: devices connected to either are paid from one reward batch, scored once', async () => {
    const a: Device = { node: '0xa0', remote: '10.0.1.1', slots: 1, behaviour: 'honest' };
    const b: Device = { node: '0xb0', remote: '10.0.1.2', slots: 1, behaviour: 'honest' };
    const g1 = await setup([a], 1_000n, { registered: [a, b] });
    const g2 = await setup([b], 1_000n, { registered: [a, b], clock: g1.clock, secret: 2 });
    const end = (g1.base + 1) * EPOCH_S * 1000 + FINISH_GRACE_MS;
    while (g1.clock.t <= end) {
      await g1.svc.tick();
      await g2.svc.tick();
      await new Promise((r) => setImmediate(r));
      g1.clock.t += 1000;
    }
    expect((await g1.batches()).filter((x) => x.epoch === g1.base)).toEqual([
      {
        epoch: g1.base,
        payouts: [
          { provider: '0xa0', amount: 500n },
          { provider: '0xb0', amount: 500n },
        ],
      },
    ]);
    expect(g1.svc.settledViews().length + g2.svc.settledViews().length).toBe(1);
    expect(await store.availability.recordOf('0xa0')).toEqual({ epochs: 1, passed: 3, challenges: 3 });
  });

  it('scores at start-up an epoch that ended while no gateway ran', async () => {
    const device: Device = { node: '0xcd', remote: '10.0.0.8', slots: 1, behaviour: 'honest' };
    const first = await setup([device]);
    const start = first.base * EPOCH_S * 1000;
    await first.runUntil(start + EPOCH_S * 500); // half the epoch
    await first.svc.stop();
    const passed = first.sessions[0]!.sent.length;
    expect(passed).toBeGreaterThan(0);

    first.clock.t = start + 3 * EPOCH_S * 1000; // two epochs later
    const later = await setup([], 1_000n, { clock: first.clock, registered: [device] });
    await later.svc.tick();
    expect(later.svc.settledViews()).toEqual([expect.objectContaining({ epoch: first.base, devices: [expect.objectContaining({ node: '0xcd', passed })] })]);
    expect(await first.batches()).toEqual([{ epoch: first.base, payouts: [{ provider: '0xcd', amount: 1_000n }] }]);
  });

  it('counts a late answer as missed and tells the node', async () => {
    const { sessions, batches, runEpoch } = await setup([{ node: '0xee', remote: '10.0.0.5', slots: 1, behaviour: 'late' }]);
    await runEpoch();
    expect(sessions[0]!.errors).toContain('CHALLENGE_LATE');
    expect(await batches()).toEqual([]);
  });

  it('counts a device busy with paid leases through the grace as available', async () => {
    const { sessions, svc, batches, runEpoch } = await setup([{ node: '0xff', remote: '10.0.0.6', slots: 1, behaviour: 'silent' }]);
    sessions[0]!.leases.set('job-lease', {});
    await runEpoch();
    expect(sessions[0]!.sent).toHaveLength(0);
    expect((await batches())[0]!.payouts).toEqual([expect.objectContaining({ provider: '0xff', amount: 1_000n })]);
    expect(await store.availability.recordOf('0xff')).toEqual({ epochs: 1, passed: 3, challenges: 3 });
    expect(svc.settledViews()[0]!.devices).toEqual([expect.objectContaining({ node: '0xff', passed: 3 })]);
    expect(BUSY_GRACE_MS).toBeLessThan(EPOCH_S * 1000 * 0.15);
  });
});
