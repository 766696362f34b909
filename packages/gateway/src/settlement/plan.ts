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
 * - The tree is @openzeppelin/merkle-tree's standard tree over (address, uint256), which
 *   JobEscrow verifies with OpenZeppelin's MerkleProof, stored as its `standard-v1` dump: the
 *   same root, leaf order and dump as `StandardMerkleTree.of` (plan.test.ts compares them on
 *   random batches). It is laid out here, hashing with keccak-256 in WebAssembly (hash-wasm):
 *   the library's JavaScript keccak and hex conversions cost ~120 µs per payee on this machine,
 *   which made the planner the settlement bottleneck at scale (`npm run sim:scale`).
 * - A proof is checked against the stored root with the library (`StandardMerkleTree.verify`)
 *   before it is handed out: a corrupt stored tree proves nothing.
 */
import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import { createKeccak } from 'hash-wasm';
import type { BatchPlan, Receipt } from '../store/types.js';

export const LEAF_ENCODING = ['address', 'uint256'] as const;

const keccak = await createKeccak(256);
function keccak256(data: Uint8Array): Buffer {
  keccak.init();
  keccak.update(data);
  return Buffer.from(keccak.digest('binary'));
}

/** OpenZeppelin's standard leaf: keccak256(keccak256(abi.encode(address, uint256))). */
function leafHash(address: string, amount: bigint): Buffer {
  const word = Buffer.alloc(64);
  word.write(address.slice(2), 12, 'hex');
  word.write(amount.toString(16).padStart(64, '0'), 32, 'hex');
  return keccak256(keccak256(word));
}

/** OpenZeppelin's standard node: keccak256 of the two children, the smaller first. */
function nodeHash(a: Buffer, b: Buffer): Buffer {
  return keccak256(Buffer.compare(a, b) <= 0 ? Buffer.concat([a, b]) : Buffer.concat([b, a]));
}

/** The `standard-v1` dump of @openzeppelin/merkle-tree. */
interface StandardDump {
  format: 'standard-v1';
  leafEncoding: string[];
  tree: string[];
  values: Array<{ value: [string, string]; treeIndex: number }>;
}

/**
 * The standard tree of `leaves` (address, decimal amount), as the library lays it out: leaves
 * sorted by hash at the end of the array, last first; node i's children at 2i+1 and 2i+2.
 */
function standardTree(leaves: Array<[string, string]>): StandardDump {
  const hashed = leaves.map(([address, amount], i) => ({ i, hash: leafHash(address, BigInt(amount)) }));
  hashed.sort((x, y) => Buffer.compare(x.hash, y.hash));
  const tree = new Array<Buffer>(2 * hashed.length - 1);
  const treeIndex = new Array<number>(leaves.length);
  for (const [k, { i, hash }] of hashed.entries()) {
    tree[tree.length - 1 - k] = hash;
    treeIndex[i] = tree.length - 1 - k;
  }
  for (let i = tree.length - 1 - hashed.length; i >= 0; i--) tree[i] = nodeHash(tree[2 * i + 1]!, tree[2 * i + 2]!);
  return {
    format: 'standard-v1',
    leafEncoding: [...LEAF_ENCODING],
    tree: tree.map((h) => `0x${h.toString('hex')}`),
    values: leaves.map((value, i) => ({ value, treeIndex: treeIndex[i]! })),
  };
}

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
  const leaves = payouts.filter((p) => p.amount > 0n).map((p): [string, string] => [p.provider, p.amount.toString()]);
  // A batch always has a root; one whose payouts are all zero (a 100% fee) has a dummy leaf nobody can claim.
  const tree = standardTree(leaves.length > 0 ? leaves : [['0x0000000000000000000000000000000000000000', '0']]);
  return { root: tree.tree[0]!, tree, debits: [...byJob], fee, payouts };
}

/**
 * An availability epoch's reward batch: the same tree as a job batch over (node, reward), with
 * no debits and no fee. `rewards` must have distinct nodes and amounts above zero.
 */
export function planRewards(rewards: ReadonlyArray<{ node: string; amount: bigint }>): Pick<BatchPlan, 'root' | 'tree' | 'payouts'> {
  const payouts = rewards.map((r) => ({ provider: r.node.toLowerCase(), amount: r.amount, gross: r.amount, tasks: 0 }));
  const tree = standardTree(payouts.map((p): [string, string] => [p.provider, p.amount.toString()]));
  return { root: tree.tree[0]!, tree, payouts };
}

/**
 * The proof for `provider`'s leaf in a stored tree (a `standard-v1` dump, as the library or
 * planBatch wrote it), or undefined when it has none. The proof is checked against the tree's
 * root before it is returned (throws when the stored tree is corrupt).
 */
export function proofFor(treeDump: unknown, provider: string): { amount: bigint; proof: `0x${string}`[] } | undefined {
  const dump = treeDump as StandardDump;
  const wanted = provider.toLowerCase();
  const entry = dump.values.find(({ value: [address] }) => address.toLowerCase() === wanted);
  if (!entry) return undefined;
  const proof: `0x${string}`[] = [];
  for (let i = entry.treeIndex; i > 0; i = Math.floor((i - 1) / 2)) proof.push(dump.tree[i % 2 === 1 ? i + 1 : i - 1] as `0x${string}`);
  if (!StandardMerkleTree.verify(dump.tree[0]!, [...LEAF_ENCODING], entry.value, proof)) {
    throw new Error(`the stored Merkle tree of root ${dump.tree[0]} does not prove ${provider}'s leaf: the batch row is corrupt`);
  }
  return { amount: BigInt(entry.value[1]), proof };
}
