import { LodeError } from '@lode/protocol';
import { getContractEvents } from 'viem/actions';
import { keccak256, toHex, type Address, type Hex } from 'viem';
import type { LedgerClient } from '../client.js';
import { governorAbi } from '../contracts.js';

/** No proposal with that id was made on this governor (code NOT_FOUND, like the API's). */
export class ProposalNotFoundError extends LodeError {
  readonly code = 'NOT_FOUND';
  override readonly httpStatus = 404;
}

export interface FindProposalParameters {
  proposalId: bigint;
}

export interface FindProposalReturnType {
  proposalId: bigint;
  proposer: Address;
  targets: Address[];
  values: bigint[];
  calldatas: Hex[];
  description: string;
  /** keccak256 of the description, as `queue` and `execute` take it. */
  descriptionHash: Hex;
  /** Voting snapshot (Unix seconds): votes delegated after it do not count. */
  voteStart: bigint;
  /** Voting closes after this time (Unix seconds). */
  voteEnd: bigint;
  blockNumber: bigint;
  txHash: Hex;
}

/**
 * A proposal's calls and description, recovered from the governor's `ProposalCreated` event
 * (the governor keeps only their hash), so that `queue` and `execute` need only the id.
 * Throws ProposalNotFoundError (NOT_FOUND) when no such proposal was made on this governor.
 *
 * @example
 * const { targets, calldatas, descriptionHash } = await findProposal(client, { proposalId });
 */
export async function findProposal(client: LedgerClient, p: FindProposalParameters): Promise<FindProposalReturnType> {
  const { governor, deployBlock } = client.addresses;
  // proposalId is not an indexed field: read every ProposalCreated and pick it out.
  const events = await getContractEvents(client, {
    address: governor,
    abi: governorAbi,
    eventName: 'ProposalCreated',
    fromBlock: BigInt(deployBlock),
    toBlock: 'latest',
  });
  const event = events.find((e) => e.args.proposalId === p.proposalId);
  if (!event) {
    throw new ProposalNotFoundError(
      `No proposal ${p.proposalId} on the governor ${governor}. Check the id: \`lode gov propose\` prints the id of each proposal it makes.`,
      { meta: { proposalId: p.proposalId.toString(), governor } },
    );
  }
  const a = event.args;
  return {
    proposalId: p.proposalId,
    proposer: a.proposer!,
    targets: [...a.targets!],
    values: [...a.values!],
    calldatas: [...a.calldatas!],
    description: a.description!,
    descriptionHash: keccak256(toHex(a.description!)),
    voteStart: a.voteStart!,
    voteEnd: a.voteEnd!,
    blockNumber: event.blockNumber,
    txHash: event.transactionHash,
  };
}
