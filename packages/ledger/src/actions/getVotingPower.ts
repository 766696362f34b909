import { zeroAddress, type Address } from 'viem';
import { readContract } from 'viem/actions';
import type { LedgerClient } from '../client.js';
import { lodeTokenAbi } from '../contracts.js';

export interface GetVotingPowerParameters {
  address: Address;
}

export interface GetVotingPowerReturnType {
  /** LODE held (wei). */
  balance: bigint;
  /** Whom the account's LODE votes for; null when it has never delegated (its LODE then votes for nobody). */
  delegate: Address | null;
  /** Votes delegated to the account now (wei). */
  votes: bigint;
}

/**
 * An account's voting power on LodeToken (ERC20Votes): tokens count as votes only once
 * delegated, to the holder itself or to someone else.
 *
 * @example
 * const { delegate, votes } = await getVotingPower(client, { address });
 */
export async function getVotingPower(client: LedgerClient, p: GetVotingPowerParameters): Promise<GetVotingPowerReturnType> {
  const { token } = client.addresses;
  const [balance, delegate, votes] = await Promise.all([
    readContract(client, { address: token, abi: lodeTokenAbi, functionName: 'balanceOf', args: [p.address] }),
    readContract(client, { address: token, abi: lodeTokenAbi, functionName: 'delegates', args: [p.address] }),
    readContract(client, { address: token, abi: lodeTokenAbi, functionName: 'getVotes', args: [p.address] }),
  ]);
  return { balance, delegate: delegate === zeroAddress ? null : delegate, votes };
}
