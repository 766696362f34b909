/**
 * Governor proposal states in words, shared by the governance actions: a refusal because a
 * proposal is in the wrong state (`GovernorUnexpectedProposalState`) is rewritten to say which
 * state it is in and when that changes.
 */
import { TransactionRevertedError } from '@lode/protocol';
import { readContract } from 'viem/actions';
import type { LedgerClient } from '../client.js';
import { governorAbi, timelockAbi } from '../contracts.js';

/** OpenZeppelin Governor's ProposalState, in the contract's order. */
export const PROPOSAL_STATES = ['Pending', 'Active', 'Canceled', 'Defeated', 'Succeeded', 'Queued', 'Expired', 'Executed'] as const;
export type ProposalStateName = (typeof PROPOSAL_STATES)[number];

/** The governor's ABI with the timelock's errors, so that a refusal from inside the timelock decodes by name. */
export const governanceAbi = [
  ...governorAbi,
  ...timelockAbi.filter((x) => x.type === 'error' && !governorAbi.some((g) => g.type === 'error' && g.name === x.name)),
];

/** `2025-11-25T16:04:05Z` for Unix seconds. */
export function isoSeconds(seconds: bigint | number): string {
  return new Date(Number(seconds) * 1000).toISOString().replace('.000Z', 'Z');
}

/**
 * Rewrites a governor refusal into what the proposal's state means for `action` (voting not
 * open yet, already closed, not queued yet, timelock not ready); other errors pass unchanged.
 */
export async function explainProposalError(client: LedgerClient, err: unknown, proposalId: bigint, action: string): Promise<unknown> {
  if (!(err instanceof TransactionRevertedError)) return err;
  const name = err.meta?.errorName;
  if (name !== 'GovernorUnexpectedProposalState' && name !== 'TimelockUnexpectedOperationState') return err;
  const { governor } = client.addresses;
  try {
    const [stateCode, snapshot, deadline, eta] = await Promise.all([
      readContract(client, { address: governor, abi: governorAbi, functionName: 'state', args: [proposalId] }),
      readContract(client, { address: governor, abi: governorAbi, functionName: 'proposalSnapshot', args: [proposalId] }),
      readContract(client, { address: governor, abi: governorAbi, functionName: 'proposalDeadline', args: [proposalId] }),
      readContract(client, { address: governor, abi: governorAbi, functionName: 'proposalEta', args: [proposalId] }),
    ]);
    const state = PROPOSAL_STATES[stateCode] ?? `state ${stateCode}`;
    const why: Record<string, string> = {
      Pending: `voting opens after ${isoSeconds(snapshot)}`,
      Active: `voting is open until ${isoSeconds(deadline)}; queue it once it has passed`,
      Canceled: 'it was canceled',
      Defeated: 'it did not pass (more votes against, or no quorum)',
      Succeeded: 'it passed and waits to be queued (`lode gov queue`)',
      Queued: eta > 0n ? `it waits in the timelock until ${isoSeconds(eta)}; execute it then` : 'it waits in the timelock',
      Expired: 'it expired',
      Executed: 'it was executed already',
    };
    return new TransactionRevertedError(`${action} was refused: proposal ${proposalId} is ${state} — ${why[state] ?? 'see `lode gov status`'}.`, {
      meta: { ...err.meta, state, snapshot: Number(snapshot), deadline: Number(deadline), eta: Number(eta) },
      cause: err,
    });
  } catch {
    return err;
  }
}
