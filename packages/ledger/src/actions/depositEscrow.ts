import { escrowJobId } from '@lode/protocol';
import { readContract } from 'viem/actions';
import type { Hex } from 'viem';
import { accountOf, type LedgerClient } from '../client.js';
import { jobEscrowAbi, lodeTokenAbi } from '../contracts.js';
import { write } from './errors.js';

export interface DepositEscrowParameters {
  /** The Lode job id (32 hex digits). */
  jobId: string;
  /** Token wei to hold for the job (at least its maximum cost). */
  amount: bigint;
  /** Unix seconds after which the requester may take back what is left. */
  expiresAt: bigint;
  /** Told before each transaction: the approval (sent only when the allowance is short), then the deposit. */
  onStep?: (step: 'approve' | 'deposit') => void;
}

export interface DepositEscrowReturnType {
  escrowKey: Hex;
  txHashes: Hex[];
}

/** Approves JobEscrow (when the allowance is short) and deposits `amount` for `jobId`. */
export async function depositEscrow(client: LedgerClient, p: DepositEscrowParameters): Promise<DepositEscrowReturnType> {
  const owner = accountOf(client, 'Depositing escrow').address;
  const { token, escrow } = client.addresses;
  const txHashes: Hex[] = [];
  const allowance = await readContract(client, { address: token, abi: lodeTokenAbi, functionName: 'allowance', args: [owner, escrow] });
  if (allowance < p.amount) {
    p.onStep?.('approve');
    const r = await write(client, 'Approving the escrow', { address: token, abi: lodeTokenAbi, functionName: 'approve', args: [escrow, p.amount] });
    txHashes.push(r.transactionHash);
  }
  const escrowKey = escrowJobId(p.jobId);
  p.onStep?.('deposit');
  const r = await write(client, `Depositing escrow for job ${p.jobId}`, {
    address: escrow,
    abi: jobEscrowAbi,
    functionName: 'deposit',
    args: [escrowKey, p.amount, p.expiresAt],
  });
  txHashes.push(r.transactionHash);
  return { escrowKey, txHashes };
}
