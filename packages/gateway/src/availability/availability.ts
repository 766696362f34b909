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
 * - Passed challenges are kept in the store (availability_passes) within a tick, and an epoch is
 *   scored from the store FINISH_GRACE_MS after its end: a gateway restarted mid-epoch keeps what
 *   its devices passed before, and devices connected to other gateways of a cluster count too.
 * - An epoch is scored once, ever, by whichever gateway gets there first (`settleEpoch` in one
 *   transaction; the store's unique epoch and the contract's hold its reward batch to one). An
 *   epoch that ended while no gateway ran is scored when one starts.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { taskSeed, type Capabilities, type Lease, type TaskOutcome } from '@lode/protocol';
import type { AvailabilityEpoch, AvailabilityStore, ChallengePass } from '../store/availabilityTypes.js';
import { planRewards } from '../settlement/plan.js';
import {
  capacityOf,
  challengeFor,
  challengeOffsets,
  epochRewards,
  declaredThroughput,
  provenThroughput,
  tallyPasses,
  type Challenge,
  type DeviceEpoch,
  type EpochReward,
} from './plan.js';
import { liveView, settledView, type EpochView, type SettledEpochView } from './views.js';

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
/** How long after an epoch's end it is scored: every gateway's last passes are in the store by then. */
export const FINISH_GRACE_MS = 5_000;
/** Passes waiting for the store (it is away), at most; beyond, the oldest are dropped (and logged). */
const MAX_UNSAVED = MAX_DEVICES * 16;
/** Ended epochs scored per tick, at most. */
const SCORE_PER_TICK = 4;

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
  /** Where epochs, passes and device records are kept (shared by the gateways of a cluster). */
  store: AvailabilityStore;
  /** Called when a held session may take job leases again. */
  resume: (session: ChallengeSession) => void;
  now: () => number;
  log: Logger;
  /** Keys the challenge moments; keep it across restarts (the gateway derives it from its key). @default 32 random bytes */
  secret?: Uint8Array;
  /** Tick period. @default 500 ms */
  tickMs?: number;
}

interface Pending {
  epoch: number;
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
  /** Moments passed already (read back from the store): not challenged again. */
  done: Set<number>;
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

export class AvailabilityService {
  private readonly secret: Uint8Array;
  private timer: ReturnType<typeof setInterval> | undefined;
  private current: EpochState | undefined;
  private tickInFlight: Promise<void> = Promise.resolve();
  private readonly byLease = new Map<string, DeviceState>();
  /** The last epochs this gateway scored, newest last (bounded). */
  private readonly settled: SettledEpochView[] = [];
  /** Passes not yet in the store, oldest first (bounded by MAX_UNSAVED). */
  private unsaved: ChallengePass[] = [];
  /** When to look for ended epochs to score next (0: now, as at start-up). */
  private scoreDue = 0;

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
    await this.flush().catch((err: unknown) => this.o.log.warn({ err, passes: this.unsaved.length }, 'availability passes not saved at stop'));
  }

  /** The epoch in progress, for the API. */
  currentView(): EpochView | null {
    return this.current ? liveView({ ...this.current, devices: this.current.devices.values() }) : null;
  }

  /** The last epochs this gateway scored, newest first. */
  settledViews(): SettledEpochView[] {
    return [...this.settled].reverse();
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

  /** One pass: save passes, roll the epoch over, score ended ones, send due challenges, expire late ones. Exposed for tests. */
  async tick(): Promise<void> {
    const now = this.o.now();
    // A store away does not stop challenges: the passes wait here and are saved on a later tick.
    await this.flush().catch((err: unknown) => this.o.log.warn({ err, passes: this.unsaved.length }, 'availability passes not saved yet; trying again'));
    if (!this.current || now >= this.current.startMs + this.current.lengthMs) await this.rollOver(now);
    if (now >= this.scoreDue) {
      // A failure leaves the epoch for the next tick, and does not hold up this one's challenges.
      await this.scoreEnded(now).catch((err: unknown) => this.o.log.error({ err }, 'scoring an ended availability epoch failed; trying again'));
    }
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
          if (!d.done.has(d.next)) d.missed++;
          d.next++;
        }
      }
      while (d.next < d.offsets.length && e.startMs + d.offsets[d.next]! <= now) {
        if (d.done.has(d.next)) {
          d.next++; // passed before this gateway restarted
          continue;
        }
        if (!session) {
          d.missed++;
          d.next++;
          continue;
        }
        if (session.leases.size > 0) {
          d.busySince ??= now;
          if (now - d.busySince < BUSY_GRACE_MS) break;
          d.busySince = undefined;
          this.pass(e.epoch, d, d.next, d.declared, now); // busy with paid, verified work the whole grace: available
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
    d.pending = { epoch: e.epoch, session, k, challenge, leaseIds: leases.map((l) => l.leaseId), answered: new Set(), sentAt: now, deadline };
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
    if (outcome === 'passed') this.pass(p.epoch, d, p.k, provenThroughput(p.challenge, this.o.now() - p.sentAt), this.o.now());
    else d.missed++;
    for (const id of p.leaseIds) this.byLease.delete(id);
    const open = p.leaseIds.filter((id) => !p.answered.has(id));
    if (outcome === 'missed' && open.length > 0) p.session.sendCancel(open);
    p.session.holdUntil(0);
    this.o.resume(p.session);
    if (why) this.o.log.info({ node: d.node, challenge: p.k, why }, 'availability challenge missed');
  }

  /** Counts a passed moment and queues it for the store. */
  private pass(epoch: number, d: DeviceState, k: number, proven: number, now: number): void {
    d.passed++;
    d.proven += proven;
    d.done.add(k);
    this.unsaved.push({ epoch, node: d.node, k, proven, declared: d.declared, capacity: d.capacity, at: now });
    if (this.unsaved.length > MAX_UNSAVED) {
      const dropped = this.unsaved.splice(0, this.unsaved.length - MAX_UNSAVED);
      this.o.log.error({ dropped: dropped.length }, 'the store has been away too long: the oldest availability passes are dropped');
    }
  }

  /** Saves the passes waiting; throws (keeping them) when the store does not answer. */
  private async flush(): Promise<void> {
    if (this.unsaved.length === 0) return;
    const batch = this.unsaved;
    this.unsaved = [];
    try {
      await this.o.store.recordPasses(batch);
    } catch (err) {
      this.unsaved = [...batch, ...this.unsaved].slice(-MAX_UNSAVED);
      throw err;
    }
  }

  /** Starts the epoch `now` is in (the one that ended is scored FINISH_GRACE_MS after its end). */
  private async rollOver(now: number): Promise<void> {
    const ended = this.current;
    const params = await this.o.chain.params();
    const lengthMs = params.epochLength * 1000;
    const epoch = Math.floor(now / lengthMs);
    if (ended && ended.epoch === epoch) return;
    const terms = await this.o.store.openEpoch({ epoch, startsAt: epoch * lengthMs, lengthMs, rate: params.rate, pool: params.pool });
    const nodes = terms.rate > 0 ? await this.o.chain.devices(MAX_DEVICES) : [];
    const devices = new Map<string, DeviceState>(nodes.map((node) => [node, newDevice(node)]));
    // What was passed in this epoch before a restart counts, and is not asked again.
    const passes = await this.o.store.passesOf(epoch);
    for (const { node, passed, proven, declared, capacity } of tallyPasses(terms, passes)) {
      const d = devices.get(node);
      if (d) Object.assign(d, { passed, proven, declared, capacity });
    }
    for (const p of passes) devices.get(p.node)?.done.add(p.k);
    if (ended) {
      for (const d of ended.devices.values()) if (d.pending) this.settle(d, 'missed', 'the epoch ended');
      this.scoreDue = Math.min(this.scoreDue, ended.startMs + ended.lengthMs + FINISH_GRACE_MS);
    }
    this.current = { epoch, startMs: terms.startsAt, lengthMs: terms.lengthMs, pool: terms.pool, rate: terms.rate, devices, readAt: now };
    this.o.log.info(
      { epoch, devices: devices.size, rate: terms.rate, restored: [...devices.values()].reduce((n, d) => n + d.passed, 0) },
      'availability epoch started',
    );
  }

  /**
   * Scores the epochs that ended at least FINISH_GRACE_MS ago and are not scored yet (by this
   * gateway or another). A failure leaves them for the next tick: no epoch's rewards are lost to it.
   */
  private async scoreEnded(now: number): Promise<void> {
    await this.flush();
    const due = await this.o.store.unsettledEpochs(now - FINISH_GRACE_MS, SCORE_PER_TICK);
    for (const e of due) await this.score(e, now);
    this.scoreDue = due.length === SCORE_PER_TICK ? now : Number.POSITIVE_INFINITY;
  }

  /** Scores one ended epoch from the passes in the store (every gateway's), and records it. */
  private async score(e: AvailabilityEpoch, now: number): Promise<void> {
    const byNode = new Map(tallyPasses(e, await this.o.store.passesOf(e.epoch)).map((d) => [d.node, d]));
    const devices: DeviceEpoch[] = [];
    for (const d of byNode.values()) devices.push({ ...d, eligible: await this.o.chain.eligible(d.node) });
    // The pool, but never more than has been emitted: the contract would refuse it.
    const available = await this.o.chain.available();
    const pool = available < e.pool ? available : e.pool;
    const rewards: EpochReward[] = epochRewards(devices, pool, e.rate);
    // Every registered device took part (offline ones passed nothing); so did any that passed.
    const nodes = new Set([...(e.rate > 0 ? await this.o.chain.devices(MAX_DEVICES) : []), ...byNode.keys()]);
    const records = [...nodes].map((node) => ({ node, passed: byNode.get(node)?.passed ?? 0 }));
    const scored = await this.o.store.settleEpoch(e.epoch, rewards.length > 0 ? planRewards(rewards) : null, records, now);
    if (!scored) return; // another gateway scored it first
    this.settled.push(settledView(e, byNode, records, rewards, scored.batch?.id ?? null));
    if (this.settled.length > 16) this.settled.shift();
    this.o.log.info({ epoch: e.epoch, rewarded: rewards.length, batch: scored.batch?.id ?? null }, 'availability epoch settled');
  }
}

function newDevice(node: string): DeviceState {
  return { node, next: 0, done: new Set(), passed: 0, proven: 0, declared: 0, missed: 0, capacity: 0 };
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
