/**
 * This gateway as a member of a cluster of gateways on one PostgreSQL server (`databaseUrl`):
 * it holds its lease (ownership.ts), and takes over the unfinished jobs whose gateway stopped
 * heartbeating — at start (its own jobs of a previous run, once their lease has run out, or at
 * once after a clean stop) and on every beat after.
 *
 * Guarantees:
 * - A beat is one heartbeat statement plus one claim transaction, every `ttlMs / 3`; a job whose
 *   gateway died is taken over within `ttlMs` plus one beat.
 * - A lost lease (this process stalled past `ttlMs`, or the database was away that long) drops
 *   every job this gateway ran (`lost`) before it continues as a new incarnation: another
 *   gateway may own them now, and a stale owner's writes are refused anyway (ownership.ts).
 * - Result rows are written only for jobs this incarnation still owns at its epoch (`fence`);
 *   the rows of a job it lost are left out, and its new owner runs those tasks again.
 * - One gateway of the cluster is the *settler* (a role in the database, ownership.ts): the only
 *   one that signs and sends chain transactions, since all share one account. `settler.gained`
 *   is called with the fence its transactions are recorded under; `settler.lost` when the role
 *   goes (a lost lease, a stop). A settler that stalls past its lease is replaced one lease later;
 *   its fence refuses whatever it tries to record after that.
 * - Only a gateway with nodes connected takes orphaned jobs over (`canRun`): the jobs of a dead
 *   gateway go to the survivors its nodes moved to, not to one that has no node to run them.
 * - An unreachable database is logged, said by `problem` (so `/healthz` answers 503), and retried on the next beat; one job that cannot be
 *   adopted is logged and given up (claimable again on the next beat), never stopping the others.
 */
import type { Logger } from 'pino';
import type { SqlRunner } from '../store/sql.js';
import type { SenderFence } from '../store/types.js';
import { JobOwnership, type OwnedJob } from './ownership.js';

export interface ClusterMemberOptions {
  db: SqlRunner & { transaction<T>(fn: (tx: SqlRunner) => Promise<T>): Promise<T> };
  log: Logger;
  /** @default 8000 */
  ttlMs?: number;
  /** Loads and runs a job this gateway now owns. */
  adopt(job: OwnedJob): Promise<void>;
  /** Drops every job this gateway runs: its lease was lost. */
  lost(): void;
  /**
   * Whether this gateway can run jobs now (it has nodes connected). A gateway that cannot leaves
   * orphaned jobs to one that can: a job taken over by a gateway without nodes would wait for
   * nodes that are on another gateway. @default () => true
   */
  canRun?(): boolean;
  /** What this gateway does as the cluster's settler (absent: it never takes the role, e.g. no ledger). */
  settler?: {
    gained(fence: SenderFence): Promise<void>;
    lost(): Promise<void>;
    /** Every beat while it holds the role (picks up work other gateways left for the settler). */
    holding?(): Promise<void>;
  };
}

/** The role of the gateway that sends the cluster's chain transactions. */
export const SETTLER_ROLE = 'settler';

export class ClusterMember {
  private ownership: JobOwnership;
  private timer: NodeJS.Timeout | undefined;
  private beating: Promise<void> | undefined;
  private readonly ttlMs: number;
  /** Why this gateway cannot serve its share of the cluster now (the last beat failed), or undefined. */
  problem: string | undefined;
  /** The jobs this incarnation owns, with their epochs: what its writes are fenced by. */
  private readonly owned = new Map<string, number>();
  /** The settler role's epoch while this incarnation holds it. */
  private settlerEpoch: number | undefined;
  /** Settlement starting or stopping (settlerChange), in order. */
  private settling$: Promise<void> = Promise.resolve();

  constructor(private readonly o: ClusterMemberOptions) {
    this.ttlMs = o.ttlMs ?? 8000;
    this.ownership = new JobOwnership(o.db, { ttlMs: this.ttlMs });
  }

  get incarnation(): string {
    return this.ownership.incarnation;
  }

  /** Whether this gateway is the cluster's settler now. */
  get settling(): boolean {
    return this.settlerEpoch !== undefined;
  }

  /** Owns a job this gateway has just stored; undefined when another gateway owns it. */
  async claimNew(jobId: string): Promise<OwnedJob | undefined> {
    const owned = await this.ownership.claimNew(jobId);
    if (owned) this.owned.set(owned.jobId, owned.epoch);
    return owned;
  }

  /**
   * The fence of a batch of result rows (Store.insertTaskResults): of these jobs, those this
   * gateway still owns at the epoch it was given. When some are not, a beat is started at once
   * (the lease is probably lost: the beat drops the jobs).
   */
  readonly fence = async (tx: SqlRunner, jobIds: string[]): Promise<ReadonlySet<string>> => {
    const mine = new Map<string, number>();
    for (const id of jobIds) {
      const epoch = this.owned.get(id);
      if (epoch !== undefined) mine.set(id, epoch);
    }
    const still = await this.ownership.stillOwned(tx, mine);
    if (still.size < jobIds.length) {
      this.o.log.warn(
        { jobs: jobIds.filter((id) => !still.has(id)) },
        'results of jobs this gateway no longer owns were not written; their new owner runs those tasks',
      );
      setImmediate(() => void this.beat());
    }
    return still;
  };

  async start(): Promise<void> {
    if (!(await this.ownership.heartbeat())) throw new Error('cluster: a new gateway lease was refused');
    this.o.log.info({ incarnation: this.incarnation, ttlMs: this.ttlMs }, 'joined the cluster');
    await this.adoptOrphans();
    await this.holdSettler();
    this.timer = setInterval(() => void this.beat(), Math.max(100, Math.floor(this.ttlMs / 3)));
    this.timer.unref();
  }

  /** One beat now (tests, and the timer). Beats never overlap. */
  beat(): Promise<void> {
    this.beating ??= this.beatOnce().finally(() => (this.beating = undefined));
    return this.beating;
  }

  private async beatOnce(): Promise<void> {
    try {
      if (!(await this.ownership.heartbeat())) {
        this.o.log.error({ incarnation: this.incarnation }, 'cluster lease lost (this gateway stalled or lost its database past the lease); dropping its jobs');
        this.o.lost();
        this.owned.clear();
        await this.loseSettler();
        this.ownership = new JobOwnership(this.o.db, { ttlMs: this.ttlMs });
        if (!(await this.ownership.heartbeat())) {
          this.problem = 'this gateway lost its cluster lease and could not take a new one';
          return;
        }
        this.o.log.info({ incarnation: this.incarnation }, 'rejoined the cluster');
      }
      await this.adoptOrphans();
      await this.holdSettler();
      this.problem = undefined;
    } catch (err) {
      this.problem = `the database is unreachable (${(err as Error).message}); retrying every ${Math.floor(this.ttlMs / 3)} ms`;
      this.o.log.warn({ err }, 'cluster beat failed (database unreachable?); trying again on the next beat');
    }
  }

  private async adoptOrphans(): Promise<void> {
    if (this.o.canRun && !this.o.canRun()) return;
    for (const owned of await this.ownership.claimOrphans()) {
      try {
        this.owned.set(owned.jobId, owned.epoch);
        await this.o.adopt(owned);
        this.o.log.info({ jobId: owned.jobId, epoch: owned.epoch }, 'took over job');
      } catch (err) {
        this.o.log.error({ err, jobId: owned.jobId }, 'could not take over job; giving it up for the next beat');
        this.owned.delete(owned.jobId);
        await this.ownership.disown(owned).catch(() => {});
      }
    }
  }

  /** Takes or keeps the settler role when it is free; starts or stops settling when that changes. */
  private async holdSettler(): Promise<void> {
    const settler = this.o.settler;
    if (!settler) return;
    const ownership = this.ownership;
    const epoch = await ownership.holdRole(SETTLER_ROLE);
    if (epoch === this.settlerEpoch) {
      if (epoch !== undefined) settler.holding?.().catch((err: unknown) => this.o.log.warn({ err }, 'settler work failed; trying again on the next beat'));
      return;
    }
    if (this.settlerEpoch !== undefined) await this.loseSettler();
    if (epoch === undefined) return;
    this.settlerEpoch = epoch;
    this.o.log.info({ incarnation: this.incarnation, epoch }, 'this gateway is the cluster settler: it sends the chain transactions');
    this.settlerChange((s) => s.gained((tx) => ownership.holdsRole(tx, SETTLER_ROLE, epoch)));
  }

  private async loseSettler(): Promise<void> {
    if (this.settlerEpoch === undefined) return;
    this.settlerEpoch = undefined;
    this.o.log.warn({ incarnation: this.incarnation }, 'no longer the cluster settler; another gateway sends the chain transactions');
    this.settlerChange((s) => s.lost());
  }

  /**
   * Starting and stopping settlement wait on the chain (pending transactions, the round in
   * progress): they run one after another, off the beat, so the lease is renewed meanwhile.
   */
  private settlerChange(fn: (s: NonNullable<ClusterMemberOptions['settler']>) => Promise<void>): void {
    const settler = this.o.settler!;
    this.settling$ = this.settling$.then(() => fn(settler)).catch((err: unknown) => this.o.log.error({ err }, 'starting or stopping settlement failed'));
  }

  /** Stops beating, stops settling, and ends the lease, so the jobs left unfinished (and the settler role) are taken over at once. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.beating;
    await this.loseSettler();
    await this.settling$;
    await this.ownership.release().catch((err: unknown) => this.o.log.warn({ err }, 'could not end the cluster lease; it runs out by itself'));
  }
}
