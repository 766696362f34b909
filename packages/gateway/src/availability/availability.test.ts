/**
 * The availability service against fake sessions and a fake chain (the real ones are in
 * test/e2e/availability.test.ts): who earns in an epoch, and how late, wrong and busy answers count.
 */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { reference } from '@lode/workloads';
import type { Capabilities, Lease, TaskOutcome } from '@lode/protocol';
import { AvailabilityService, BUSY_GRACE_MS, DEVICE_REFRESH_MS, type ChallengeSession } from './availability.js';
import { challengeOffsets } from './plan.js';

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

function setup(devices: Array<{ node: string; remote: string; slots: number; behaviour: Behaviour; online?: boolean; registeredAt?: number }>, pool = 1_000n) {
  const clock = { t: 10 * EPOCH_S * 1000 }; // the start of epoch 10
  const batches: Array<{ epoch: number; payouts: Array<{ provider: string; amount: bigint }> }> = [];
  let svc!: AvailabilityService;
  const sessions = devices.filter((d) => d.online !== false).map((d) => new FakeSession(d.node, d.remote, caps(d.slots), d.behaviour, () => svc, clock));
  svc = new AvailabilityService({
    chain: {
      params: async () => ({ epochLength: EPOCH_S, pool, rate: 3 }),
      devices: async () => devices.filter((d) => d.registeredAt === undefined || clock.t >= d.registeredAt).map((d) => d.node),
      eligible: async () => true,
      available: async () => pool * 10n,
    },
    sessions: () => sessions,
    module: 'ab'.repeat(32),
    countPrimes: reference.primesCount,
    createRewardBatch: async (epoch, plan) => {
      batches.push({ epoch, payouts: plan.payouts });
      return null;
    },
    resume: () => {},
    now: () => clock.t,
    log: pino({ level: 'silent' }),
    secret: new Uint8Array(32).fill(1),
  });
  /** Runs the epoch in 1 s steps (answers arrive on microtasks between ticks), then rolls over. */
  const runEpoch = async () => {
    const end = Math.floor(clock.t / (EPOCH_S * 1000) + 1) * EPOCH_S * 1000;
    while (clock.t < end) {
      await svc.tick();
      await new Promise((r) => setImmediate(r));
      clock.t += 1000;
    }
    await svc.tick();
  };
  return { svc, sessions, batches, clock, runEpoch };
}

describe('AvailabilityService', () => {
  it('rewards the device that answers, not the one offline, wrong or silent', async () => {
    const { sessions, batches, runEpoch } = setup([
      { node: '0xaa', remote: '10.0.0.1', slots: 2, behaviour: 'honest' },
      { node: '0xbb', remote: '10.0.0.2', slots: 2, behaviour: 'honest', online: false },
      { node: '0xcc', remote: '10.0.0.3', slots: 2, behaviour: 'wrong' },
      { node: '0xdd', remote: '10.0.0.4', slots: 2, behaviour: 'silent' },
    ]);
    await runEpoch();
    expect(batches).toEqual([{ epoch: 10, payouts: [expect.objectContaining({ provider: '0xaa', amount: 1_000n })] }]);
    const byNode = Object.fromEntries(sessions.map((s) => [s.address, s]));
    expect(byNode['0xaa']!.sent).toHaveLength(3 * 2); // 3 challenges × 2 slots
    expect(byNode['0xcc']!.errors).toContain('CHALLENGE_WRONG');
    expect(byNode['0xdd']!.held).toBe(0); // released after the deadline
  });

  it('challenges devices behind one address at the same moments', async () => {
    const { sessions, runEpoch } = setup([
      { node: '0xa1', remote: '10.9.9.9', slots: 1, behaviour: 'silent' },
      { node: '0xa2', remote: '10.9.9.9', slots: 1, behaviour: 'silent' },
    ]);
    await runEpoch();
    expect(sessions[0]!.sent.map((l) => l.expiresAt)).toEqual(sessions[1]!.sent.map((l) => l.expiresAt));
    expect(sessions[0]!.sent).toHaveLength(3);
  });

  it("refuses an answer sent on another node's session, and one to a challenge never sent", async () => {
    const { sessions, svc, batches, runEpoch } = setup([
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
    expect(batches).toEqual([]); // nobody answered their own challenges
  });

  it('lets a device registered mid-epoch answer the moments left, the earlier ones missed', async () => {
    const start = 10 * EPOCH_S * 1000;
    const joinedAt = start + 40_000;
    const { svc, runEpoch } = setup([
      { node: '0xa1', remote: '10.0.0.1', slots: 1, behaviour: 'honest' },
      { node: '0xb2', remote: '10.0.0.2', slots: 1, behaviour: 'honest', registeredAt: joinedAt },
    ]);
    await runEpoch();
    const late = svc.settledViews()[0]!.devices.find((d) => d.node === '0xb2')!;
    // Seen at the first device refresh (every DEVICE_REFRESH_MS from the epoch's start) after it registered.
    const seenAt = start + Math.ceil((joinedAt - start) / DEVICE_REFRESH_MS) * DEVICE_REFRESH_MS;
    const left = challengeOffsets(new Uint8Array(32).fill(1), 10n, '10.0.0.2', 3, EPOCH_S * 1000).filter((t) => start + t >= seenAt - 2_000).length;
    expect(late.passed).toBe(left);
    expect(late.passed + late.missed).toBe(3);
  });

  it('records an ended epoch once the store answers again: no epoch is lost to a failure', async () => {
    let failures = 2;
    const { svc, batches, runEpoch, clock } = setup([{ node: '0xaa', remote: '10.0.0.1', slots: 1, behaviour: 'honest' }]);
    const o = (svc as unknown as { o: { createRewardBatch: (...a: unknown[]) => Promise<null> } }).o;
    const create = o.createRewardBatch;
    o.createRewardBatch = async (...a) => {
      if (failures-- > 0) throw new Error('the store is away');
      return create(...a);
    };
    await runEpoch().catch(() => {}); // the roll-over fails
    await expect(svc.tick()).rejects.toThrow('the store is away');
    clock.t += 1000;
    await svc.tick();
    expect(batches.map((b) => b.epoch)).toEqual([10]);
    expect(svc.currentView()?.epoch).toBe(11);
  });

  it('counts a late answer as missed and tells the node', async () => {
    const { sessions, batches, runEpoch } = setup([{ node: '0xee', remote: '10.0.0.5', slots: 1, behaviour: 'late' }]);
    await runEpoch();
    expect(sessions[0]!.errors).toContain('CHALLENGE_LATE');
    expect(batches).toEqual([]);
  });

  it('counts a device busy with paid leases through the grace as available', async () => {
    const { sessions, svc, batches, runEpoch } = setup([{ node: '0xff', remote: '10.0.0.6', slots: 1, behaviour: 'silent' }]);
    sessions[0]!.leases.set('job-lease', {});
    await runEpoch();
    expect(sessions[0]!.sent).toHaveLength(0);
    expect(batches[0]!.payouts).toEqual([expect.objectContaining({ provider: '0xff', amount: 1_000n })]);
    expect(svc.availabilityOf('0xff')).toEqual({ epochs: 1, score: 1 });
    expect(BUSY_GRACE_MS).toBeLessThan(EPOCH_S * 1000 * 0.15);
  });
});
