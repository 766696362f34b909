import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PayoutView } from './api.js';
import { claimablePayouts, ESCROW_DEFAULT_MARGIN_MS, ESCROW_MIN_MARGIN_MS, escrowCoversDeadline, escrowExpiry } from './ledger.js';

describe('escrow expiry', () => {
  it('a requester’s default deposit always covers what the gateway asks, for any deadline', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 46 }), (deadline) => {
        expect(escrowCoversDeadline(escrowExpiry(deadline), deadline)).toBe(true);
      }),
    );
  });

  it('refuses an escrow that ends inside the settlement margin, to the second', () => {
    const deadline = Date.UTC(2027, 0, 1);
    expect(escrowExpiry(deadline)).toBe(BigInt((deadline + ESCROW_DEFAULT_MARGIN_MS) / 1000));
    expect(escrowCoversDeadline(BigInt((deadline + ESCROW_MIN_MARGIN_MS) / 1000), deadline)).toBe(true);
    expect(escrowCoversDeadline(BigInt((deadline + ESCROW_MIN_MARGIN_MS) / 1000 - 1), deadline)).toBe(false);
  });
});

describe('claimable payouts', () => {
  const now = Date.UTC(2027, 0, 1);
  const payout = (over: Partial<PayoutView>): PayoutView => ({
    batch: 1,
    chainBatchId: '7',
    status: 'posted',
    tasks: 3,
    gross: '100',
    fee: '0',
    amount: '100',
    createdAt: now - 60_000,
    claimableAt: now,
    claimed: false,
    proof: [],
    txHash: '0xabc',
    ...over,
  });

  it('takes a posted, unclaimed, non-zero payout from the end of its challenge window on', () => {
    expect(claimablePayouts([payout({})], now)).toHaveLength(1);
  });

  it('leaves every payout JobEscrow would refuse', () => {
    const refused = [
      payout({ status: 'prepared', chainBatchId: null, claimableAt: null }),
      payout({ status: 'failed' }),
      payout({ claimed: true }),
      payout({ claimableAt: now + 1 }),
      payout({ amount: '0' }),
      payout({ chainBatchId: null }),
    ];
    expect(claimablePayouts(refused, now)).toEqual([]);
  });
});
