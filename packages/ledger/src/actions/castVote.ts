import { parseEventLogs, type Hex } from 'viem';
import type { LedgerClient } from '../client.js';
import { write } from './errors.js';
import { explainProposalError, governanceAbi } from './proposalState.js';

/** GovernorCountingSimple's vote types. */
export const VOTE_SUPPORT = { against: 0, for: 1, abstain: 2 } as const;
export type VoteSupport = keyof typeof VOTE_SUPPORT;

export interface CastVoteParameters {
  proposalId: bigint;
  support: VoteSupport;
  /** Recorded on chain with the vote. */
  reason?: string;
}

export interface CastVoteReturnType {
  /** Votes counted (token wei delegated to the account at the proposal's snapshot). */
  weight: bigint;
  txHash: Hex;
}

/**
 * Votes on a proposal with the votes delegated to the account at the proposal's snapshot. A vote
 * while the proposal is not Active is refused with its state and times in words; a second vote
 * with `GovernorAlreadyCastVote`. A weight of 0 means the account had no votes delegated to it
 * at the snapshot (see `delegateVotes`).
 *
 * @example
 * const { weight } = await castVote(client, { proposalId, support: 'for' });
 */
export async function castVote(client: LedgerClient, p: CastVoteParameters): Promise<CastVoteReturnType> {
  const action = `Voting ${p.support} proposal ${p.proposalId}`;
  const support = VOTE_SUPPORT[p.support];
  try {
    const receipt = await write(client, action, {
      address: client.addresses.governor,
      abi: governanceAbi,
      functionName: p.reason ? 'castVoteWithReason' : 'castVote',
      args: p.reason ? [p.proposalId, support, p.reason] : [p.proposalId, support],
    });
    const [event] = parseEventLogs({ abi: governanceAbi, eventName: 'VoteCast', logs: receipt.logs });
    return { weight: event?.args.weight ?? 0n, txHash: receipt.transactionHash };
  } catch (err) {
    throw await explainProposalError(client, err, p.proposalId, action);
  }
}
