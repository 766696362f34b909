/**
 * Which outcomes are votes, and what two votes are compared on.
 *
 * The sandbox's deterministic failures — a trap, the memory cap, the output cap, running out of
 * fuel, a module that cannot be instantiated — happen at the same instruction on every device,
 * so they are answers like any other. A timeout (wall time depends on the device), a crashed or
 * cancelled worker, or a blob the node could not fetch says nothing about the module: those are
 * not votes, and the replica is given out again.
 */
import { SandboxErrorCode } from '@lode/protocol';
import type { VoteOutcome } from './types.js';

/** Failure codes that are not answers: the device, not the module, decided them. */
export const NON_VOTE_CODES: ReadonlySet<string> = new Set<string>([
  SandboxErrorCode.Timeout,
  SandboxErrorCode.WorkerCrashed,
  SandboxErrorCode.BlobUnavailable,
  SandboxErrorCode.Cancelled,
]);

/** True when the outcome is a deterministic answer that replicas must agree on. */
export function isVote(o: Pick<VoteOutcome, 'status' | 'errorCode'>): boolean {
  return o.status === 'ok' || o.errorCode === null || !NON_VOTE_CODES.has(o.errorCode);
}

/**
 * The comparison key: status, error code, result hash and fuel. Two replicas agree exactly when
 * their keys are equal. The error message is not compared (it may name the device).
 */
export function voteKey(o: VoteOutcome): string {
  return `${o.status}|${o.errorCode ?? ''}|${o.resultHash}|${o.fuelUsed ?? ''}`;
}

/** The parts of a key, for evidence and logs. */
export function parseVoteKey(key: string): VoteOutcome {
  const [status, errorCode, resultHash, fuel] = key.split('|');
  return {
    status: status === 'ok' ? 'ok' : 'failed',
    errorCode: errorCode ? errorCode : null,
    resultHash: resultHash ?? '',
    fuelUsed: fuel ? Number(fuel) : null,
  };
}
