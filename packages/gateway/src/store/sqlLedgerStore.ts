/**
 * The ledger's side of the store over SQL (the same statements on PGlite and a server); see
 * `LedgerStore` in types.ts for the guarantees. Amounts are numeric(78,0) columns, read back as
 * text (`::text`) and parsed into bigint, since the two drivers return numerics differently.
 */
import type {
  BatchPlan,
  ChainTx,
  EscrowState,
  FaucetClaim,
  FaucetGrant,
  FaucetLimits,
  LedgerStore,
  Payout,
  Receipt,
  SenderFence,
  SettlementBatch,
} from './types.js';
import { NotSenderError, sqlStateOf } from './errors.js';
import { num, numOrNull, type SqlExecutor, type SqlRunner } from './sql.js';

/** The batch columns, qualified by a table alias when given (`b.`). */
const batchColumns = (t = '') =>
  `${t}id, ${t}status, ${t}root, ${t}tree, ${t}debits, ${t}receipts, ${t}total::text AS total, ${t}fee::text AS fee, ` +
  `${t}created_at, ${t}tx_hash, ${t}chain_batch_id::text AS chain_batch_id, ${t}final_at, ${t}error, ${t}epoch`;
const BATCH_COLUMNS = batchColumns();

/** Receipts (alias r) whose result does not rest on its node's word alone, unaudited (see migration 6). */
const NOT_LONE = 'AND NOT EXISTS (SELECT 1 FROM lone_results l WHERE l.job_id = r.job_id AND l.idx = r.idx AND l.node = r.payee)';

/** Jobs debited by one settlement batch, at most (~6,000 gas each: ~6 M gas, well inside a 30 M block). */
export const DEFAULT_MAX_BATCH_JOBS = 1000;

/** Arbitrary, fixed: the advisory lock key that serializes faucet claims across gateways. */
const FAUCET_LOCK_KEY = 0x10de_fa0c;

export class SqlLedgerStore implements LedgerStore {
  constructor(private readonly db: () => SqlExecutor) {}

  async createBatch(
    maxReceipts: number,
    now: number,
    plan: (receipts: Receipt[]) => BatchPlan,
    maxJobs = DEFAULT_MAX_BATCH_JOBS,
  ): Promise<SettlementBatch | null> {
    return this.db().transaction(async (tx) => {
      // A receipt whose result still rests on its node's word alone (a lone_results row) waits
      // until the node passes a check: if it is proven wrong first, the receipt is withdrawn.
      const claimed = await tx.query<{ receipt_seq: unknown; job_id: string; idx: number; payee: string; amount: string }>(
        `SELECT receipt_seq, job_id, idx, payee, amount::text AS amount FROM task_receipts r
         WHERE batch_id IS NULL AND held IS NULL ${NOT_LONE}
         ORDER BY receipt_seq LIMIT $1 FOR UPDATE OF r SKIP LOCKED`,
        [Math.max(1, Math.floor(maxReceipts))],
      );
      // The oldest receipts up to the first of a job beyond maxJobs (the rest stay for the next batch).
      const jobs = new Set<string>();
      const cut = claimed.findIndex((r) => !jobs.has(r.job_id) && jobs.add(r.job_id).size > maxJobs);
      if (cut >= 0) claimed.length = cut;
      if (claimed.length === 0) return null;
      const receipts = claimed.map((r) => ({ jobId: r.job_id, index: r.idx, payee: r.payee, amount: BigInt(r.amount) }));
      const p = plan(receipts);
      const total = receipts.reduce((s, r) => s + r.amount, 0n);
      const [row] = await tx.query<BatchRow>(
        `INSERT INTO settlement_batches (status, root, tree, debits, receipts, total, fee, created_at)
         VALUES ('prepared', $1, $2, $3, $4, $5, $6, $7) RETURNING ${BATCH_COLUMNS}`,
        [
          p.root,
          JSON.stringify(p.tree),
          JSON.stringify(p.debits.map(([job, amount]) => [job, amount.toString()])),
          receipts.length,
          total.toString(),
          p.fee.toString(),
          now,
        ],
      );
      const batch = toBatch(row!);
      await tx.query('UPDATE task_receipts SET batch_id = $1 WHERE receipt_seq = ANY($2::int8[])', [batch.id, claimed.map((r) => String(r.receipt_seq))]);
      if (p.payouts.length > 0) {
        await tx.query(
          `INSERT INTO settlement_payouts (batch_id, provider, amount, gross, tasks)
           SELECT $1, * FROM unnest($2::text[], $3::numeric[], $4::numeric[], $5::int[])`,
          [
            batch.id,
            p.payouts.map((x) => x.provider),
            p.payouts.map((x) => x.amount.toString()),
            p.payouts.map((x) => x.gross.toString()),
            p.payouts.map((x) => x.tasks),
          ],
        );
      }
      return batch;
    });
  }

  async listBatches(status?: SettlementBatch['status']): Promise<SettlementBatch[]> {
    const rows = await this.db().query<BatchRow>(
      `SELECT ${BATCH_COLUMNS} FROM settlement_batches ${status ? 'WHERE status = $1' : ''} ORDER BY id`,
      status ? [status] : [],
    );
    return rows.map(toBatch);
  }

  async updateBatch(
    id: number,
    patch: { status: SettlementBatch['status']; txHash?: string | null; chainBatchId?: bigint | null; finalAt?: number | null; error?: string | null },
  ): Promise<void> {
    await this.db().query(
      `UPDATE settlement_batches SET status = $2,
         tx_hash = COALESCE($3, tx_hash), chain_batch_id = COALESCE($4::numeric, chain_batch_id),
         final_at = COALESCE($5, final_at), error = $6
       WHERE id = $1`,
      [id, patch.status, patch.txHash ?? null, patch.chainBatchId?.toString() ?? null, patch.finalAt ?? null, patch.error ?? null],
    );
  }

  async payoutsOf(provider: string, range: { from?: number; to?: number } = {}): Promise<Array<{ payout: Payout; batch: SettlementBatch }>> {
    const rows = await this.db().query<BatchRow & { p_amount: string; p_gross: string; p_tasks: number; provider: string }>(
      `SELECT ${batchColumns('b.')},
              p.provider, p.amount::text AS p_amount, p.gross::text AS p_gross, p.tasks AS p_tasks
       FROM settlement_payouts p JOIN settlement_batches b ON b.id = p.batch_id
       WHERE p.provider = $1 AND ($2::bigint IS NULL OR b.created_at >= $2) AND ($3::bigint IS NULL OR b.created_at < $3)
       ORDER BY b.id DESC`,
      [provider.toLowerCase(), range.from ?? null, range.to ?? null],
    );
    return rows.map((r) => ({
      payout: { batchId: num(r.id), provider: r.provider, amount: BigInt(r.p_amount), gross: BigInt(r.p_gross), tasks: r.p_tasks },
      batch: toBatch(r),
    }));
  }

  async batchesToSweep(chainNow: number, limit: number): Promise<Array<{ id: number; chainBatchId: bigint }>> {
    const rows = await this.db().query<{ id: unknown; chain_batch_id: string }>(
      `SELECT id, chain_batch_id::text AS chain_batch_id FROM settlement_batches
       WHERE status = 'posted' AND NOT fee_swept AND fee > 0 AND chain_batch_id IS NOT NULL AND final_at <= $1
       ORDER BY id LIMIT $2`,
      [chainNow, Math.max(1, Math.floor(limit))],
    );
    return rows.map((r) => ({ id: num(r.id), chainBatchId: BigInt(r.chain_batch_id) }));
  }

  async markFeesSwept(ids: number[]): Promise<void> {
    if (ids.length === 0) return;
    await this.db().query('UPDATE settlement_batches SET fee_swept = true WHERE id = ANY($1::int8[])', [ids.map(String)]);
  }

  async unsettled(): Promise<{ receipts: number; amount: bigint }> {
    const [row] = await this.db().query<{ n: unknown; total: string | null }>(
      'SELECT count(*) AS n, sum(amount)::text AS total FROM task_receipts WHERE batch_id IS NULL AND held IS NULL',
    );
    return { receipts: num(row?.n ?? 0), amount: BigInt(row?.total ?? '0') };
  }

  async setAside(batchId: number, heldJobs: string[], reason: string, error: string): Promise<{ held: number; released: number }> {
    return this.db().transaction(async (tx) => {
      const [batch] = await tx.query<{ status: string }>('SELECT status FROM settlement_batches WHERE id = $1 FOR UPDATE', [batchId]);
      if (!batch || batch.status === 'posted') return { held: 0, released: 0 };
      await tx.query("UPDATE settlement_batches SET status = 'failed', error = $2 WHERE id = $1", [batchId, error]);
      await tx.query('DELETE FROM settlement_payouts WHERE batch_id = $1', [batchId]);
      const held = await tx.query<{ n: unknown }>(
        'UPDATE task_receipts SET batch_id = NULL, held = $3 WHERE batch_id = $1 AND job_id = ANY($2::text[]) RETURNING 1 AS n',
        [batchId, heldJobs, reason],
      );
      const released = await tx.query<{ n: unknown }>('UPDATE task_receipts SET batch_id = NULL WHERE batch_id = $1 RETURNING 1 AS n', [batchId]);
      return { held: held.length, released: released.length };
    });
  }

  async setJobEscrow(jobId: string, escrow: EscrowState): Promise<void> {
    await this.db().query('UPDATE jobs SET escrow = $2 WHERE id = $1', [jobId, escrow]);
  }

  async jobsToClose(limit: number): Promise<string[]> {
    const rows = await this.db().query<{ id: string }>(
      `SELECT j.id FROM jobs j
       WHERE j.escrow = 'open' AND j.status IN ('completed', 'failed', 'cancelled')
         AND NOT EXISTS (
           SELECT 1 FROM task_receipts r LEFT JOIN settlement_batches b ON b.id = r.batch_id
           WHERE r.job_id = j.id AND r.held IS NULL AND (r.batch_id IS NULL OR b.status <> 'posted'))
       ORDER BY j.finished_at, j.id LIMIT $1`,
      [limit],
    );
    return rows.map((r) => r.id);
  }

  async insertChainTx(tx: ChainTx, fence?: SenderFence): Promise<'recorded' | 'taken'> {
    return this.recordChainTx(tx, fence).catch((err: unknown) => {
      // Two senders raced past the check: the database's one-live index (migration 8) kept one.
      if (sqlStateOf(err) === '23505') return 'taken' as const;
      throw err;
    });
  }

  private recordChainTx(tx: ChainTx, fence: SenderFence | undefined): Promise<'recorded' | 'taken'> {
    return this.db().transaction(async (t) => {
      if (fence && !(await fence(t))) throw new NotSenderError();
      // A live transaction for the same purpose already (chain_txs_one_live): the caller awaits that one.
      const taken = await t.query(`SELECT 1 FROM chain_txs WHERE kind = $1 AND ref = $2 AND status <> 'reverted' AND hash <> $3`, [tx.kind, tx.ref, tx.hash]);
      if (taken.length > 0) return 'taken';
      await t.query(
        `INSERT INTO chain_txs (hash, kind, ref, sender, nonce, raw, status, created_at, block)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (hash) DO NOTHING`,
        [tx.hash, tx.kind, tx.ref, tx.sender.toLowerCase(), tx.nonce, tx.raw, tx.status, tx.createdAt, tx.block],
      );
      return 'recorded';
    });
  }

  async updateChainTx(hash: string, patch: { status: ChainTx['status']; block: number | null }): Promise<void> {
    await this.db().query('UPDATE chain_txs SET status = $2, block = $3 WHERE hash = $1', [hash, patch.status, patch.block]);
  }

  async pendingChainTxs(sender: string): Promise<ChainTx[]> {
    const rows = await this.db().query<ChainTxRow>(`SELECT * FROM chain_txs WHERE sender = $1 AND status = 'sent' ORDER BY nonce`, [sender.toLowerCase()]);
    return rows.map(toChainTx);
  }

  async chainTxsOf(kind: string, ref: string): Promise<ChainTx[]> {
    const rows = await this.db().query<ChainTxRow>('SELECT * FROM chain_txs WHERE kind = $1 AND ref = $2 ORDER BY created_at', [kind, ref]);
    return rows.map(toChainTx);
  }

  async claimFaucetGrant(grant: FaucetGrant, limits: FaucetLimits): Promise<FaucetClaim> {
    return this.db().transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [FAUCET_LOCK_KEY]);
      const since = grant.now - limits.windowMs;
      // The newest `max` grants in the window: with `max` of them, the last one listed is the one
      // whose leaving the window frees a grant.
      const counted = async (limit: 'address' | 'client' | 'total', max: number, where: string, args: unknown[]) => {
        const rows = await tx.query<{ created_at: unknown }>(
          `SELECT created_at FROM faucet_grants WHERE created_at > $1 ${where} ORDER BY created_at DESC LIMIT $2`,
          [since, Math.max(1, Math.floor(max)), ...args],
        );
        return rows.length >= max ? { granted: false as const, limit, count: rows.length, retryAt: num(rows[max - 1]!.created_at) + limits.windowMs } : null;
      };
      const refused =
        (await counted('address', limits.perAddress, 'AND address = $3', [grant.address])) ??
        (await counted('client', limits.perClient, 'AND client = $3', [grant.client])) ??
        (await counted('total', limits.total, '', []));
      if (refused) return refused;
      const [sum] = await tx.query<{ grants: unknown; lode: string }>('SELECT count(*) AS grants, coalesce(sum(lode), 0)::text AS lode FROM faucet_grants');
      if (BigInt(sum!.lode) + grant.lode > limits.maxTotalLode) return { granted: false, limit: 'lifetime', count: num(sum!.grants), retryAt: null };
      const [row] = await tx.query<{ id: unknown }>(
        'INSERT INTO faucet_grants (address, client, lode, eth, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id',
        [grant.address, grant.client, grant.lode.toString(), grant.eth.toString(), grant.now],
      );
      return { granted: true, id: num(row!.id) };
    });
  }

  async completeFaucetGrant(id: number, txHashes: string[]): Promise<void> {
    await this.db().query('UPDATE faucet_grants SET tx_hashes = $2 WHERE id = $1', [id, JSON.stringify(txHashes)]);
  }

  async releaseFaucetGrant(id: number): Promise<void> {
    await this.db().query('DELETE FROM faucet_grants WHERE id = $1 AND tx_hashes IS NULL', [id]);
  }

  async faucetTotals(): Promise<{ grants: number; lode: bigint }> {
    const [row] = await this.db().query<{ grants: unknown; lode: string }>(
      'SELECT count(*) AS grants, coalesce(sum(lode), 0)::text AS lode FROM faucet_grants',
    );
    return { grants: num(row!.grants), lode: BigInt(row!.lode) };
  }

  async getMeta<T>(key: string): Promise<T | null> {
    const rows = await this.db().query<{ value: T }>('SELECT value FROM meta WHERE key = $1', [key]);
    return rows.length ? rows[0]!.value : null;
  }

  async setMeta(key: string, value: unknown): Promise<void> {
    await this.db().query('INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [key, JSON.stringify(value)]);
  }
}

interface BatchRow {
  id: unknown;
  status: SettlementBatch['status'];
  root: string;
  tree: unknown;
  debits: Array<[string, string]>;
  receipts: number;
  total: string;
  fee: string;
  created_at: unknown;
  tx_hash: string | null;
  chain_batch_id: string | null;
  final_at: unknown;
  error: string | null;
  epoch: unknown;
}

function toBatch(r: BatchRow): SettlementBatch {
  return {
    id: num(r.id),
    status: r.status,
    root: r.root,
    tree: r.tree,
    debits: r.debits.map(([job, amount]) => [job, BigInt(amount)]),
    receipts: r.receipts,
    total: BigInt(r.total),
    fee: BigInt(r.fee),
    createdAt: num(r.created_at),
    txHash: r.tx_hash,
    chainBatchId: r.chain_batch_id === null ? null : BigInt(r.chain_batch_id),
    finalAt: numOrNull(r.final_at),
    error: r.error,
    epoch: numOrNull(r.epoch),
  };
}

interface ChainTxRow {
  hash: string;
  kind: string;
  ref: string;
  sender: string;
  nonce: unknown;
  raw: string;
  status: ChainTx['status'];
  created_at: unknown;
  block: unknown;
}

function toChainTx(r: ChainTxRow): ChainTx {
  return {
    hash: r.hash,
    kind: r.kind,
    ref: r.ref,
    sender: r.sender,
    nonce: num(r.nonce),
    raw: r.raw,
    status: r.status,
    createdAt: num(r.created_at),
    block: numOrNull(r.block),
  };
}

/**
 * Records an epoch's availability rewards as a 'prepared' batch (posted by settlement with
 * `postRewardBatch`), inside the caller's transaction; null when the epoch has one already (one
 * batch per epoch, ever: the unique index on settlement_batches.epoch).
 */
export async function insertRewardBatch(
  tx: SqlRunner,
  epoch: number,
  plan: Pick<BatchPlan, 'root' | 'tree' | 'payouts'>,
  now: number,
): Promise<SettlementBatch | null> {
  const total = plan.payouts.reduce((sum, p) => sum + p.amount, 0n);
  const [row] = await tx.query<BatchRow>(
    `INSERT INTO settlement_batches (status, root, tree, debits, receipts, total, fee, created_at, epoch)
     VALUES ('prepared', $1, $2, '[]', 0, $3, 0, $4, $5) ON CONFLICT (epoch) WHERE epoch IS NOT NULL DO NOTHING
     RETURNING ${BATCH_COLUMNS}`,
    [plan.root, JSON.stringify(plan.tree), total.toString(), now, epoch],
  );
  if (!row) return null;
  const batch = toBatch(row);
  await tx.query(
    `INSERT INTO settlement_payouts (batch_id, provider, amount, gross, tasks)
     SELECT $1, p, a, a, 0 FROM unnest($2::text[], $3::numeric[]) AS u(p, a)`,
    [batch.id, plan.payouts.map((x) => x.provider), plan.payouts.map((x) => x.amount.toString())],
  );
  return batch;
}
