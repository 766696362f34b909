import { sha256Hex } from './encoding.js';

/** The seed of a task's deterministic clock and randomness. Same on every node. */
export function taskSeed(jobId: string, taskIndex: number): string {
  return sha256Hex(`${jobId}:${taskIndex}`);
}
