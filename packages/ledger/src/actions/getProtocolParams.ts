import type { Address, ReadContractReturnType } from 'viem';
import { readContract } from 'viem/actions';
import type { LedgerClient } from '../client.js';
import { protocolConfigAbi } from '../contracts.js';

/** ProtocolConfig's parameters, as the contracts use them now. */
export interface GetProtocolParamsReturnType {
  /** Protocol fee on settled payouts, basis points (at most `maxFeeBps`). */
  feeBps: number;
  /** Fraction of stake slashed per proven offence, basis points. */
  slashBps: number;
  /** Own stake a provider needs to serve (wei). */
  minStake: bigint;
  /** Seconds before unbonded stake can be withdrawn. */
  unbondingPeriod: number;
  /** Seconds between the gateway's settlement batches. */
  settlementPeriod: number;
  /** Seconds a posted batch can be challenged before it is final. */
  challengeWindow: number;
  /** Receives protocol fees and slashed stake. */
  treasury: Address;
  /** Seconds per availability epoch (epoch n = floor(time / epochLength)). */
  epochLength: number;
  /** The most emission one epoch's availability rewards may use (token wei; 0: no rewards). */
  availabilityPool: bigint;
  /** Availability challenges per device per epoch (0: none). */
  challengeRate: number;
  /** Governance: who may change these (the timelock). */
  owner: Address;
  /** The highest fee governance may set, basis points. */
  maxFeeBps: number;
}

/** ProtocolConfig's `parameters()` as they are read: counts as numbers, the stake and the pool in wei. */
export type ProtocolParams = Omit<GetProtocolParamsReturnType, 'owner' | 'maxFeeBps'>;

/** `parameters()`'s answer as `ProtocolParams` (for callers that read it on their own client). */
export function protocolParamsOf(p: ReadContractReturnType<typeof protocolConfigAbi, 'parameters'>): ProtocolParams {
  return {
    feeBps: Number(p.feeBps),
    slashBps: Number(p.slashBps),
    minStake: p.minStake,
    unbondingPeriod: Number(p.unbondingPeriod),
    settlementPeriod: Number(p.settlementPeriod),
    challengeWindow: Number(p.challengeWindow),
    treasury: p.treasury,
    epochLength: Number(p.epochLength),
    availabilityPool: p.availabilityPool,
    challengeRate: Number(p.challengeRate),
  };
}

/**
 * The current protocol parameters (one `parameters()` call) plus their owner and the fee cap.
 *
 * @example
 * const { feeBps, minStake } = await getProtocolParams(client);
 */
export async function getProtocolParams(client: LedgerClient): Promise<GetProtocolParamsReturnType> {
  const address = client.addresses.config;
  const [p, owner, maxFeeBps] = await Promise.all([
    readContract(client, { address, abi: protocolConfigAbi, functionName: 'parameters' }),
    readContract(client, { address, abi: protocolConfigAbi, functionName: 'owner' }),
    readContract(client, { address, abi: protocolConfigAbi, functionName: 'MAX_FEE_BPS' }),
  ]);
  return { ...protocolParamsOf(p), owner, maxFeeBps: Number(maxFeeBps) };
}
