/**
 * The gateway's trust settings (one object with documented defaults, validated with the rest of
 * the gateway's config) and the mapping from a job's `verification` to its policy.
 */
import { DEFAULT_TRUST_PARAMS, type TrustParams } from './credibility.js';
import { nonePolicy, replicatePolicy, targetPolicy } from './policies.js';
import { DEFAULT_STRAGGLER_PARAMS, type StragglerParams } from './stragglers.js';
import type { AuditRates, VerificationPolicy } from './types.js';

/** A job's verification, as the JobSpec states it. */
export type VerificationSpec =
  | { kind: 'none' }
  | { kind: 'replicate'; k: number }
  | { kind: 'target'; errorRate: number };

/** Most executions a `target(errorRate)` task may take (replicas and known-answer runs). */
export const TARGET_MAX_REPLICAS = 9;

/** Most paid executions of one task under a verification (what the escrow must cover). */
export function maxReplicasOf(v: VerificationSpec): number {
  switch (v.kind) {
    case 'none':
      return 1;
    case 'replicate':
      return v.k <= 1 ? 1 : 2 * v.k + 1;
    case 'target':
      return TARGET_MAX_REPLICAS;
  }
}

export interface TrustConfig {
  /** The credibility model (credibility.ts). */
  trust: TrustParams;
  /** Audits of results accepted from one trusted node under `target`. @default { spotCheck: 0.03, canary: 0.03 } */
  audit: AuditRates;
  /** Share of leases reserved for nodes without a record when they are idle. @default 0.05 */
  newcomerShare: number;
  /** Leases a node without a record may hold at once (it is on probation). @default 1 per slot */
  newcomerDepth: number;
  /** Offences (results proven wrong) after which a node is refused. @default 3 */
  maxStrikes: number;
  /** Most right checks a credential from another gateway may count for. @default 16 */
  priorCap: number;
  /** Gateways whose reputation credentials this gateway accepts as a prior. @default [] */
  trustedIssuers: string[];
  /** Speculative copies of straggling leases; false turns them off. */
  stragglers: StragglerParams | false;
}

export const DEFAULT_TRUST_CONFIG: TrustConfig = {
  trust: DEFAULT_TRUST_PARAMS,
  audit: { spotCheck: 0.03, canary: 0.03 },
  newcomerShare: 0.05,
  newcomerDepth: 1,
  maxStrikes: 3,
  priorCap: 16,
  trustedIssuers: [],
  stragglers: DEFAULT_STRAGGLER_PARAMS,
};

export function policyFor(v: VerificationSpec, c: Pick<TrustConfig, 'audit'> = DEFAULT_TRUST_CONFIG): VerificationPolicy {
  switch (v.kind) {
    case 'none':
      return nonePolicy;
    case 'replicate':
      return replicatePolicy(v.k);
    case 'target':
      return targetPolicy(v.errorRate, { maxReplicas: maxReplicasOf(v), audit: c.audit });
  }
}
