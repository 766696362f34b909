/**
 * Availability epochs: the gateway challenges registered devices at unpredictable moments with
 * known-answer tasks sized to what they declare, scores them, and at each epoch's end records
 * the epoch's rewards as a reward batch that settlement posts (`JobEscrow.postRewardBatch`,
 * funded by emission) and providers claim like job payouts. The decisions are plan.ts's.
 *
 * Guarantees:
 * - A challenge goes out as ordinary leases (the node cannot tell it from paid work) while the
 *   session is held from new job leases; its answers are checked against a sieve's count, and
 *   count only if every task is right and in before the deadline. Late or wrong answers are
 *   acknowledged and counted as missed; the node is told why (CHALLENGE_LATE / CHALLENGE_WRONG).
 * - A device not connected at its moment misses that challenge; a device busy with leases of
 *   paid jobs at its moment is retried for BUSY_GRACE_MS and then counted as answered (it is
 *   available: its results are verified and paid by the job path).
 * - Bounded: at most MAX_DEVICES registered devices per epoch, one pending challenge per device.
 * - One reward batch per epoch, ever (the store's unique epoch and the contract's both hold it).
 *   Challenge outcomes live in memory: a gateway restarted mid-epoch scores that epoch from its
 *   restart on (earlier moments count as missed).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { taskSeed, type Capabilities, type Lease, type TaskOutcome } from '@lode/protocol';
import type { SettlementBatch } from '../store/types.js';
import { planRewards } from '../settlement/plan.js';
import {
  capacityOf,
  challengeFor,
  challengeOffsets,
  epochRewards,
  declaredThroughput,
  provenThroughput,
  type Challenge,
  type DeviceEpoch,
  type EpochReward,
} from './plan.js';

/** Registered devices challenged per epoch, at most (the first ones in the registry's order). */
export const MAX_DEVICES = 10_000;
/** How often the registered devices are read again during an epoch (a device registered meanwhile joins it). */
export const DEVICE_REFRESH_MS = 30_000;
/** A moment this close before a device is first seen in an epoch is still challenged (a tick's lag). */
const FIRST_SIGHT_GRACE_MS = 2_000;
/** How long a device busy with paid work is retried before it counts as available. */
export const BUSY_GRACE_MS = 10_000;
/** Lease ids of challenges start with this (results are routed here, not to jobs). */
export const CHALLENGE_PREFIX = 'avail-';

/** The chain, as the service reads it. */
export interface AvailabilityChain {
  /** ProtocolConfig's epochLength (s), availabilityPool (wei) and challengeRate. */
  params(): Promise<{ epochLength: number; pool: bigint; rate: number }>;
  /** Registered devices' node addresses (lowercase), at most `limit`. */
  devices(limit: number): Promise<string[]>;
  /** Whether the node's own stake reaches the minimum. */
  eligible(node: string): Promise<boolean>;
  /** Emission a reward batch can use now: unallocated in JobEscrow plus releasable (wei). */
  available(): Promise<bigint>;
}

/** A connected node session, as the service uses it (NodeSession implements it). */
export interface ChallengeSession {
  readonly address: string;
  readonly remote?: string;
  readonly capabilities: Capabilities;
  readonly ready: boolean;
  /** Leases of paid jobs held now. */
  readonly leases: { readonly size: number };
  sendLeases(leases: Lease[]): void;
  sendCancel(leaseIds: string[]): void;
  sendError(code: string, message: string, leaseId?: string): void;
  ack(leaseId: string): void;
  /** No job leases until `untilMs` (0: lease again now). */
  holdUntil(untilMs: number): void;
}

export interface AvailabilityOptions {
  chain: AvailabilityChain;
  sessions: () => Iterable<ChallengeSession>;
  /** The primes module: its sha256 (hex) — already in the blob store — and the answer function. */
  module: string;
  countPrimes: (lo: number, hi: number) => number;
  createRewardBatch: (epoch: number, plan: ReturnType<typeof planRewards>, now: number) => Promise<SettlementBatch | null>;
  /** Called when a held session may take job leases again. */
  resume: (session: ChallengeSession) => void;
  now: () => number;
  log: Logger;
  /** @default 32 random bytes */
  secret?: Uint8Array;
  /** Tick period. @default 500 ms */
  tickMs?: number;
}

interface Pending {
  session: ChallengeSession;
  k: number;
  challenge: Challenge;
  leaseIds: string[];
  answered: Set<string>;
  sentAt: number;
  deadline: number;
}

interface DeviceState {
  node: string;
  group?: string;
  offsets?: number[];
  /** Index of the next challenge moment. */
  next: number;
  passed: number;
  /** Σ provenThroughput of the passed challenges (the declared throughput for a busy one). */
  proven: number;
  /** declaredThroughput of what the device declared when first seen this epoch. */
  declared: number;
  missed: number;
  busySince?: number;
  capacity: number;
  pending?: Pending;
}

interface EpochState {
  epoch: number;
  startMs: number;
  lengthMs: number;
  pool: bigint;
  rate: number;
  devices: Map<string, DeviceState>;
  /** When the device list was last read. */
  readAt: number;
}

/** One device's record of an epoch, for the API. */
export interface DeviceEpochView {
  node: string;
  challenges: number;
  passed: number;
  /** Proven throughput of the passed challenges over the declared one (1 = as declared). */
  speed: number;
  missed: number;
  capacity: number;
}

export interface EpochView {
  epoch: number;
  startsAt: number;
  endsAt: number;
  rate: number;
  pool: string;
  devices: DeviceEpochView[];
}

export interface SettledEpochView extends EpochView {
  rewards: Array<{ node: string; amount: string; score: number; speed: number }>;
  batch: number | null;
}

export class AvailabilityService {
  private readonly secret: Uint8Array;
  private timer: ReturnType<typeof setInterval> | undefined;
  private current: EpochState | undefined;
  private tickInFlight: Promise<void> = Promise.resolve();
  private readonly byLease = new Map<string, DeviceState>();
  /** The last settled epochs, newest last (bounded). */
  private readonly settled: SettledEpochView[] = [];
  /** Per node: epochs it was challenged in and its passed/challenged totals (bounded by MAX_DEVICES × 2). */
  private readonly record = new Map<string, { epochs: number; passed: number; challenges: number }>();

  constructor(private readonly o: AvailabilityOptions) {
    this.secret = o.secret ?? randomBytes(32);
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.tickInFlight = this.tickInFlight
        .then(() => this.tick())
        .catch((err: unknown) => this.o.log.error({ err }, 'availability tick failed; trying again'));
    }, this.o.tickMs ?? 500);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.tickInFlight;
  }

  /** The epoch in progress, for the API. */
  currentView(): EpochView | null {
    return this.current ? viewOf(this.current) : null;
  }

  /** The last settled epochs, newest first. */
  settledViews(): SettledEpochView[] {
    return [...this.settled].reverse();
  }

  /** A node's availability so far: epochs challenged, and passed / challenges. */
  availabilityOf(node: string): { epochs: number; score: number } | null {
    const r = this.record.get(node.toLowerCase());
    return r && r.challenges > 0 ? { epochs: r.epochs, score: r.passed / r.challenges } : null;
  }

  /**
   * Routes results: challenge answers are checked here (and acknowledged); the rest are
   * returned for the job path.
   */
  onResults(session: ChallengeSession, results: readonly TaskOutcome[]): TaskOutcome[] {
    const rest: TaskOutcome[] = [];
    for (const r of results) {
      if (!r.leaseId.startsWith(CHALLENGE_PREFIX)) {
        rest.push(r);
        continue;
      }
      session.ack(r.leaseId);
      this.answer(session, r);
    }
    return rest;
  }

  /** One pass: roll the epoch over, send due challenges, expire late ones. Exposed for tests. */
  async tick(): Promise<void> {
    const now = this.o.now();
    if (!this.current || now >= this.current.startMs + this.current.lengthMs) await this.rollOver(now);
    const e = this.current;
    if (!e) return;
    if (now - e.readAt >= DEVICE_REFRESH_MS && e.rate > 0) {
      // Devices registered since join this epoch; the moments they were not there for count as missed.
      e.readAt = now;
      for (const node of await this.o.chain.devices(MAX_DEVICES)) {
        if (!e.devices.has(node)) e.devices.set(node, newDevice(node));
      }
    }
    const sessions = new Map<string, ChallengeSession>();
    for (const s of this.o.sessions()) if (s.ready && e.devices.has(s.address)) sessions.set(s.address, s);
    for (const d of e.devices.values()) {
      if (d.pending) {
        if (now > d.pending.deadline) this.settle(d, 'missed', 'no answer before the deadline');
        continue;
      }
      const session = sessions.get(d.node);
      if (!d.offsets) {
        if (!session) continue; // offline: its moments are fixed when it is first seen
        d.group = session.remote || d.node;
        d.offsets = challengeOffsets(this.secret, BigInt(e.epoch), d.group, e.rate, e.lengthMs);
        d.capacity = capacityOf(session.capabilities);
        d.declared = declaredThroughput(session.capabilities);
        // Moments before it was first seen this epoch (it joined, or came online, late) are missed.
        while (d.next < d.offsets.length && e.startMs + d.offsets[d.next]! < now - FIRST_SIGHT_GRACE_MS) {
          d.missed++;
          d.next++;
        }
      }
      while (d.next < d.offsets.length && e.startMs + d.offsets[d.next]! <= now) {
        if (!session) {
          d.missed++;
          d.next++;
          continue;
        }
        if (session.leases.size > 0) {
          d.busySince ??= now;
          if (now - d.busySince < BUSY_GRACE_MS) break;
          d.busySince = undefined;
          d.passed++; // busy with paid, verified work the whole grace: available
          d.proven += d.declared;
          d.next++;
          continue;
        }
        d.busySince = undefined;
        this.send(e, d, session, now);
        break;
      }
    }
  }

  private send(e: EpochState, d: DeviceState, session: ChallengeSession, now: number): void {
    const k = d.next;
    const challenge = challengeFor(this.secret, BigInt(e.epoch), d.node, k, session.capabilities, this.o.countPrimes);
    const jobId = `availability-${e.epoch}`;
    const deadline = now + challenge.deadlineMs;
    const leases: Lease[] = challenge.tasks.map((t, unit) => ({
      leaseId: `${CHALLENGE_PREFIX}${e.epoch}-${k}-${unit}-${randomUUID().slice(0, 8)}`,
      jobId,
      taskIndex: k * 1000 + unit,
      module: this.o.module,
      input: { args: [String(t.lo), String(t.hi)], env: {}, files: [], mounts: [] },
      limits: { memoryMiB: 16, wallMs: challenge.deadlineMs, maxOutputBytes: 4096, fuel: 50_000_000_000 },
      seed: taskSeed(jobId, k * 1000 + unit),
      expiresAt: deadline,
    }));
    d.pending = { session, k, challenge, leaseIds: leases.map((l) => l.leaseId), answered: new Set(), sentAt: now, deadline };
    for (const l of leases) this.byLease.set(l.leaseId, d);
    session.holdUntil(deadline);
    session.sendLeases(leases);
  }

  private answer(session: ChallengeSession, r: TaskOutcome): void {
    const d = this.byLease.get(r.leaseId);
    const p = d?.pending;
    if (!d || !p || p.session !== session || !p.leaseIds.includes(r.leaseId)) {
      session.sendError('CHALLENGE_LATE', 'This availability challenge is over (its deadline passed); the answer does not count.', r.leaseId);
      return;
    }
    if (this.o.now() > p.deadline) {
      session.sendError('CHALLENGE_LATE', 'The answer came after the challenge deadline; it does not count.', r.leaseId);
      this.settle(d, 'missed', 'answered after the deadline');
      return;
    }
    const task = p.challenge.tasks[p.leaseIds.indexOf(r.leaseId)]!;
    if (!rightAnswer(r, task)) {
      session.sendError('CHALLENGE_WRONG', 'The answer to the availability challenge is wrong.', r.leaseId);
      this.settle(d, 'missed', 'a wrong answer');
      return;
    }
    p.answered.add(r.leaseId);
    if (p.answered.size === p.leaseIds.length) this.settle(d, 'passed');
  }

  private settle(d: DeviceState, outcome: 'passed' | 'missed', why?: string): void {
    const p = d.pending;
    if (!p) return;
    d.pending = undefined;
    d.next++;
    if (outcome === 'passed') {
      d.passed++;
      d.proven += provenThroughput(p.challenge, this.o.now() - p.sentAt);
    } else d.missed++;
    for (const id of p.leaseIds) this.byLease.delete(id);
    const open = p.leaseIds.filter((id) => !p.answered.has(id));
    if (outcome === 'missed' && open.length > 0) p.session.sendCancel(open);
    p.session.holdUntil(0);
    this.o.resume(p.session);
    if (why) this.o.log.info({ node: d.node, challenge: p.k, why }, 'availability challenge missed');
  }

  /** Settles the epoch that ended (if any) and starts the one `now` is in. */
  private async rollOver(now: number): Promise<void> {
    const ended = this.current;
    const params = await this.o.chain.params();
    const lengthMs = params.epochLength * 1000;
    const epoch = Math.floor(now / lengthMs);
    if (ended && ended.epoch === epoch) return;
    // Until the ended epoch is recorded it stays current: a failure here (the chain or the store
    // did not answer) is tried again next tick, and no epoch's rewards are lost to it.
    if (ended) await this.finish(ended);
    this.current = undefined;
    const nodes = params.rate > 0 ? await this.o.chain.devices(MAX_DEVICES) : [];
    const devices = new Map<string, DeviceState>(nodes.map((node) => [node, newDevice(node)]));
    this.current = { epoch, startMs: epoch * lengthMs, lengthMs, pool: params.pool, rate: params.rate, devices, readAt: now };
    this.o.log.info({ epoch, devices: devices.size, rate: params.rate }, 'availability epoch started');
  }

  private async finish(e: EpochState): Promise<void> {
    for (const d of e.devices.values()) {
      if (d.pending) this.settle(d, 'missed', 'the epoch ended');
      // Moments never reached (the device was offline all epoch, or came late) are missed.
      const issued = d.offsets?.length ?? e.rate;
      d.missed = Math.max(d.missed, issued - d.passed);
    }
    const devices: DeviceEpoch[] = [];
    for (const d of e.devices.values()) {
      const eligible = d.passed > 0 ? await this.o.chain.eligible(d.node) : false;
      devices.push({ node: d.node, passed: d.passed, proven: d.proven, declared: d.declared, eligible });
    }
    // The pool, but never more than has been emitted: the contract would refuse it.
    const available = await this.o.chain.available();
    const pool = available < e.pool ? available : e.pool;
    const rewards: EpochReward[] = epochRewards(devices, pool, e.rate);
    let batch: SettlementBatch | null = null;
    if (rewards.length > 0) batch = await this.o.createRewardBatch(e.epoch, planRewards(rewards), this.o.now());
    for (const d of e.devices.values()) {
      if (this.record.size >= MAX_DEVICES * 2 && !this.record.has(d.node)) continue;
      const r = this.record.get(d.node) ?? { epochs: 0, passed: 0, challenges: 0 };
      this.record.set(d.node, { epochs: r.epochs + 1, passed: r.passed + d.passed, challenges: r.challenges + e.rate });
    }
    this.settled.push({
      ...viewOf(e),
      rewards: rewards.map((r) => ({ node: r.node, amount: r.amount.toString(), score: r.score, speed: r.speed })),
      batch: batch?.id ?? null,
    });
    if (this.settled.length > 16) this.settled.shift();
    this.o.log.info({ epoch: e.epoch, rewarded: rewards.length, batch: batch?.id ?? null }, 'availability epoch settled');
  }
}

function newDevice(node: string): DeviceState {
  return { node, next: 0, passed: 0, proven: 0, declared: 0, missed: 0, capacity: 0 };
}

/** The module printed {"lo":L,"hi":H,"count":C} for this task's range and exited 0. */
function rightAnswer(r: TaskOutcome, task: { lo: number; hi: number; count: number }): boolean {
  if (r.status !== 'ok' || r.exitCode !== 0) return false;
  try {
    const out = JSON.parse(Buffer.from(r.stdout, 'base64').toString('utf8')) as { lo?: unknown; hi?: unknown; count?: unknown };
    return out.lo === task.lo && out.hi === task.hi && out.count === task.count;
  } catch {
    return false;
  }
}

function viewOf(e: EpochState): EpochView {
  return {
    epoch: e.epoch,
    startsAt: e.startMs,
    endsAt: e.startMs + e.lengthMs,
    rate: e.rate,
    pool: e.pool.toString(),
    devices: [...e.devices.values()].map((d) => ({
      node: d.node,
      challenges: d.next,
      passed: d.passed,
      speed: d.passed > 0 && d.declared > 0 ? d.proven / (d.passed * d.declared) : 0,
      missed: d.missed,
      capacity: d.capacity,
    })),
  };
}
