import fc from 'fast-check';
import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import { describe, expect, it } from 'vitest';
import { LEAF_ENCODING, planBatch, proofFor } from './plan.js';

const address = fc.integer({ min: 1, max: 40 }).map((n) => `0x${n.toString(16).padStart(40, '0')}`);
const receipt = fc.record({
  jobId: fc.constantFrom('a'.repeat(32), 'b'.repeat(32), 'c'.repeat(32)),
  index: fc.nat(),
  payee: address,
  amount: fc.bigInt({ min: 1n, max: 10n ** 24n }),
});

describe('planBatch', () => {
  it('debits what the receipts sum to, takes the contract’s fee, and pays out exactly the rest (property)', () => {
    fc.assert(
      fc.property(fc.array(receipt, { minLength: 1, maxLength: 60 }), fc.integer({ min: 0, max: 2000 }), (receipts, feeBps) => {
        const plan = planBatch(receipts, feeBps);
        const total = receipts.reduce((s, r) => s + r.amount, 0n);
        expect(plan.debits.reduce((s, [, a]) => s + a, 0n)).toBe(total);
        expect(plan.fee).toBe((total * BigInt(feeBps)) / 10_000n); // JobEscrow's formula
        expect(plan.payouts.reduce((s, p) => s + p.amount, 0n)).toBe(total - plan.fee);
        for (const p of plan.payouts) {
          const gross = receipts.filter((r) => r.payee === p.provider).reduce((s, r) => s + r.amount, 0n);
          expect(p.gross).toBe(gross);
          const exact = (gross * BigInt(10_000 - feeBps)) / 10_000n; // rounded down
          expect(p.amount - exact >= 0n && p.amount - exact <= 1n).toBe(true);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('gives every paid provider a leaf whose proof verifies against the root', () => {
    const receipts = [1, 2, 3, 2, 5].map((n, i) => ({ jobId: 'a'.repeat(32), index: i, payee: `0x${String(n).padStart(40, '0')}`, amount: 1000n * BigInt(n) }));
    const plan = planBatch(receipts, 250);
    for (const p of plan.payouts) {
      const leaf = proofFor(plan.tree, p.provider.toUpperCase().replace('0X', '0x'))!;
      expect(leaf.amount).toBe(p.amount);
      expect(StandardMerkleTree.verify(plan.root, [...LEAF_ENCODING], [p.provider, p.amount.toString()], leaf.proof)).toBe(true);
    }
    expect(proofFor(plan.tree, `0x${'9'.repeat(40)}`)).toBeUndefined();
  });

  it('builds the very tree and dump StandardMerkleTree.of builds, so old and new batches prove alike (property)', () => {
    const payee = fc.uint8Array({ minLength: 20, maxLength: 20 }).map((b) => `0x${Buffer.from(b).toString('hex')}`);
    const wide = fc.record({ jobId: fc.constant('a'.repeat(32)), index: fc.nat(), payee, amount: fc.bigInt({ min: 1n, max: 2n ** 200n }) });
    fc.assert(
      fc.property(fc.array(wide, { minLength: 1, maxLength: 40 }), fc.integer({ min: 0, max: 10_000 }), (receipts, feeBps) => {
        const plan = planBatch(receipts, feeBps);
        const leaves = plan.payouts.filter((p) => p.amount > 0n).map((p) => [p.provider, p.amount.toString()]);
        const reference = StandardMerkleTree.of(leaves.length > 0 ? leaves : [[`0x${'0'.repeat(40)}`, '0']], [...LEAF_ENCODING]);
        expect(plan.root).toBe(reference.root);
        expect(plan.tree).toEqual(reference.dump());
        // A tree the library dumped (an older batch) proves through proofFor too.
        for (const [provider, amount] of leaves) {
          const leaf = proofFor(reference.dump(), provider!)!;
          expect(leaf.amount).toBe(BigInt(amount!));
          expect(StandardMerkleTree.verify(reference.root, [...LEAF_ENCODING], [provider, amount], leaf.proof)).toBe(true);
        }
      }),
      { numRuns: 100 },
    );
  });

  it('proves nothing from a corrupt stored tree', () => {
    const receipts = [1, 2, 3].map((n, i) => ({ jobId: 'a'.repeat(32), index: i, payee: `0x${String(n).padStart(40, '7')}`, amount: 1000n * BigInt(n) }));
    const tree = structuredClone(planBatch(receipts, 0).tree) as { values: Array<{ value: [string, string] }> };
    tree.values[0]!.value[1] = '999999'; // an amount changed in the row
    expect(() => proofFor(tree, tree.values[0]!.value[0])).toThrow(/does not prove/);
  });
});
