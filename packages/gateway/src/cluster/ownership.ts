/**
 * Which gateway runs which job, when several gateways share one PostgreSQL database.
 *
 * Each gateway process is one *incarnation* (a random id) holding a lease row in
 * `gateway_leases` that it renews on a heartbeat. Each unfinished job has one row in
 * `job_owners`: the incarnation that runs it and an *epoch* that grows by one every time the job
 * changes hands. A job is taken over only when its owner's lease has expired (or its owner is
 * gone from `gateway_leases`, after a clean stop), and only by a gateway whose own lease is valid.
 *
 * Guarantees (checked by `ownership.test.ts`, a property test over random crashes, pauses and
 * clock skew, on the real SQL):
 * - **Never two owners at once.** Every decision about time is made by the database's clock, in
 *   the statement that acts on it; gateways' clocks are never compared, so skew between them
 *   cannot make two leases look valid.
 * - **A stale owner cannot write.** A gateway paused past its lease may still believe it owns a
 *   job; every write for a job goes through `fenced`, which holds the job's owner row (FOR SHARE)
 *   and checks the incarnation and epoch the writer was given, so a write under an old epoch is
 *   refused even before the stale gateway learns it lost the job.
 * - **Nothing is orphaned for long.** A job whose owner stopped heartbeating is claimable one
 *   lease later (`ttlMs`), by any live gateway; a clean stop (`release`) makes its jobs claimable
 *   at once.
 *
 * Times are Unix ms. `now` exists for tests (a virtual database clock); in production it is left
 * out and the database's `clock_timestamp()` decides.
 */
import { randomBytes } from 'node:crypto';
import type { SqlRunner } from '../store/sql.js';
import type { GatewayLoad, PeerLoad } from './rebalance.js';

/**
 * The channel gateways of a cluster wake each other on (LISTEN/NOTIFY): `wake:<incarnation>`, a
 * gateway whose queue outgrew its nodes; `final:<job id>`, a job that ended (a trigger on `jobs`,
 * migration 9).
 */
export const CLUSTER_CHANNEL = 'lode_cluster';

/** The database's clock in Unix ms, or the test's virtual one when `$param` is not null. */
const dbNow = (param: string) => `COALESCE(${param}::bigint, (extract(epoch from clock_timestamp()) * 1000)::bigint)`;

/** Statuses of a job that still needs an owner. */
const UNFINISHED = `('queued', 'running')`;

export interface OwnershipOptions {
  /** How long a lease lasts without a heartbeat. Takeover after a crash takes up to this. @default 10_000 */
  ttlMs?: number;
  /** This incarnation's id. @default a random one */
  incarnation?: string;
  /** A virtual database clock, for tests only. */
  now?: () => number;
}

/** A job this incarnation owns, and the epoch its writes must carry. */
export interface OwnedJob {
  jobId: string;
  epoch: number;
}

/** A write for a job was refused: another incarnation owns it now (or the job has no owner row). */
export class NotOwnerError extends Error {
  readonly code = 'NOT_OWNER';
  constructor(
    readonly jobId: string,
    readonly epoch: number,
  ) {
    super(`job ${jobId}: this gateway no longer owns it (epoch ${epoch} is stale); another gateway took it over`);
    this.name = 'NotOwnerError';
  }
}

export class JobOwnership {
  readonly incarnation: string;
  readonly ttlMs: number;
  private readonly now: (() => number) | undefined;

  constructor(
    private readonly db: SqlRunner & { transaction<T>(fn: (tx: SqlRunner) => Promise<T>): Promise<T> },
    o: OwnershipOptions = {},
  ) {
    this.incarnation = o.incarnation ?? randomBytes(8).toString('hex');
    this.ttlMs = o.ttlMs ?? 10_000;
    this.now = o.now;
  }

  private get t(): number | null {
    return this.now ? this.now() : null;
  }

  /**
   * Takes or renews this incarnation's lease. False when it had expired: the database may have
   * given its jobs to others, so the caller must drop every job it runs and start over as a new
   * incarnation (a lease never comes back to life).
   */
  async heartbeat(): Promise<boolean> {
    return (await this.beat()).alive;
  }

  /**
   * A heartbeat that also writes this gateway's load (what peers rebalance by) and reads the live
   * peers' — in one statement. `notify` also wakes the other gateways (LISTEN `lode_cluster`) to
   * read it now rather than on their next beat.
   */
  async beat(load?: GatewayLoad & { url: string | null }, notify = false): Promise<{ alive: boolean; peers: PeerLoad[] }> {
    const rows = await this.db.query<{ alive: number; id: string | null; url: string | null; queued: number; slots: number }>(
      `WITH hb AS (
         INSERT INTO gateway_leases (id, expires_at, url, queued, slots) VALUES ($1, ${dbNow('$3')} + $2, $4, $5, $6)
         ON CONFLICT (id) DO UPDATE SET expires_at = EXCLUDED.expires_at, url = EXCLUDED.url, queued = EXCLUDED.queued, slots = EXCLUDED.slots
         WHERE gateway_leases.expires_at > ${dbNow('$3')}
         RETURNING id),
       woke AS (SELECT pg_notify('${CLUSTER_CHANNEL}', 'wake:' || $1) WHERE $7::boolean AND EXISTS (SELECT 1 FROM hb))
       SELECT (SELECT count(*) FROM hb)::int AS alive, (SELECT count(*) FROM woke)::int AS woke, g.id, g.url, g.queued, g.slots
       FROM (SELECT 1) one
       LEFT JOIN gateway_leases g ON g.id <> $1 AND g.expires_at > ${dbNow('$3')}`,
      [this.incarnation, this.ttlMs, this.t, load?.url ?? null, load?.queued ?? 0, load?.slots ?? 0, notify],
    );
    return {
      alive: Number(rows[0]?.alive ?? 0) === 1,
      peers: rows.filter((r) => r.id !== null).map((r) => ({ id: r.id!, url: r.url, queued: Number(r.queued), slots: Number(r.slots) })),
    };
  }

  /**
   * Joins the cluster on this database as `identity` (the account it signs as, the chain it
   * settles on: `<chainId>:<escrow>`, `embedded` or `off`) and takes this incarnation's first
   * lease, in one transaction. While another gateway is live, a gateway that signs as another
   * account or settles elsewhere is refused (undefined is returned with what the cluster
   * uses), and so is any second gateway where one runs the embedded chain (each would have
   * its own). With no other gateway live, this one's identity becomes the cluster's.
   */
  async join(identity: { gateway: string; chain: string }): Promise<{ refused?: { gateway: string; chain: string; live: number } }> {
    return this.db.transaction(async (tx) => {
      await tx.query('INSERT INTO cluster_identity (gateway, chain) VALUES ($1, $2) ON CONFLICT (one) DO NOTHING', [identity.gateway, identity.chain]);
      const [row] = await tx.query<{ gateway: string; chain: string }>('SELECT gateway, chain FROM cluster_identity FOR UPDATE');
      const [{ live }] = (await tx.query<{ live: number }>(`SELECT count(*)::int AS live FROM gateway_leases WHERE id <> $1 AND expires_at > ${dbNow('$2')}`, [
        this.incarnation,
        this.t,
      ])) as [{ live: number }];
      const same = row!.gateway === identity.gateway && row!.chain === identity.chain && identity.chain !== 'embedded';
      if (live > 0 && !same) return { refused: { gateway: row!.gateway, chain: row!.chain, live } };
      if (!same) await tx.query('UPDATE cluster_identity SET gateway = $1, chain = $2', [identity.gateway, identity.chain]);
      await tx.query(
        `INSERT INTO gateway_leases (id, expires_at) VALUES ($1, ${dbNow('$3')} + $2)
         ON CONFLICT (id) DO UPDATE SET expires_at = EXCLUDED.expires_at`,
        [this.incarnation, this.ttlMs, this.t],
      );
      return {};
    });
  }

  /**
   * Owns a job this gateway has just stored (epoch 1). Undefined when another gateway owns it
   * already (the same signed job was submitted there too): this gateway must not run it.
   */
  async claimNew(jobId: string): Promise<OwnedJob | undefined> {
    const rows = await this.db.query<{ epoch: number }>(
      `INSERT INTO job_owners (job_id, gateway, epoch) VALUES ($1, $2, 1) ON CONFLICT (job_id) DO NOTHING RETURNING epoch`,
      [jobId, this.incarnation],
    );
    return rows.length === 1 ? { jobId, epoch: Number(rows[0]!.epoch) } : undefined;
  }

  /**
   * Takes up to `limit` unfinished jobs whose owner's lease expired (or that have no owner row:
   * jobs stored before ownership, or whose owner stopped cleanly). Each comes with its new epoch.
   * Nothing when this incarnation's own lease is not valid.
   */
  async claimOrphans(limit = 100): Promise<OwnedJob[]> {
    return this.db.transaction(async (tx) => {
      const t = this.t;
      // Jobs with no owner row yet.
      const fresh = await tx.query<{ job_id: string; epoch: number }>(
        `INSERT INTO job_owners (job_id, gateway, epoch)
         SELECT j.id, $1, 1 FROM jobs j
         WHERE j.status IN ${UNFINISHED}
           AND NOT EXISTS (SELECT 1 FROM job_owners o WHERE o.job_id = j.id)
           AND EXISTS (SELECT 1 FROM gateway_leases g WHERE g.id = $1 AND g.expires_at > ${dbNow('$3')})
         ORDER BY j.created_at LIMIT $2
         ON CONFLICT (job_id) DO NOTHING
         RETURNING job_id, epoch`,
        [this.incarnation, limit, t],
      );
      const left = limit - fresh.length;
      if (left <= 0) return fresh.map(owned);
      // Jobs whose owner's lease expired or is gone.
      const taken = await tx.query<{ job_id: string; epoch: number }>(
        `UPDATE job_owners o SET gateway = $1, epoch = o.epoch + 1
         FROM (SELECT jo.job_id FROM job_owners jo
               JOIN jobs j ON j.id = jo.job_id AND j.status IN ${UNFINISHED}
               LEFT JOIN gateway_leases g ON g.id = jo.gateway
               WHERE jo.gateway <> $1 AND (g.id IS NULL OR g.expires_at <= ${dbNow('$3')})
               ORDER BY jo.job_id LIMIT $2
               FOR UPDATE OF jo SKIP LOCKED) c
         WHERE o.job_id = c.job_id
           AND EXISTS (SELECT 1 FROM gateway_leases g WHERE g.id = $1 AND g.expires_at > ${dbNow('$3')})
         RETURNING o.job_id, o.epoch`,
        [this.incarnation, left, t],
      );
      return [...fresh, ...taken].map(owned);
    });
  }

  /**
   * Runs `fn` in a transaction that first checks, holding the owner row, that this incarnation
   * still owns `job` under its epoch; throws {@link NotOwnerError} (writing nothing) when not.
   */
  async fenced<T>(job: OwnedJob, fn: (tx: SqlRunner) => Promise<T>): Promise<T> {
    return this.db.transaction(async (tx) => {
      const rows = await tx.query<{ epoch: number }>('SELECT epoch FROM job_owners WHERE job_id = $1 AND gateway = $2 FOR SHARE', [
        job.jobId,
        this.incarnation,
      ]);
      if (rows.length !== 1 || Number(rows[0]!.epoch) !== job.epoch) throw new NotOwnerError(job.jobId, job.epoch);
      return fn(tx);
    });
  }

  /**
   * Of `jobs` (with the epochs this incarnation was given), those it still owns, read inside the
   * caller's transaction `tx` with the owner rows held (FOR SHARE) until it commits — the fence of
   * a batch of writes for several jobs.
   */
  async stillOwned(tx: SqlRunner, jobs: ReadonlyMap<string, number>): Promise<Set<string>> {
    if (jobs.size === 0) return new Set();
    const rows = await tx.query<{ job_id: string; epoch: number }>(
      'SELECT job_id, epoch FROM job_owners WHERE job_id = ANY($1::text[]) AND gateway = $2 FOR SHARE',
      [[...jobs.keys()], this.incarnation],
    );
    return new Set(rows.filter((r) => jobs.get(r.job_id) === Number(r.epoch)).map((r) => r.job_id));
  }

  /**
   * Takes or keeps `role` (one holder in the cluster at a time): its epoch while this incarnation
   * holds it, undefined while another live gateway does (or this incarnation's lease is not
   * valid). A role whose holder's lease expired or ended is taken over, its epoch one higher.
   */
  async holdRole(role: string): Promise<number | undefined> {
    const rows = await this.db.query<{ epoch: number }>(
      `INSERT INTO cluster_roles (role, gateway, epoch)
       SELECT $1, $2, 1 WHERE EXISTS (SELECT 1 FROM gateway_leases g WHERE g.id = $2 AND g.expires_at > ${dbNow('$3')})
       ON CONFLICT (role) DO UPDATE
         SET gateway = $2, epoch = CASE WHEN cluster_roles.gateway = $2 THEN cluster_roles.epoch ELSE cluster_roles.epoch + 1 END
         WHERE cluster_roles.gateway = $2
            OR NOT EXISTS (SELECT 1 FROM gateway_leases g WHERE g.id = cluster_roles.gateway AND g.expires_at > ${dbNow('$3')})
       RETURNING epoch`,
      [role, this.incarnation, this.t],
    );
    return rows.length === 1 ? Number(rows[0]!.epoch) : undefined;
  }

  /**
   * Whether this incarnation still holds `role` at `epoch`, read inside the caller's transaction
   * `tx` with the role row held (FOR SHARE) until it commits: the fence of a write only the role's
   * holder may make. A takeover waits for that transaction; a stale holder's check fails.
   */
  async holdsRole(tx: SqlRunner, role: string, epoch: number): Promise<boolean> {
    const rows = await tx.query<{ epoch: number }>('SELECT epoch FROM cluster_roles WHERE role = $1 AND gateway = $2 FOR SHARE', [role, this.incarnation]);
    return rows.length === 1 && Number(rows[0]!.epoch) === epoch;
  }

  /** Gives up a job this incarnation could not run: it is claimable at once, by anyone (itself included). */
  async disown(job: OwnedJob): Promise<void> {
    await this.db.query('DELETE FROM job_owners WHERE job_id = $1 AND gateway = $2 AND epoch = $3', [job.jobId, this.incarnation, job.epoch]);
  }

  /** Ends this incarnation's lease (a clean stop): its unfinished jobs are claimable at once. */
  async release(): Promise<void> {
    await this.db.query('DELETE FROM gateway_leases WHERE id = $1', [this.incarnation]);
  }
}

const owned = (r: { job_id: string; epoch: number }): OwnedJob => ({ jobId: r.job_id, epoch: Number(r.epoch) });
