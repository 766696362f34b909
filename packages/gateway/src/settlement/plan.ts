/**
 * How a settlement batch pays: receipts → per-job debits, the protocol fee, per-provider payouts
 * and the Merkle tree providers claim from.
 *
 * Guarantees (checked by plan.test.ts, property-based):
 * - Σ debits = Σ receipt amounts; fee = ⌊Σ debits × feeBps / 10,000⌋, exactly as JobEscrow
 *   computes it; Σ payouts = Σ debits − fee, to the unit, so the last claim never falls short.
 * - Each provider gets its gross minus its share of the fee, rounded down, and the few units of
 *   rounding left over go one each to the providers with the largest remainders (ties: lower
 *   address first) — deterministic, never more than 1 unit from the exact share.
 * - The tree is @openzeppelin/merkle-tree's StandardMerkleTree over (address, uint256), which
 *   JobEscrow verifies with OpenZeppelin's MerkleProof.
 */
import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import type { BatchPlan, Receipt } from '../store/types.js';

export const LEAF_ENCODING = ['address', 'uint256'] as const;

export function planBatch(receipts: Receipt[], feeBps: number): BatchPlan {
  const byJob = new Map<string, bigint>();
  const byPayee = new Map<string, { gross: bigint; tasks: number }>();
  for (const r of receipts) {
    byJob.set(r.jobId, (byJob.get(r.jobId) ?? 0n) + r.amount);
    const payee = r.payee.toLowerCase();
    const p = byPayee.get(payee) ?? { gross: 0n, tasks: 0 };
    byPayee.set(payee, { gross: p.gross + r.amount, tasks: p.tasks + 1 });
  }
  const total = [...byJob.values()].reduce((s, v) => s + v, 0n);
  const bps = BigInt(feeBps);
  const fee = (total * bps) / 10_000n;
  const payoutTotal = total - fee;

  const shares = [...byPayee]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([provider, p]) => {
      const scaled = p.gross * (10_000n - bps);
      return { provider, gross: p.gross, tasks: p.tasks, amount: scaled / 10_000n, remainder: scaled % 10_000n };
    });
  let left = payoutTotal - shares.reduce((s, p) => s + p.amount, 0n);
  for (const share of [...shares].sort((a, b) => (b.remainder > a.remainder ? 1 : b.remainder < a.remainder ? -1 : 0))) {
    if (left === 0n) break;
    share.amount += 1n;
    left -= 1n;
  }
  const payouts = shares.map(({ provider, gross, tasks, amount }) => ({ provider, gross, tasks, amount }));
  const leaves = payouts.filter((p) => p.amount > 0n).map((p) => [p.provider, p.amount.toString()]);
  // A batch always has a root; one whose payouts are all zero (a 100% fee) has a dummy leaf nobody can claim.
  const tree = StandardMerkleTree.of(leaves.length > 0 ? leaves : [['0x0000000000000000000000000000000000000000', '0']], [...LEAF_ENCODING]);
  return { root: tree.root, tree: tree.dump(), debits: [...byJob], fee, payouts };
}

/** The proof for `provider`'s leaf in a stored tree, or undefined when it has none. */
export function proofFor(treeDump: unknown, provider: string): { amount: bigint; proof: `0x${string}`[] } | undefined {
  const tree = StandardMerkleTree.load(treeDump as never);
  const wanted = provider.toLowerCase();
  for (const [i, [address, amount]] of tree.entries()) {
    if (String(address).toLowerCase() === wanted) return { amount: BigInt(amount as string), proof: tree.getProof(i) as `0x${string}`[] };
  }
  return undefined;
}
