/**
 * What the protocol says about money: how a job's id maps to its escrow on chain, and the most
 * a job can cost. Amounts are integers in the token's smallest unit (18 decimals).
 */
import { maxReplicasOf, type JobSpec } from './jobSpec.js';
import type { PayoutView } from './api.js';

/** The bytes32 under which JobEscrow holds a job's deposit: the 128-bit job id, left-padded. */
export function escrowJobId(jobId: string): `0x${string}` {
  if (!/^[0-9a-f]{32}$/.test(jobId)) throw new Error(`not a job id: ${jobId}`);
  return `0x${jobId.padStart(64, '0')}`;
}

/** The job id an escrow key stands for (inverse of `escrowJobId`). */
export function jobIdOfEscrow(key: `0x${string}`): string {
  return key.slice(-32);
}

/**
 * The most a job can cost: every task executed as often as its verification allows, each
 * execution paid at the ceilings and using all of its fuel. Escrow must cover it; what is not
 * spent is refunded when the job ends.
 */
export function maxJobCost(spec: Pick<JobSpec, 'tasks' | 'price' | 'limits' | 'verification'>): bigint {
  return BigInt(spec.tasks.length) * BigInt(maxReplicasOf(spec.verification)) * maxTaskCost(spec);
}

/** The most one execution of a task (one result) can cost. */
export function maxTaskCost(spec: Pick<JobSpec, 'price' | 'limits'>): bigint {
  return BigInt(spec.price.maxPerTask) + BigInt(spec.limits.fuel) * BigInt(spec.price.maxPerFuel);
}

/** What a node is paid for one result: its prices, capped by the job's ceilings. */
export function taskCharge(spec: Pick<JobSpec, 'price'>, node: { pricePerTask: string; pricePerFuel?: string }, fuelUsed: number | undefined): bigint {
  const min = (a: bigint, b: bigint) => (a < b ? a : b);
  const perTask = min(BigInt(node.pricePerTask), BigInt(spec.price.maxPerTask));
  const perFuel = min(BigInt(node.pricePerFuel ?? '0'), BigInt(spec.price.maxPerFuel));
  return perTask + BigInt(fuelUsed ?? 0) * perFuel;
}

/**
 * An escrow must outlive its job's deadline by this much, so the last settlement batch can still
 * debit it; the gateway refuses a job whose escrow expires sooner (INSUFFICIENT_ESCROW).
 */
export const ESCROW_MIN_MARGIN_MS = 10 * 60_000;
/** What requesters (the CLI, the SDK's callers, the dashboard) deposit with: room for retries and disputes. */
export const ESCROW_DEFAULT_MARGIN_MS = 60 * 60_000;

/** The expiry (Unix seconds, as JobEscrow takes it) of a deposit for a job whose deadline is `deadlineMs`. */
export function escrowExpiry(deadlineMs: number, marginMs: number = ESCROW_DEFAULT_MARGIN_MS): bigint {
  return BigInt(Math.ceil((deadlineMs + marginMs) / 1000));
}

/** True when an escrow expiring at `expiresAt` (Unix seconds) leaves the settlement margin after `deadlineMs`. */
export function escrowCoversDeadline(expiresAt: bigint, deadlineMs: number): boolean {
  return Number(expiresAt) * 1000 >= deadlineMs + ESCROW_MIN_MARGIN_MS;
}

/**
 * The payouts JobEscrow pays now: posted on chain, past their challenge window (`claimableAt`,
 * ms), not claimed yet, and more than zero. The node's automatic claims and the browser's
 * "claim" button both take exactly these.
 */
export function claimablePayouts(payouts: readonly PayoutView[], nowMs: number): PayoutView[] {
  return payouts.filter(
    (p) => p.status === 'posted' && !p.claimed && p.chainBatchId !== null && p.claimableAt !== null && p.claimableAt <= nowMs && BigInt(p.amount) > 0n,
  );
}

/** The token's decimals (LodeToken is a standard 18-decimal ERC-20). */
export const TOKEN_DECIMALS = 18;
