/**
 * The availability part of the Store compliance suite (store.suite.ts runs it on every
 * implementation): epochs' terms set once, passes kept once and only while their epoch is open,
 * an epoch scored once with its reward batch and device records, in one transaction.
 */
import { describe, expect, it } from 'vitest';
import { planRewards } from '../settlement/plan.js';
import type { ChallengePass } from './availabilityTypes.js';
import type { Store } from './types.js';

const addr = (n: number) => `0x${n.toString(16).padStart(40, '0')}`;

export function describeAvailabilityStore(storeOf: () => Store): void {
  describe('availability: epochs, passes, records', () => {
    /** A fresh epoch number per test (the suite's store is shared). */
    let nextEpoch = 1_000 + Math.floor(Math.random() * 1_000_000) * 10;
    const open = (rate = 3, pool = 1_000n) => {
      const epoch = nextEpoch++;
      return storeOf().availability.openEpoch({ epoch, startsAt: epoch * 60_000, lengthMs: 60_000, rate, pool });
    };
    const pass = (epoch: number, node: string, k: number, over: Partial<ChallengePass> = {}): ChallengePass => ({
      epoch,
      node,
      k,
      proven: 900.5,
      declared: 1000,
      capacity: 2,
      at: epoch * 60_000 + 10_000 * (k + 1),
      ...over,
    });

    it("keeps the first gateway's terms for an epoch", async () => {
      const first = await open(3, 1_000n);
      const again = await storeOf().availability.openEpoch({ ...first, rate: 9, pool: 5n, lengthMs: 1 });
      expect(again).toEqual({ ...first, settledAt: null, batchId: null });
      expect(first.pool).toBe(1_000n);
    });

    it('keeps a pass once, and none for an epoch never opened', async () => {
      const { epoch } = await open();
      const a = addr(0xa1);
      expect(await storeOf().availability.recordPasses([pass(epoch, a, 0), pass(epoch, a, 1), pass(epoch + 1_000_000_000, a, 0)])).toBe(2);
      expect(await storeOf().availability.recordPasses([pass(epoch, a, 1, { proven: 1 }), pass(epoch, a, 2)])).toBe(1);
      const back = await storeOf().availability.passesOf(epoch);
      expect(back).toEqual([pass(epoch, a, 0), pass(epoch, a, 1), pass(epoch, a, 2)]);
    });

    it('scores an epoch once: its reward batch, each device record, and no passes after', async () => {
      const s = storeOf().availability;
      const { epoch } = await open(3);
      const [a, b] = [addr(0xb1), addr(0xb2)];
      await s.recordPasses([pass(epoch, a, 0), pass(epoch, a, 1)]);
      const plan = planRewards([{ node: a, amount: 700n }]);
      const scored = await s.settleEpoch(
        epoch,
        plan,
        [
          { node: a, passed: 2 },
          { node: b, passed: 0 },
        ],
        123,
      );
      expect(scored?.batch).toMatchObject({ epoch, status: 'prepared', total: 700n, fee: 0n });
      expect(await s.settleEpoch(epoch, plan, [{ node: a, passed: 2 }], 124)).toBeNull(); // another gateway, later
      expect(await s.unsettledEpochs(Number.MAX_SAFE_INTEGER, 1_000)).not.toContainEqual(expect.objectContaining({ epoch }));
      expect(await s.passesOf(epoch)).toEqual([]);
      expect(await s.recordPasses([pass(epoch, a, 2)])).toBe(0); // too late: it is scored
      expect(await s.recordOf(a)).toEqual({ epochs: 1, passed: 2, challenges: 3 });
      expect(await s.recordOf(b)).toEqual({ epochs: 1, passed: 0, challenges: 3 });
      const [payout] = await storeOf().ledger.payoutsOf(a);
      expect(payout).toMatchObject({ payout: { amount: 700n, tasks: 0 }, batch: { id: scored!.batch!.id } });

      const next = await open(3);
      await s.recordPasses([pass(next.epoch, a, 0), pass(next.epoch, a, 1), pass(next.epoch, a, 2)]);
      expect(await s.settleEpoch(next.epoch, null, [{ node: a, passed: 5 }], 125)).toEqual({ batch: null }); // passed is capped at the rate
      expect(await s.recordOf(a)).toEqual({ epochs: 2, passed: 5, challenges: 6 });
    });

    it('lists the ended epochs not scored yet, oldest first', async () => {
      const s = storeOf().availability;
      const [e1, e2] = [await open(), await open()];
      const ended = (await s.unsettledEpochs(e2.startsAt + e2.lengthMs, 1_000)).map((e) => e.epoch);
      expect(ended).toEqual(expect.arrayContaining([e1.epoch, e2.epoch]));
      expect(ended.indexOf(e1.epoch)).toBeLessThan(ended.indexOf(e2.epoch));
      expect((await s.unsettledEpochs(e2.startsAt + e2.lengthMs - 1, 1_000)).map((e) => e.epoch)).not.toContain(e2.epoch);
      await s.settleEpoch(e1.epoch, null, [], 1);
      await s.settleEpoch(e2.epoch, null, [], 1);
    });
  });
}
