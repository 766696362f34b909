import type { Hex } from 'viem';
import type { LedgerClient } from '../client.js';
import { lodeTokenAbi, stakingAbi } from '../contracts.js';

export interface AccountLedger {
  address: Hex;
  /** Native coin for gas (wei). */
  eth: bigint;
  /** LODE held (wei). */
  lode: bigint;
  /** Own stake as a provider (wei). */
  stake: bigint;
  /** Own stake plus delegations (wei). */
  totalStake: bigint;
  eligible: boolean;
}

/** Balances and stake of one account. */
export async function getAccountLedger(client: LedgerClient, p: { address: Hex }): Promise<AccountLedger> {
  const { token, staking } = client.addresses;
  const read = client.public;
  const [eth, lode, own, total, eligible] = await Promise.all([
    read.getBalance({ address: p.address }),
    read.readContract({ address: token, abi: lodeTokenAbi, functionName: 'balanceOf', args: [p.address] }),
    read.readContract({ address: staking, abi: stakingAbi, functionName: 'stakeOf', args: [p.address] }),
    read.readContract({ address: staking, abi: stakingAbi, functionName: 'totalStakeOf', args: [p.address] }),
    read.readContract({ address: staking, abi: stakingAbi, functionName: 'isEligible', args: [p.address] }),
  ]);
  return { address: p.address, eth, lode, stake: own, totalStake: total, eligible };
}
