import type { Hex } from 'viem';
import { getBalance, readContract } from 'viem/actions';
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
  const [eth, lode, own, total, eligible] = await Promise.all([
    getBalance(client, { address: p.address }),
    readContract(client, { address: token, abi: lodeTokenAbi, functionName: 'balanceOf', args: [p.address] }),
    readContract(client, { address: staking, abi: stakingAbi, functionName: 'stakeOf', args: [p.address] }),
    readContract(client, { address: staking, abi: stakingAbi, functionName: 'totalStakeOf', args: [p.address] }),
    readContract(client, { address: staking, abi: stakingAbi, functionName: 'isEligible', args: [p.address] }),
  ]);
  return { address: p.address, eth, lode, stake: own, totalStake: total, eligible };
}
