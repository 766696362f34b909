import type { Address, Hex } from 'viem';
import { accountOf, type LedgerClient } from '../client.js';
import { lodeTokenAbi } from '../contracts.js';
import { write } from './errors.js';

export interface DelegateVotesParameters {
  /** Who votes with the account's LODE. @default the account itself */
  delegatee?: Address;
}

export interface DelegateVotesReturnType {
  delegatee: Address;
  txHash: Hex;
}

/**
 * Delegates the account's LODE votes (ERC20Votes) — to itself by default, which is what makes
 * its own tokens count in governance. Votes count in a proposal only if delegated before its
 * snapshot.
 *
 * @example
 * await delegateVotes(client); // self-delegate
 */
export async function delegateVotes(client: LedgerClient, p: DelegateVotesParameters = {}): Promise<DelegateVotesReturnType> {
  const delegatee = p.delegatee ?? accountOf(client, 'Delegating votes').address;
  const receipt = await write(client, `Delegating votes to ${delegatee}`, {
    address: client.addresses.token,
    abi: lodeTokenAbi,
    functionName: 'delegate',
    args: [delegatee],
  });
  return { delegatee, txHash: receipt.transactionHash };
}
