/**
 * Availability's side of the store over SQL (the same statements on PGlite and a server); see
 * `AvailabilityStore` in types.ts for the guarantees. Passes are written by every gateway that
 * challenges a device, so an epoch is scored from all of them, and a restart loses none.
 */
import type { AvailabilityEpoch, AvailabilityRecord, AvailabilityStore, ChallengePass } from './availabilityTypes.js';
import type { BatchPlan, SettlementBatch } from './types.js';
import { insertRewardBatch } from './sqlLedgerStore.js';
import { num, numOrNull, type SqlExecutor } from './sql.js';

const EPOCH_COLUMNS = 'epoch, starts_at, length_ms, rate, pool::text AS pool, settled_at, batch_id';

interface EpochRow {
  epoch: unknown;
  starts_at: unknown;
  length_ms: unknown;
  rate: number;
  pool: string;
  settled_at: unknown;
  batch_id: unknown;
}

export class SqlAvailabilityStore implements AvailabilityStore {
  constructor(private readonly db: () => SqlExecutor) {}

  async openEpoch(e: Omit<AvailabilityEpoch, 'settledAt' | 'batchId'>): Promise<AvailabilityEpoch> {
    await this.db().query(
      `INSERT INTO availability_epochs (epoch, starts_at, length_ms, rate, pool) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (epoch) DO NOTHING`,
      [e.epoch, e.startsAt, e.lengthMs, e.rate, e.pool.toString()],
    );
    const [row] = await this.db().query<EpochRow>(`SELECT ${EPOCH_COLUMNS} FROM availability_epochs WHERE epoch = $1`, [e.epoch]);
    return toEpoch(row!);
  }

  async recordPasses(passes: readonly ChallengePass[]): Promise<number> {
    if (passes.length === 0) return 0;
    const rows = await this.db().query<{ k: number }>(
      `INSERT INTO availability_passes (epoch, node, k, proven, declared, capacity, at)
       SELECT u.* FROM unnest($1::int8[], $2::text[], $3::int[], $4::float8[], $5::float8[], $6::int[], $7::int8[])
         AS u(epoch, node, k, proven, declared, capacity, at)
       JOIN availability_epochs e ON e.epoch = u.epoch AND e.settled_at IS NULL
       ON CONFLICT (epoch, node, k) DO NOTHING
       RETURNING k`,
      [
        passes.map((p) => p.epoch),
        passes.map((p) => p.node.toLowerCase()),
        passes.map((p) => p.k),
        passes.map((p) => p.proven),
        passes.map((p) => p.declared),
        passes.map((p) => p.capacity),
        passes.map((p) => p.at),
      ],
    );
    return rows.length;
  }

  async passesOf(epoch: number): Promise<ChallengePass[]> {
    const rows = await this.db().query<{ epoch: unknown; node: string; k: number; proven: number; declared: number; capacity: number; at: unknown }>(
      'SELECT epoch, node, k, proven, declared, capacity, at FROM availability_passes WHERE epoch = $1 ORDER BY node, k',
      [epoch],
    );
    return rows.map((r) => ({ ...r, epoch: num(r.epoch), proven: Number(r.proven), declared: Number(r.declared), at: num(r.at) }));
  }

  async unsettledEpochs(endedBy: number, limit: number): Promise<AvailabilityEpoch[]> {
    const rows = await this.db().query<EpochRow>(
      `SELECT ${EPOCH_COLUMNS} FROM availability_epochs WHERE settled_at IS NULL AND starts_at + length_ms <= $1 ORDER BY epoch LIMIT $2`,
      [endedBy, Math.max(1, Math.floor(limit))],
    );
    return rows.map(toEpoch);
  }

  async settleEpoch(
    epoch: number,
    rewards: Pick<BatchPlan, 'root' | 'tree' | 'payouts'> | null,
    records: ReadonlyArray<{ node: string; passed: number }>,
    now: number,
  ): Promise<{ batch: SettlementBatch | null } | null> {
    return this.db().transaction(async (tx) => {
      const [row] = await tx.query<{ rate: number }>('UPDATE availability_epochs SET settled_at = $2 WHERE epoch = $1 AND settled_at IS NULL RETURNING rate', [
        epoch,
        now,
      ]);
      if (!row) return null;
      const batch = rewards && rewards.payouts.length > 0 ? await insertRewardBatch(tx, epoch, rewards, now) : null;
      if (batch) await tx.query('UPDATE availability_epochs SET batch_id = $2 WHERE epoch = $1', [epoch, batch.id]);
      if (records.length > 0) {
        await tx.query(
          `INSERT INTO availability_records AS r (node, epochs, passed, challenges)
           SELECT node, 1, LEAST(passed, $3), $3 FROM unnest($1::text[], $2::int[]) AS u(node, passed)
           ON CONFLICT (node) DO UPDATE SET epochs = r.epochs + 1, passed = r.passed + excluded.passed, challenges = r.challenges + excluded.challenges`,
          [records.map((x) => x.node.toLowerCase()), records.map((x) => x.passed), row.rate],
        );
      }
      await tx.query('DELETE FROM availability_passes WHERE epoch = $1', [epoch]);
      return { batch };
    });
  }

  async recordOf(node: string): Promise<AvailabilityRecord | null> {
    const [row] = await this.db().query<AvailabilityRecord>('SELECT epochs, passed, challenges FROM availability_records WHERE node = $1', [
      node.toLowerCase(),
    ]);
    return row ?? null;
  }
}

function toEpoch(r: EpochRow): AvailabilityEpoch {
  return {
    epoch: num(r.epoch),
    startsAt: num(r.starts_at),
    lengthMs: num(r.length_ms),
    rate: r.rate,
    pool: BigInt(r.pool),
    settledAt: numOrNull(r.settled_at),
    batchId: numOrNull(r.batch_id),
  };
}
