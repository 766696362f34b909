/**
 * Reputation per node account: checked results that were right and wrong, the streak of right
 * ones (BOINC's consecutive valid results: it grows with each right check and restarts at a
 * wrong one), offences, and time connected. Credibility (credibility.ts) is derived from it.
 *
 * Kept in memory (read on every lease) and persisted every few seconds and at shutdown, like
 * the node registry: a crash loses at most the last few seconds of counts, never an offence —
 * an offence is written at once (`flush`), since it decides whether a node is refused. A node's
 * record is read again when it connects (`reload`), so with several gateways on one database it
 * follows the node from gateway to gateway.
 */
import type { Logger } from 'pino';
import { credibility, type TrustParams } from './credibility.js';

export interface Reputation {
  /** The node's account, lowercase. */
  address: string;
  /** Checked results that were right (agreed with a quorum, or passed a known-answer task). */
  validated: number;
  /** Results proven wrong (a quorum's minority, or a failed known-answer task). */
  invalid: number;
  /** Right checks since the last wrong one. */
  consecutiveValid: number;
  /** Time connected, ms, over all sessions (closed ones; an open session adds to it as it goes). */
  uptimeMs: number;
  /** Right checks carried in from another gateway's credential, counted into the streak (capped). */
  priorValid: number;
  /** The gateway that signed that credential. */
  priorIssuer: string | null;
  lastWrongAt: number | null;
  firstSeenAt: number;
}

/** Where reputations live between restarts (implemented by the Store). */
export interface ReputationStore {
  /** Every stored reputation, or those of `addresses`. */
  loadReputations(addresses?: string[]): Promise<Reputation[]>;
  saveReputations(rows: Reputation[]): Promise<void>;
}

export interface ReputationOptions {
  store: ReputationStore;
  log: Logger;
  now(): number;
  trust: TrustParams;
  /** Offences after which a node is refused. @default 3 */
  maxStrikes?: number;
  /** Most right checks a credential from another gateway may add. @default 16 */
  priorCap?: number;
  /** Persist interval. @default 5000 */
  persistMs?: number;
}

export function emptyReputation(address: string, now: number): Reputation {
  return { address, validated: 0, invalid: 0, consecutiveValid: 0, uptimeMs: 0, priorValid: 0, priorIssuer: null, lastWrongAt: null, firstSeenAt: now };
}

export class ReputationBook {
  private readonly byAddress = new Map<string, Reputation>();
  /** Open sessions per address, and since when the uptime was last folded in. */
  private readonly online = new Map<string, { sessions: number; since: number }>();
  private readonly dirty = new Set<string>();
  /** Online accounts with a record, not refused (`restate` keeps it as records and sessions change). */
  private readonly established = new Set<string>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private saving: Promise<void> = Promise.resolve();
  readonly maxStrikes: number;
  readonly priorCap: number;

  constructor(private readonly o: ReputationOptions) {
    this.maxStrikes = o.maxStrikes ?? 3;
    this.priorCap = o.priorCap ?? 16;
  }

  async start(): Promise<void> {
    for (const r of await this.o.store.loadReputations()) this.byAddress.set(r.address, r);
    this.timer = setInterval(() => {
      // Every few seconds: the open sessions' time so far, then every changed record.
      for (const a of this.online.keys()) this.foldUptime(a);
      void this.flush();
    }, this.o.persistMs ?? 5000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    for (const a of this.online.keys()) this.foldUptime(a);
    await this.flush();
  }

  /** The record of an account (an empty one if never seen). Do not mutate. */
  get(address: string): Reputation {
    return this.byAddress.get(address) ?? emptyReputation(address, this.o.now());
  }

  all(): Reputation[] {
    return [...this.byAddress.values()];
  }

  /** Uptime including the open session's time so far. */
  uptimeOf(address: string): number {
    const r = this.byAddress.get(address);
    const on = this.online.get(address);
    return (r?.uptimeMs ?? 0) + (on ? this.o.now() - on.since : 0);
  }

  /** The node's credibility now (see credibility.ts). */
  credibility(address: string): number {
    const r = this.byAddress.get(address);
    if (!r) return credibility(0, false, this.o.trust);
    return credibility(r.consecutiveValid + Math.min(this.priorCap, r.priorValid), r.invalid > 0, this.o.trust);
  }

  /**
   * No right checked result yet — ever, or since its last wrong one (carried-in ones count): the
   * node is on probation. It holds few leases at once, its answers are replicated, and a quorum
   * of such nodes alone needs confirming (see `newcomerGuard`).
   */
  isNewcomer(address: string): boolean {
    const r = this.byAddress.get(address);
    return !r || r.consecutiveValid + r.priorValid === 0;
  }

  /** Connected accounts with a record (not on probation, not refused): kept as records change, O(1). */
  establishedOnline(): number {
    return this.established.size;
  }

  /** Proven wrong `maxStrikes` times: refused at hello. */
  isRefused(address: string): boolean {
    return (this.byAddress.get(address)?.invalid ?? 0) >= this.maxStrikes;
  }

  /**
   * Reads `address`'s record from the store again, unless this book has changes of it not yet
   * written: with several gateways on one database, what another gateway learned about the node
   * (offences included) follows it here when it connects.
   */
  async reload(address: string): Promise<void> {
    const [stored] = await this.o.store.loadReputations([address]);
    if (stored && !this.dirty.has(address)) this.byAddress.set(address, stored);
    this.restate(address);
  }

  connected(address: string): void {
    const now = this.o.now();
    this.touch(address);
    const on = this.online.get(address);
    if (on) on.sessions++;
    else this.online.set(address, { sessions: 1, since: now });
    this.restate(address);
  }

  disconnected(address: string): void {
    const on = this.online.get(address);
    if (!on) return;
    this.foldUptime(address);
    if (--on.sessions <= 0) this.online.delete(address);
    this.restate(address);
  }

  /** A checked result of this node was right. */
  recordValid(address: string): void {
    const r = this.touch(address);
    r.validated++;
    r.consecutiveValid++;
    this.dirty.add(address);
    this.restate(address);
  }

  /** A result of this node was proven wrong: the streak and any carried-in record restart. Returns the offences so far. */
  recordWrong(address: string): number {
    const r = this.touch(address);
    r.invalid++;
    r.consecutiveValid = 0;
    r.priorValid = 0;
    r.priorIssuer = null;
    r.lastWrongAt = this.o.now();
    this.dirty.add(address);
    this.restate(address);
    void this.flush();
    return r.invalid;
  }

  /** Counts `checks` right results signed by another gateway into the streak (a prior; capped). */
  importPrior(address: string, checks: number, issuer: string): void {
    const r = this.touch(address);
    if (r.invalid > 0) return; // an offender's record here outweighs another gateway's word
    r.priorValid = Math.max(r.priorValid, Math.min(this.priorCap, Math.max(0, Math.floor(checks))));
    r.priorIssuer = issuer;
    this.dirty.add(address);
    this.restate(address);
  }

  /**
   * Writes changed records now (an offence at once: it may refuse the node). Concurrent calls are
   * serialized. Uptime of open sessions is folded in by the timer and at stop, not here: a flush
   * per offence stays O(changed records), however many nodes are online.
   */
  flush(): Promise<void> {
    this.saving = this.saving.then(async () => {
      if (this.dirty.size === 0) return;
      const rows = [...this.dirty].map((a) => ({ ...this.byAddress.get(a)! }));
      this.dirty.clear();
      try {
        await this.o.store.saveReputations(rows);
      } catch (err) {
        this.o.log.warn({ err }, 'could not persist node reputations; will retry');
        for (const r of rows) this.dirty.add(r.address);
      }
    });
    return this.saving;
  }

  /** Whether `address` counts in `establishedOnline`, after its record or sessions changed. */
  private restate(address: string): void {
    if (this.online.has(address) && !this.isNewcomer(address) && !this.isRefused(address)) this.established.add(address);
    else this.established.delete(address);
  }

  private touch(address: string): Reputation {
    let r = this.byAddress.get(address);
    if (!r) {
      r = emptyReputation(address, this.o.now());
      this.byAddress.set(address, r);
      this.dirty.add(address);
    }
    return r;
  }

  private foldUptime(address: string): void {
    const on = this.online.get(address);
    if (!on) return;
    const now = this.o.now();
    const r = this.touch(address);
    if (now > on.since) {
      r.uptimeMs += now - on.since;
      this.dirty.add(address);
    }
    on.since = now;
  }
}
