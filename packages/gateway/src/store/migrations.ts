/**
 * The store's schema, as an ordered list of versioned migrations.
 *
 * Rules: a migration, once released, never changes — add a new one. Versions are 1, 2, 3, …
 * without gaps. `migrate` applies the missing ones in order, all in one transaction, under an
 * advisory lock so that several gateways starting against one server do not race.
 */
import type { SqlExecutor } from './sql.js';
import { SchemaTooNewError } from './errors.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial schema',
    sql: `
      CREATE TABLE blobs (
        sha256      text PRIMARY KEY,
        bytes       bytea NOT NULL,
        size        integer NOT NULL,
        created_at  bigint NOT NULL
      );

      CREATE TABLE jobs (
        id          text PRIMARY KEY,
        name        text NOT NULL,
        requester   text NOT NULL,
        module      text NOT NULL,
        spec        json NOT NULL,   -- json, not jsonb: stored and returned whole, never queried inside (2× faster to write)
        signature   text NOT NULL,
        status      text NOT NULL CHECK (status IN ('queued', 'running', 'completed', 'failed', 'cancelled')),
        task_count  integer NOT NULL,
        counts      jsonb NOT NULL,
        created_at  bigint NOT NULL,
        finished_at bigint,
        deadline    bigint NOT NULL
      );
      CREATE INDEX jobs_requester_created_at ON jobs (requester, created_at);
      CREATE INDEX jobs_status ON jobs (status);
      CREATE INDEX jobs_created_at ON jobs (created_at);

      -- files: jsonb [{ "path": "/out/x", "data": "<base64>" }]; deleted: jsonb ["/out/y"].
      CREATE TABLE task_results (
        job_id        text NOT NULL,
        idx           integer NOT NULL,
        status        text NOT NULL CHECK (status IN ('done', 'failed', 'cancelled')),
        exit_code     integer,
        stdout        bytea NOT NULL,
        stderr        bytea NOT NULL,
        files         jsonb NOT NULL,
        deleted       jsonb NOT NULL,
        result_hash   text,
        node          text,
        attempts      integer NOT NULL,
        error_code    text,
        error_message text,
        finished_at   bigint NOT NULL,
        PRIMARY KEY (job_id, idx)
      );

      CREATE TABLE nodes (
        address       text PRIMARY KEY,
        capabilities  jsonb NOT NULL,
        completed     bigint NOT NULL,
        failed        bigint NOT NULL,
        first_seen_at bigint NOT NULL,
        last_seen_at  bigint NOT NULL
      );
    `,
  },
  {
    version: 2,
    name: 'ledger and fuel: receipts, fuel used, settlement batches, payouts, escrow state, chain transaction outbox',
    sql: `
      -- Fuel the task used, as the node that gave its accepted result counted it.
      ALTER TABLE task_results ADD COLUMN fuel_used bigint;

      -- One receipt per paid execution: the accepted result's node, the other replicas that
      -- agreed with it, a passed known-answer check. amount is in the token's smallest unit;
      -- batch_id is set when the receipt is folded into a settlement batch. One account is paid
      -- at most once per task (it never holds two replicas of one task): the unique key makes
      -- writing a receipt idempotent.
      CREATE TABLE task_receipts (
        receipt_seq bigserial PRIMARY KEY,
        job_id      text NOT NULL,
        idx         integer NOT NULL,
        payee       text NOT NULL,
        amount      numeric(78, 0) NOT NULL CHECK (amount > 0),
        fuel_used   bigint,
        kind        text NOT NULL CHECK (kind IN ('result', 'replica', 'canary', 'unverified')),
        batch_id    bigint,
        UNIQUE (job_id, idx, payee)
      );
      CREATE INDEX task_receipts_unsettled ON task_receipts (receipt_seq) WHERE batch_id IS NULL;

      -- none: a free job; open: escrow held on chain; closed: the unspent escrow was refunded.
      ALTER TABLE jobs ADD COLUMN escrow text NOT NULL DEFAULT 'none' CHECK (escrow IN ('none', 'open', 'closed'));
      -- Totals over the job's result rows (fuel) and receipts (cost), written when the job finishes.
      ALTER TABLE jobs ADD COLUMN fuel_used numeric(78, 0) NOT NULL DEFAULT 0;
      ALTER TABLE jobs ADD COLUMN cost numeric(78, 0) NOT NULL DEFAULT 0;
      CREATE INDEX jobs_escrow_open ON jobs (escrow) WHERE escrow = 'open';

      CREATE TABLE settlement_batches (
        id             bigserial PRIMARY KEY,
        status         text NOT NULL CHECK (status IN ('prepared', 'posted', 'failed')),
        root           text NOT NULL,
        tree           jsonb NOT NULL,   -- @openzeppelin/merkle-tree StandardMerkleTree dump
        debits         jsonb NOT NULL,   -- [[jobId, amount]]
        receipts       integer NOT NULL,
        total          numeric(78, 0) NOT NULL,
        fee            numeric(78, 0) NOT NULL,
        created_at     bigint NOT NULL,
        tx_hash        text,
        chain_batch_id numeric(78, 0),
        final_at       bigint,           -- chain time (s) from which the batch is final (claimable)
        error          text,
        fee_swept      boolean NOT NULL DEFAULT false  -- its fee was sent to the treasury (JobEscrow.sweepFees)
      );
      CREATE INDEX settlement_batches_status ON settlement_batches (status) WHERE status = 'prepared';

      CREATE TABLE settlement_payouts (
        batch_id  bigint NOT NULL REFERENCES settlement_batches (id),
        provider  text NOT NULL,
        amount    numeric(78, 0) NOT NULL,  -- net, what the provider claims
        gross     numeric(78, 0) NOT NULL,  -- before the protocol fee
        tasks     integer NOT NULL,
        PRIMARY KEY (batch_id, provider)
      );
      CREATE INDEX settlement_payouts_provider ON settlement_payouts (provider, batch_id);

      -- The gateway's own transactions, recorded signed before they are sent, so a restart
      -- re-sends the same bytes (same nonce) instead of paying twice.
      CREATE TABLE chain_txs (
        hash       text PRIMARY KEY,
        kind       text NOT NULL,
        ref        text NOT NULL,
        sender     text NOT NULL,
        nonce      bigint NOT NULL,
        raw        text NOT NULL,
        status     text NOT NULL CHECK (status IN ('sent', 'mined', 'reverted')),
        created_at bigint NOT NULL,
        block      bigint
      );
      CREATE INDEX chain_txs_sent ON chain_txs (sender, nonce) WHERE status = 'sent';

      CREATE TABLE meta (
        key   text PRIMARY KEY,
        value jsonb NOT NULL
      );
    `,
  },
  {
    version: 3,
    name: 'trust: node reputation, evidence against nodes and their slashing',
    sql: `
      -- A node account's record of checked results (see verify/reputation.ts).
      CREATE TABLE node_reputation (
        address           text PRIMARY KEY,
        validated         bigint NOT NULL,
        invalid           bigint NOT NULL,
        consecutive_valid bigint NOT NULL,
        uptime_ms         bigint NOT NULL,
        prior_valid       integer NOT NULL,
        prior_issuer      text,
        last_wrong_at     bigint,
        first_seen_at     bigint NOT NULL
      );

      -- Evidence that a node's result was wrong: the gateway's two signed statements and the
      -- node's session hello (protocol/trust.ts). hash = keccak256 of its canonical JSON, the
      -- reference Staking.slash records. slash: none (no ledger), pending, slashed, failed.
      CREATE TABLE evidence (
        hash       text PRIMARY KEY,
        node       text NOT NULL,
        job_id     text NOT NULL,
        idx        integer NOT NULL,
        kind       text NOT NULL CHECK (kind IN ('quorum', 'canary')),
        body       jsonb NOT NULL,
        created_at bigint NOT NULL,
        slash      text NOT NULL CHECK (slash IN ('none', 'pending', 'slashed', 'failed')),
        slashed    numeric(78, 0),
        tx_hash    text,
        error      text
      );
      CREATE INDEX evidence_node ON evidence (node, created_at);
      CREATE INDEX evidence_pending ON evidence (created_at) WHERE slash = 'pending';

      -- What verifying a job's results took (replicas, known-answer checks, wrong results), at its end.
      ALTER TABLE jobs ADD COLUMN verification_stats jsonb;
    `,
  },
  {
    version: 4,
    name: 'hostile input: WASI exit codes as u32, receipts set aside from settlement, blob owners for quotas',
    sql: `
      -- A WASI exit code is a u32 (proc_exit(-1) is 4294967295): int4 cannot hold it.
      ALTER TABLE task_results ALTER COLUMN exit_code TYPE bigint;
      ALTER TABLE task_results ADD CONSTRAINT task_results_exit_code_u32 CHECK (exit_code BETWEEN 0 AND 4294967295) NOT VALID; -- rows written before are left as they are

      -- Why a receipt cannot be settled (its job's escrow refused the debit: closed, expired, or
      -- short), set when a batch's post would revert and its job was set aside so that the rest
      -- settle. Held receipts are never batched; they do not keep the job's escrow from closing.
      ALTER TABLE task_receipts ADD COLUMN held text;
      DROP INDEX task_receipts_unsettled;
      CREATE INDEX task_receipts_unsettled ON task_receipts (receipt_seq) WHERE batch_id IS NULL AND held IS NULL;

      -- The account that first uploaded a blob: blob bytes are a quota per account.
      ALTER TABLE blobs ADD COLUMN owner text;
      -- NULL: the bytes are in a file beside the embedded database (<dataDir>/blobs).
      ALTER TABLE blobs ALTER COLUMN bytes DROP NOT NULL;

      -- A job's spec without its tasks, for views (the whole spec can be megabytes); the whole
      -- spec stays in spec, or — large, beside an embedded database — in <dataDir>/specs/<id>.json
      -- (spec NULL).
      ALTER TABLE jobs ADD COLUMN spec_head json;
      UPDATE jobs SET spec_head = ((spec::jsonb - 'tasks') || '{"tasks": []}'::jsonb)::json;
      ALTER TABLE jobs ALTER COLUMN spec DROP NOT NULL;
      CREATE INDEX blobs_owner ON blobs (owner) WHERE owner IS NOT NULL;
    `,
  },
  {
    version: 5,
    name: 'faucet grants: per address, per client network and in all, kept across restarts',
    sql: `
      -- One row per faucet grant (the gateway's test LODE and gas), counted in rolling 24-hour
      -- windows per address, per client (an IPv4 address or an IPv6 /64) and in all, and summed
      -- over all time against the governance quorum. tx_hashes is null until the grant is sent.
      CREATE TABLE faucet_grants (
        id         bigserial PRIMARY KEY,
        address    text NOT NULL,
        client     text NOT NULL,
        lode       numeric(78, 0) NOT NULL,
        eth        numeric(78, 0) NOT NULL,
        created_at bigint NOT NULL,
        tx_hashes  jsonb
      );
      CREATE INDEX faucet_grants_address ON faucet_grants (address, created_at);
      CREATE INDEX faucet_grants_client ON faucet_grants (client, created_at);
      CREATE INDEX faucet_grants_created_at ON faucet_grants (created_at);
    `,
  },
  {
    version: 6,
    name: "trust: results taken on one node's word alone, kept until it passes a check; results revised after the fact",
    sql: `
      -- A result accepted on one node's word alone (target(ε), no second vote), remembered until
      -- that node passes a check of a later answer (verify/loneResults.ts). While its row is
      -- here, the node's receipt for the task is not settled (createBatch skips it), so the job's
      -- escrow stays open: if the node is proven wrong, the result is re-verified and its
      -- receipt withdrawn before any of it is paid. seq orders answers as they arrived.
      CREATE TABLE lone_results (
        job_id      text NOT NULL,
        idx         integer NOT NULL,
        node        text NOT NULL,
        vote_key    text NOT NULL,
        seq         bigint NOT NULL,
        received_at bigint NOT NULL,
        lease_id    text NOT NULL,
        session     jsonb,            -- the node's signed hello of that session (evidence carries it)
        PRIMARY KEY (job_id, idx)
      );
      CREATE INDEX lone_results_node ON lone_results (node, seq);

      -- A result that replaced the one accepted first: { at, reason, previousNode, previousResultHash, refunded }.
      ALTER TABLE task_results ADD COLUMN revision jsonb;
      -- The job's revised tasks: { revised, refunded, tasks: [{ index, at, reason, … }] } (first 100 listed).
      ALTER TABLE jobs ADD COLUMN revisions jsonb;
    `,
  },
  {
    version: 7,
    name: 'cluster: gateway leases and job owners, for several gateways on one database',
    sql: `
      -- One row per running gateway process (an incarnation), renewed on its heartbeat; by the
      -- database's clock (Unix ms). See cluster/ownership.ts.
      CREATE TABLE gateway_leases (
        id         text PRIMARY KEY,
        expires_at bigint NOT NULL
      );
      -- The gateway that runs each job, and how many times the job changed hands (epoch): writes
      -- for a job carry the epoch their gateway was given, and a stale one is refused.
      CREATE TABLE job_owners (
        job_id  text PRIMARY KEY,
        gateway text NOT NULL,
        epoch   integer NOT NULL
      );
      CREATE INDEX job_owners_gateway ON job_owners (gateway);
    `,
  },
  {
    version: 8,
    name: 'cluster: one gateway sends the chain transactions; one live transaction per purpose',
    sql: `
      -- A role one gateway of the cluster holds at a time (the settler: the only one that signs
      -- and sends chain transactions), and how many times it changed hands. See cluster/ownership.ts.
      CREATE TABLE cluster_roles (
        role    text PRIMARY KEY,
        gateway text NOT NULL,
        epoch   integer NOT NULL
      );
      -- At most one transaction per purpose is pending or mined: a second sender for the same batch
      -- (a stale settler) is refused by the database, not only by the outbox's read-then-write.
      CREATE UNIQUE INDEX chain_txs_one_live ON chain_txs (kind, ref) WHERE status <> 'reverted';
    `,
  },
  {
    version: 9,
    name: 'cluster: each gateway says its load and where nodes reach it',
    sql: `
      -- Written on every heartbeat: idle gateways send nodes to busy ones (cluster/rebalance.ts).
      ALTER TABLE gateway_leases ADD COLUMN url text;
      ALTER TABLE gateway_leases ADD COLUMN queued integer NOT NULL DEFAULT 0;
      ALTER TABLE gateway_leases ADD COLUMN slots integer NOT NULL DEFAULT 0;
      -- A job that ends is announced to every gateway (NOTIFY lode_cluster 'final:<id>'): those
      -- following it for a requester while another gateway runs it answer at once, not at a poll.
      CREATE FUNCTION lode_job_final() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('lode_cluster', 'final:' || NEW.id);
        RETURN NULL;
      END $$;
      CREATE TRIGGER jobs_final AFTER UPDATE OF status ON jobs FOR EACH ROW
        WHEN (OLD.status IN ('queued', 'running') AND NEW.status NOT IN ('queued', 'running'))
        EXECUTE FUNCTION lode_job_final();
    `,
  },
  {
    version: 10,
    name: 'cluster: the account and chain every gateway of the cluster must share',
    sql: `
      -- One row: what the gateways of this database sign as and settle on (cluster/ownership.ts
      -- joinCluster). A gateway that differs is refused while another gateway is live.
      CREATE TABLE cluster_identity (
        one     boolean PRIMARY KEY DEFAULT true CHECK (one),
        gateway text NOT NULL,
        chain   text NOT NULL
      );
    `,
  },
  {
    version: 11,
    name: 'availability: reward batches, one per epoch, beside job batches',
    sql: `
      -- An availability reward batch (JobEscrow.postRewardBatch) names its epoch; a job batch has none.
      ALTER TABLE settlement_batches ADD COLUMN epoch bigint;
      CREATE UNIQUE INDEX settlement_batches_epoch ON settlement_batches (epoch) WHERE epoch IS NOT NULL;
    `,
  },
  {
    version: 12,
    name: 'availability: epochs, passed challenges and each device record kept in the database',
    sql: `
      -- An availability epoch: the terms it is challenged under (the first gateway to open it sets
      -- them), and once scored (by one gateway, once) when and with which reward batch.
      CREATE TABLE availability_epochs (
        epoch      bigint PRIMARY KEY,
        starts_at  bigint NOT NULL,
        length_ms  bigint NOT NULL,
        rate       integer NOT NULL,
        pool       numeric(78, 0) NOT NULL,
        settled_at bigint,
        batch_id   bigint
      );
      -- A challenge a device passed: moment k of its epoch, by any gateway of the cluster. Kept
      -- until its epoch is scored, so a restart or another gateway loses none.
      CREATE TABLE availability_passes (
        epoch    bigint NOT NULL,
        node     text NOT NULL,
        k        integer NOT NULL,
        proven   double precision NOT NULL,
        declared double precision NOT NULL,
        capacity integer NOT NULL,
        at       bigint NOT NULL,
        PRIMARY KEY (epoch, node, k)
      );
      -- Per device, over the epochs scored: what its credential's availability score is made of.
      CREATE TABLE availability_records (
        node       text PRIMARY KEY,
        epochs     integer NOT NULL,
        passed     integer NOT NULL,
        challenges integer NOT NULL
      );
    `,
  },
];

/** Arbitrary, fixed: the advisory lock key that serializes migrations across gateways. */
const MIGRATION_LOCK_KEY = 0x10de_5c4e;

/**
 * Brings the schema up to the latest version. Idempotent; safe to run from several processes
 * at once against one server (the second waits for the first, then finds nothing to do).
 * Throws {@link SchemaTooNewError} when the database was migrated by a newer Lode.
 *
 * @returns the versions applied by this call
 */
export async function migrate(db: SqlExecutor, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
    await tx.exec(`
      CREATE TABLE IF NOT EXISTS schema_migrations (
        version    integer PRIMARY KEY,
        name       text NOT NULL,
        applied_at bigint NOT NULL
      )`);
    const rows = await tx.query<{ version: number }>('SELECT version FROM schema_migrations');
    const applied = new Set(rows.map((r) => r.version));
    const latest = migrations.at(-1)?.version ?? 0;
    const newest = Math.max(0, ...applied);
    if (newest > latest) throw new SchemaTooNewError(newest, latest);

    const done: number[] = [];
    for (const m of migrations) {
      if (applied.has(m.version)) continue;
      await tx.exec(m.sql);
      await tx.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [m.version, m.name, Date.now()]);
      done.push(m.version);
    }
    return done;
  });
}
