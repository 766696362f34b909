/**
 * Settlement that cannot be jammed, against a real embedded chain and a real (PGlite) store: a
 * batch whose post would revert because some jobs' escrow refuses its debit is set aside — those
 * jobs' receipts are held with the contract's reason, every other receipt settles in the next
 * batch, in the same round.
 */
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { createPublicClient, custom, type PublicClient } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { escrowJobId } from '@lode/protocol';
import { createLedgerFixture, type LedgerFixture } from '../../../ledger/test/support/ledger.js';
import { openStore, type SqlStore } from '../store/index.js';
import { makeJob, makeResult, paid } from '../store/store.suite.js';
import { Settlement } from './settlement.js';
import { TxOutbox } from './outbox.js';

let f: LedgerFixture;
let store: SqlStore;

beforeAll(async () => {
  f = await createLedgerFixture({ deploy: 'core' });
  store = await openStore();
  await store.init();
});
afterAll(async () => {
  await store?.close();
  await f?.close();
});

/** A job row with a real job id (32 hex digits: escrow keys are made from it). */
const job = () => makeJob({ id: randomBytes(16).toString('hex'), escrow: 'open' });

function settlement(client: PublicClient = f.pub): Settlement {
  const log = pino({ level: 'silent' });
  const outbox = new TxOutbox({ store: store.ledger, client, account: f.accounts.gateway as never, chainId: f.chain.chainId, log, now: Date.now });
  return new Settlement({
    store,
    client,
    escrow: f.addresses.escrow,
    outbox,
    log,
    now: Date.now,
    maxBatchReceipts: 100,
    params: async () => ({ feeBps: 100 }),
  });
}

describe('a settlement batch some jobs refuse', () => {
  it('holds the receipts of the jobs whose escrow refuses (closed, short), and settles the rest in the same round', async () => {
    const [closed, short, fine] = [job(), job(), job()];
    const expiresAt = (await f.now()) + 3600n;
    for (const [j, amount] of [
      [closed, 100n],
      [short, 5n],
      [fine, 100n],
    ] as const) {
      await store.insertJob(j);
      await f.tx(f.escrow('alice').write.deposit([escrowJobId(j.id), amount, expiresAt]));
    }
    const p1 = f.addr('p1').toLowerCase();
    for (const j of [closed, short, fine]) await store.insertTaskResults([makeResult(j.id, 0, { receipts: [paid(p1, 7n)] })]);
    // The escrow of `closed` is closed meanwhile (the settler may, at any time): its debit would revert.
    await f.tx(f.escrow('gateway').write.closeJob([escrowJobId(closed.id)]));

    await settlement().runOnce();

    const posted = await store.ledger.listBatches('posted');
    expect(posted.map((b) => b.debits)).toEqual([[[fine.id, 7n]]]);
    const [failed] = await store.ledger.listBatches('failed');
    expect(failed!.error).toMatch(new RegExp(`${closed.id}: JobClosed`));
    expect(failed!.error).toMatch(new RegExp(`${short.id}: InsufficientEscrow`));
    expect(await store.ledger.unsettled()).toEqual({ receipts: 0, amount: 0n }); // nothing left waiting, nothing batched twice
    const [, balance] = await f.escrow('alice').read.escrowOf([escrowJobId(fine.id)]);
    expect(balance).toBe(93n);
    const [, shortBalance] = await f.escrow('alice').read.escrowOf([escrowJobId(short.id)]);
    expect(shortBalance).toBe(5n); // never debited beyond its escrow
  });

  it('a chain that does not answer fails the round and keeps the batch for the next one', async () => {
    const one = job();
    await store.insertJob(one);
    await f.tx(f.escrow('alice').write.deposit([escrowJobId(one.id), 100n, (await f.now()) + 3600n]));
    await store.insertTaskResults([makeResult(one.id, 0, { receipts: [paid(f.addr('p2').toLowerCase(), 3n)] })]);
    let down = true;
    const flaky = createPublicClient({
      transport: custom(
        {
          request: async (args: { method: string; params?: unknown }) => {
            if (down) throw new Error('connection refused (test)');
            return f.chain.request(args as never);
          },
        },
        { retryCount: 0 },
      ),
    }) as PublicClient;
    const s = settlement(flaky);
    await expect(s.runOnce()).rejects.toThrow(/connection refused/);
    expect((await store.ledger.listBatches('prepared')).length).toBe(1);
    down = false;
    await s.runOnce();
    expect((await store.ledger.listBatches('prepared')).length).toBe(0);
    expect((await store.ledger.listBatches('posted')).at(-1)!.debits).toEqual([[one.id, 3n]]);
  });
});
