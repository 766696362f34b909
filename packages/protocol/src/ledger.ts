/**
 * What the protocol says about money: how a job's id maps to its escrow on chain, and the most
 * a job can cost. Amounts are integers in the token's smallest unit (18 decimals).
 */
import type { JobSpec } from './jobSpec.js';

/** The bytes32 under which JobEscrow holds a job's deposit: the 128-bit job id, left-padded. */
export function escrowJobId(jobId: string): `0x${string}` {
  if (!/^[0-9a-f]{32}$/.test(jobId)) throw new Error(`not a job id: ${jobId}`);
  return `0x${jobId.padStart(64, '0')}`;
}

/** The job id an escrow key stands for (inverse of `escrowJobId`). */
export function jobIdOfEscrow(key: `0x${string}`): string {
  return key.slice(-32);
}

/** The most a job can cost: every task paid at its price ceiling. Escrow must cover it. */
export function maxJobCost(spec: Pick<JobSpec, 'tasks' | 'price'>): bigint {
  return BigInt(spec.tasks.length) * BigInt(spec.price.maxPerTask);
}

/** The token's decimals (LodeToken is a standard 18-decimal ERC-20). */
export const TOKEN_DECIMALS = 18;
