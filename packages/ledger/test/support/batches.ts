/**
 * For the ledger action tests: a settlement batch as the gateway posts it, with one leaf.
 *
 * @example
 * const { batchId, proof } = await postOneLeafBatch(as(gateway), { to: provider.address, amount, jobId });
 */
import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import type { Address, Hex } from 'viem';
import { readContract, waitForTransactionReceipt, writeContract } from 'viem/actions';
import { escrowJobId } from '@lode/protocol';
import { jobEscrowAbi, type LedgerClient } from '../../src/index.js';

/** Posts a batch debiting `jobId`'s escrow by `amount` and paying it all to `to`, sent by `gateway`; mined. */
export async function postOneLeafBatch(
  gateway: LedgerClient,
  p: { to: Address; amount: bigint; jobId: string },
): Promise<{ batchId: bigint; proof: Hex[]; txHash: Hex }> {
  const tree = StandardMerkleTree.of([[p.to, p.amount.toString()]], ['address', 'uint256']);
  const escrow = gateway.addresses.escrow;
  const txHash = await writeContract(gateway, {
    address: escrow,
    abi: jobEscrowAbi,
    functionName: 'postBatch',
    args: [tree.root as Hex, [escrowJobId(p.jobId)], [p.amount]],
    chain: null,
  });
  await waitForTransactionReceipt(gateway, { hash: txHash });
  const batchId = await readContract(gateway, { address: escrow, abi: jobEscrowAbi, functionName: 'batchCount' });
  return { batchId, proof: tree.getProof(0) as Hex[], txHash };
}
