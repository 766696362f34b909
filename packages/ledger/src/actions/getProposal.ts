import type { Address } from 'viem';
import { readContract } from 'viem/actions';
import type { LedgerClient } from '../client.js';
import { governorAbi } from '../contracts.js';
import { findProposal, type FindProposalReturnType } from './findProposal.js';
import { PROPOSAL_STATES, type ProposalStateName } from './proposalState.js';
import { decodeParameterChange, type ProtocolParameter } from './proposeParameterChange.js';

export interface GetProposalParameters {
  proposalId: bigint;
  /** Also say whether this account has voted. */
  voter?: Address;
}

export interface GetProposalReturnType extends FindProposalReturnType {
  state: ProposalStateName;
  /** Token wei of votes, by side. */
  votes: { for: bigint; against: bigint; abstain: bigint };
  /** Votes (for plus abstain) needed; null while the snapshot is still in the future. */
  quorum: bigint | null;
  /** Voting snapshot and deadline (Unix seconds). */
  snapshot: bigint;
  deadline: bigint;
  /** When a queued proposal can be executed (Unix seconds); null unless queued. */
  eta: bigint | null;
  /** The ProtocolConfig changes it makes (empty for other calls). */
  changes: Array<{ parameter: ProtocolParameter; value: string }>;
  /** Whether `voter` has voted; undefined without `voter`. */
  hasVoted?: boolean;
}

/**
 * A proposal's state, votes, quorum, times and the parameter changes it makes.
 *
 * @example
 * const { state, votes, eta } = await getProposal(client, { proposalId });
 */
export async function getProposal(client: LedgerClient, p: GetProposalParameters): Promise<GetProposalReturnType> {
  const found = await findProposal(client, p);
  const { governor } = client.addresses;
  const id = [p.proposalId] as const;
  const [stateCode, [against, forVotes, abstain], snapshot, deadline, eta, hasVoted] = await Promise.all([
    readContract(client, { address: governor, abi: governorAbi, functionName: 'state', args: id }),
    readContract(client, { address: governor, abi: governorAbi, functionName: 'proposalVotes', args: id }),
    readContract(client, { address: governor, abi: governorAbi, functionName: 'proposalSnapshot', args: id }),
    readContract(client, { address: governor, abi: governorAbi, functionName: 'proposalDeadline', args: id }),
    readContract(client, { address: governor, abi: governorAbi, functionName: 'proposalEta', args: id }),
    p.voter ? readContract(client, { address: governor, abi: governorAbi, functionName: 'hasVoted', args: [p.proposalId, p.voter] }) : undefined,
  ]);
  // quorum(t) needs t in the past (ERC5805FutureLookup otherwise): unknown while Pending.
  const quorum = await readContract(client, { address: governor, abi: governorAbi, functionName: 'quorum', args: [snapshot] }).catch(() => null);
  const changes = found.calldatas
    .map((data, i) => (found.targets[i]?.toLowerCase() === client.addresses.config.toLowerCase() ? decodeParameterChange(data) : undefined))
    .filter((c) => c !== undefined);
  return {
    ...found,
    state: PROPOSAL_STATES[stateCode] ?? ('Pending' as ProposalStateName),
    votes: { for: forVotes, against, abstain },
    quorum,
    snapshot,
    deadline,
    eta: eta === 0n ? null : eta,
    changes,
    ...(hasVoted === undefined ? {} : { hasVoted }),
  };
}
