import type { LedgerClient } from '../client.js';
import { readContract } from 'viem/actions';
import { governorAbi, timelockAbi } from '../contracts.js';

/** How the Lode DAO decides: the governor's settings and the timelock's delay. */
export interface GetGovernanceSettingsReturnType {
  /** Seconds from proposing to the voting snapshot (votes delegated later do not count). */
  votingDelay: number;
  /** Seconds voting stays open. */
  votingPeriod: number;
  /** Votes (token wei) an account needs to propose. */
  proposalThreshold: bigint;
  /** Quorum, percent of the total supply at a proposal's snapshot (for plus abstain votes count). */
  quorumPercent: number;
  /** Seconds a passed proposal waits in the timelock before it can be executed. */
  timelockDelay: number;
}

/**
 * The governor's voting delay, period, threshold and quorum, and the timelock's minimum delay.
 *
 * @example
 * const { votingPeriod, timelockDelay } = await getGovernanceSettings(client);
 */
export async function getGovernanceSettings(client: LedgerClient): Promise<GetGovernanceSettingsReturnType> {
  const { governor, timelock } = client.addresses;
  const [votingDelay, votingPeriod, proposalThreshold, numerator, denominator, timelockDelay] = await Promise.all([
    readContract(client, { address: governor, abi: governorAbi, functionName: 'votingDelay' }),
    readContract(client, { address: governor, abi: governorAbi, functionName: 'votingPeriod' }),
    readContract(client, { address: governor, abi: governorAbi, functionName: 'proposalThreshold' }),
    readContract(client, { address: governor, abi: governorAbi, functionName: 'quorumNumerator', args: [] }),
    readContract(client, { address: governor, abi: governorAbi, functionName: 'quorumDenominator' }),
    readContract(client, { address: timelock, abi: timelockAbi, functionName: 'getMinDelay' }),
  ]);
  return {
    votingDelay: Number(votingDelay),
    votingPeriod: Number(votingPeriod),
    proposalThreshold,
    quorumPercent: (Number(numerator) * 100) / Number(denominator),
    timelockDelay: Number(timelockDelay),
  };
}
