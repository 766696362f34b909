/**
 * Voting power for `lode gov propose` and `vote`: LODE counts as votes only once delegated
 * (ERC20Votes), so an account that never delegated is self-delegated first — and told so.
 */
import { delegateVotes, getVotingPower } from '@lode/ledger/client';
import type { Hex } from 'viem';
import { formatLode } from '../../ledger.js';
import { sending, type Signer } from '../ledger/shared.js';

export interface SelfDelegation {
  /** The delegation transaction, when one was needed. */
  txHash: Hex | null;
  /** Votes delegated to the account now (wei). */
  votes: bigint;
}

/** Self-delegates the account's votes when it has never delegated them and holds LODE; notes it on stderr unless quiet. */
export async function selfDelegateIfNeeded(s: Signer, quiet: boolean): Promise<SelfDelegation> {
  const power = await getVotingPower(s.ledger, { address: s.address });
  if (power.delegate !== null || power.balance === 0n) return { txHash: null, votes: power.votes };
  const { txHash } = await sending(s, () => delegateVotes(s.ledger));
  if (!quiet) {
    process.stderr.write(`Your ${formatLode(power.balance)} had no votes delegated; delegated them to yourself so that they count (tx ${txHash}).\n`);
  }
  return { txHash, votes: (await getVotingPower(s.ledger, { address: s.address })).votes };
}
