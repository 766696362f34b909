import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ESCROW_DEFAULT_MARGIN_MS, ESCROW_MIN_MARGIN_MS, escrowCoversDeadline, escrowExpiry } from './ledger.js';

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
