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
 * - Every beat writes this gateway's load (`load`) into its lease row and hands the live peers'
 *   loads to `peers` (the rebalancing of nodes, rebalance.ts) — in the heartbeat's one statement.
 *   A gateway whose queue outgrew its nodes (`nudge`) beats at once and wakes the others through
 *   LISTEN/NOTIFY (`lode_cluster`), so idle gateways send nodes within a round trip, not a beat.
 *   Without LISTEN (its connection lost) the beats alone do it; listening is retried every beat.
 * - An unreachable database is logged, said by `problem` (so `/healthz` answers 503), and retried on the next beat; one job that cannot be
 *   adopted is logged and given up (claimable again on the next beat), never stopping the others.
 */
import type { Logger } from 'pino';
import type { SqlExecutor, SqlRunner } from '../store/sql.js';
import type { SenderFence } from '../store/types.js';
import { CLUSTER_CHANNEL, JobOwnership, type OwnedJob } from './ownership.js';
import { needsNodes, type GatewayLoad, type PeerLoad } from './rebalance.js';
import { ClusterMismatchError } from '../errors.js';

export interface ClusterMemberOptions {
  db: SqlRunner & { transaction<T>(fn: (tx: SqlRunner) => Promise<T>): Promise<T>; listen?: SqlExecutor['listen'] };
  log: Logger;
  /**
   * What every gateway of the cluster must share: the account it signs as and the chain it
   * settles on (`<chainId>:<escrow>`, `embedded` or `off`). A gateway that differs from a live
   * one is refused at start (ClusterMismatchError). Absent: not checked (tests of ownership alone).
   */
  identity?: { gateway: string; chain: string };
  /** This gateway's load and the URL nodes reach it at, written on every beat. */
  load?(): GatewayLoad & { url: string | null };
  /** After every beat: the live peers' loads (what this gateway rebalances its nodes by). */
  peers?(peers: PeerLoad[]): void;
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

/** Why a gateway cannot join the cluster it found, and what to do. */
function mismatch(mine: { gateway: string; chain: string }, cluster: { gateway: string; chain: string; live: number }): string {
  const live = `${cluster.live} gateway${cluster.live === 1 ? '' : 's'} of it live`;
  if (mine.gateway.toLowerCase() !== cluster.gateway.toLowerCase()) {
    return `This gateway signs as ${mine.gateway}, but the cluster on this database signs as ${cluster.gateway} (${live}). Every gateway of a cluster needs the same identity: copy <data-dir>/gateway/ from one of them into this one's data directory.`;
  }
  if (mine.chain === 'embedded' || cluster.chain === 'embedded') {
    return `This database already serves a live gateway (${live}), and a cluster cannot run the embedded chain: each gateway would have its own. Deploy the contracts on one chain (lode ledger deploy --rpc-url URL) and start every gateway with --rpc-url URL --ledger-addresses FILE.`;
  }
  return `This gateway settles on ${mine.chain}, but the cluster on this database on ${cluster.chain} (${live}; chain id:escrow address, or off). Start it with the cluster's --rpc-url and --ledger-addresses (or --ledger off where the cluster runs free).`;
}

function splitOnce(s: string, sep: string): [string, string | undefined] {
  const i = s.indexOf(sep);
  return i < 0 ? [s, undefined] : [s.slice(0, i), s.slice(i + 1)];
}

/** How soon an early beat follows a nudge or a peer's wake-up (coalescing a burst into one). */
const EARLY_BEAT_MS = 100;

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
  /** Stops listening for the other gateways' wake-ups; undefined while not listening. */
  private unlisten: (() => Promise<void>) | undefined;
  private listening$: Promise<void> | undefined;
  /** An early beat is due (a nudge, or a peer woke us): at most one pending. */
  private soon: NodeJS.Timeout | undefined;
  /** Whether the next beat wakes the other gateways. */
  private wakePeers = false;
  private stopped = false;
  /** Who waits to hear that a job ended (followers of a job another gateway runs). */
  private readonly finals = new Map<string, Set<() => void>>();

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
    if (owned) {
      this.owned.set(owned.jobId, owned.epoch);
      setImmediate(() => this.nudge()); // once its tasks are queued
    }
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
    if (this.o.identity) await this.join(this.o.identity);
    if (!(await this.ownership.heartbeat())) throw new Error('cluster: a new gateway lease was refused');
    this.o.log.info({ incarnation: this.incarnation, ttlMs: this.ttlMs }, 'joined the cluster');
    await this.adoptOrphans();
    await this.holdSettler();
    await this.listen();
    this.timer = setInterval(() => void this.beat(), Math.max(100, Math.floor(this.ttlMs / 3)));
    this.timer.unref();
  }

  /**
   * Joins the cluster as `identity`, or throws ClusterMismatchError. A refusal is retried for one
   * lease first: the live gateway that differs may be this one's own predecessor, killed a moment
   * ago (its lease runs out; its jobs are not claimable before that anyway).
   */
  private async join(identity: { gateway: string; chain: string }): Promise<void> {
    const until = Date.now() + this.ttlMs + 1000;
    for (let waited = false; ; waited = true) {
      const { refused } = await this.ownership.join(identity);
      if (!refused) return;
      if (Date.now() >= until) throw new ClusterMismatchError(mismatch(identity, refused), { ...refused, mine: identity });
      if (!waited)
        this.o.log.warn({ cluster: refused, mine: identity }, `${mismatch(identity, refused)} Waiting up to one lease in case that gateway has just stopped…`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  /**
   * This gateway's queue may have outgrown its nodes (a job was admitted or taken over): if so,
   * beat soon and wake the other gateways, so that idle ones send nodes now.
   */
  nudge(): void {
    const load = this.o.load?.();
    if (!load || !needsNodes(load)) return;
    this.wakePeers = true;
    this.beatSoon();
  }

  /**
   * Calls `fn` when the cluster hears that `jobId` ended (whichever gateway ended it); returns the
   * unsubscribe. Only while this gateway listens: callers keep a slower poll too.
   */
  onJobFinal(jobId: string, fn: () => void): () => void {
    let set = this.finals.get(jobId);
    if (!set) this.finals.set(jobId, (set = new Set()));
    set.add(fn);
    return () => {
      set.delete(fn);
      if (set.size === 0 && this.finals.get(jobId) === set) this.finals.delete(jobId);
    };
  }

  /** One early beat, shortly (coalesces a burst of nudges and wake-ups into one). */
  private beatSoon(): void {
    if (this.soon || this.stopped) return;
    this.soon = setTimeout(() => {
      this.soon = undefined;
      void this.beat();
    }, EARLY_BEAT_MS);
    this.soon.unref();
  }

  /** Listens for the other gateways' wake-ups (LISTEN lode_cluster); when that fails, the beats alone serve. */
  private listen(): Promise<void> {
    const listen = this.o.db.listen;
    if (!listen || this.unlisten || this.stopped) return Promise.resolve();
    this.listening$ ??= listen
      .call(
        this.o.db,
        CLUSTER_CHANNEL,
        (payload) => {
          const [kind, id = ''] = splitOnce(payload, ':');
          if (kind === 'wake' && id !== this.incarnation) this.beatSoon();
          else if (kind === 'final') for (const f of this.finals.get(id) ?? []) f();
        },
        (err) => {
          this.unlisten = undefined;
          this.o.log.warn({ err }, 'lost the cluster wake-up channel; beats alone rebalance until it is back');
        },
      )
      .then(
        (stop) => {
          if (this.stopped) return void stop();
          this.unlisten = stop;
        },
        (err: unknown) => this.o.log.warn({ err }, 'could not listen for cluster wake-ups; trying again on the next beat'),
      )
      .finally(() => (this.listening$ = undefined));
    return this.listening$;
  }

  /** One beat now (tests, and the timer). Beats never overlap. */
  beat(): Promise<void> {
    this.beating ??= this.beatOnce().finally(() => (this.beating = undefined));
    return this.beating;
  }

  private async beatOnce(): Promise<void> {
    try {
      const notify = this.wakePeers;
      this.wakePeers = false;
      const { alive, peers } = await this.ownership.beat(this.o.load?.(), notify);
      if (!alive) {
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
      } else this.o.peers?.(peers);
      await this.adoptOrphans();
      await this.holdSettler();
      await this.listen();
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
        this.nudge();
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
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.soon);
    await this.listening$;
    await this.unlisten?.();
    this.unlisten = undefined;
    await this.beating;
    await this.loseSettler();
    await this.settling$;
    await this.ownership.release().catch((err: unknown) => this.o.log.warn({ err }, 'could not end the cluster lease; it runs out by itself'));
  }
}
