import type { Hex } from 'viem';
import { readContract } from 'viem/actions';
import { accountOf, type LedgerClient } from '../client.js';
import { lodeTokenAbi, stakingAbi } from '../contracts.js';
import { write } from './errors.js';

export interface StakeParameters {
  amount: bigint;
  /** Delegate to this provider instead of staking for the account itself. */
  provider?: Hex;
  /** Told before each transaction: the approval (sent only when the allowance is short), then the stake. */
  onStep?: (step: 'approve' | 'stake') => void;
}

/** Approves Staking when needed, then stakes (or delegates) `amount`. */
export async function stake(client: LedgerClient, p: StakeParameters): Promise<{ txHashes: Hex[] }> {
  const owner = accountOf(client, 'Staking').address;
  const { token, staking } = client.addresses;
  const txHashes: Hex[] = [];
  const allowance = await readContract(client, { address: token, abi: lodeTokenAbi, functionName: 'allowance', args: [owner, staking] });
  if (allowance < p.amount) {
    p.onStep?.('approve');
    txHashes.push(
      (await write(client, 'Approving staking', { address: token, abi: lodeTokenAbi, functionName: 'approve', args: [staking, p.amount] })).transactionHash,
    );
  }
  p.onStep?.('stake');
  const receipt = p.provider
    ? await write(client, `Delegating to ${p.provider}`, { address: staking, abi: stakingAbi, functionName: 'delegate', args: [p.provider, p.amount] })
    : await write(client, 'Staking', { address: staking, abi: stakingAbi, functionName: 'stake', args: [p.amount] });
  txHashes.push(receipt.transactionHash);
  return { txHashes };
}
