import { parseEventLogs, type Hex } from 'viem';
import type { LedgerClient } from '../client.js';
import { write } from './errors.js';
import { findProposal } from './findProposal.js';
import { explainProposalError, governanceAbi } from './proposalState.js';

export interface QueueProposalParameters {
  proposalId: bigint;
}

export interface QueueProposalReturnType {
  /** When the timelock lets it be executed (Unix seconds). */
  eta: bigint;
  txHash: Hex;
}

/**
 * Queues a passed (Succeeded) proposal in the timelock. Its calls and description are read back
 * from the `ProposalCreated` event, so only the id is needed. Refusals say the proposal's state.
 *
 * @example
 * const { eta } = await queueProposal(client, { proposalId });
 */
export async function queueProposal(client: LedgerClient, p: QueueProposalParameters): Promise<QueueProposalReturnType> {
  const proposal = await findProposal(client, p);
  const action = `Queueing proposal ${p.proposalId}`;
  try {
    const receipt = await write(client, action, {
      address: client.addresses.governor,
      abi: governanceAbi,
      functionName: 'queue',
      args: [proposal.targets, proposal.values, proposal.calldatas, proposal.descriptionHash],
    });
    const [event] = parseEventLogs({ abi: governanceAbi, eventName: 'ProposalQueued', logs: receipt.logs });
    return { eta: event?.args.etaSeconds ?? 0n, txHash: receipt.transactionHash };
  } catch (err) {
    throw await explainProposalError(client, err, p.proposalId, action);
  }
}
