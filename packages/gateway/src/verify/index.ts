/**
 * Verification: which results the gateway accepts, from whom, after how many replicas — and
 * what it learns about the nodes from it.
 *
 * @example
 * const policy = policyFor({ kind: 'target', errorRate: 1e-4 }, DEFAULT_TRUST_CONFIG);
 * const job = new JobVerification(policy, { credibility, isNewcomer, random: Math.random, now: Date.now });
 * const { more } = job.issued(7, { leaseId, node, remote });       // the scheduler gave task 7 out
 * const d = job.voted(7, leaseId, outcome, voteKey(outcomeOf(r)));  // its result came back
 * if (d.kind === 'accept') … // d.winner is the result; d.wrong are proven wrong
 */
export * from './types.js';
export * from './vote.js';
export * from './credibility.js';
export * from './policies.js';
export * from './filters.js';
export * from './replicaSet.js';
export * from './canaries.js';
export * from './jobVerification.js';
export * from './reputation.js';
export * from './stragglers.js';
export * from './trustConfig.js';
export * from './loneResults.js';
