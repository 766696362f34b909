import type { Hex } from 'viem';
import type { LedgerClient } from '../client.js';
import { lodeTokenAbi, stakingAbi } from '../contracts.js';
import { write } from './errors.js';

export interface StakeParameters {
  amount: bigint;
  /** Delegate to this provider instead of staking for the account itself. */
  provider?: Hex;
}

/** Approves Staking when needed, then stakes (or delegates) `amount`. */
export async function stake(client: LedgerClient, p: StakeParameters): Promise<{ txHashes: Hex[] }> {
  const owner = client.wallet!.account.address;
  const { token, staking } = client.addresses;
  const txHashes: Hex[] = [];
  const allowance = await client.public.readContract({ address: token, abi: lodeTokenAbi, functionName: 'allowance', args: [owner, staking] });
  if (allowance < p.amount) {
    txHashes.push(
      (await write(client, 'Approving staking', { address: token, abi: lodeTokenAbi, functionName: 'approve', args: [staking, p.amount] })).transactionHash,
    );
  }
  const receipt = p.provider
    ? await write(client, `Delegating to ${p.provider}`, { address: staking, abi: stakingAbi, functionName: 'delegate', args: [p.provider, p.amount] })
    : await write(client, 'Staking', { address: staking, abi: stakingAbi, functionName: 'stake', args: [p.amount] });
  txHashes.push(receipt.transactionHash);
  return { txHashes };
}
