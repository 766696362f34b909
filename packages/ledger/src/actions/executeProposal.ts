import type { Hex } from 'viem';
import type { LedgerClient } from '../client.js';
import { write } from './errors.js';
import { findProposal } from './findProposal.js';
import { explainProposalError, governanceAbi } from './proposalState.js';

export interface ExecuteProposalParameters {
  proposalId: bigint;
}

export interface ExecuteProposalReturnType {
  txHash: Hex;
}

/**
 * Executes a queued proposal through the timelock once its eta has passed (anyone may). Its
 * calls are read back from the `ProposalCreated` event. Before the eta, or in any other state,
 * the refusal says the state and when it can run; a call that fails inside (a ProtocolConfig
 * bound) comes back by the contract's error name.
 *
 * @example
 * await executeProposal(client, { proposalId });
 */
export async function executeProposal(client: LedgerClient, p: ExecuteProposalParameters): Promise<ExecuteProposalReturnType> {
  const proposal = await findProposal(client, p);
  const action = `Executing proposal ${p.proposalId}`;
  try {
    const receipt = await write(client, action, {
      address: client.addresses.governor,
      abi: governanceAbi,
      functionName: 'execute',
      args: [proposal.targets, proposal.values, proposal.calldatas, proposal.descriptionHash],
    });
    return { txHash: receipt.transactionHash };
  } catch (err) {
    throw await explainProposalError(client, err, p.proposalId, action);
  }
}
