/**
 * The gateway's trust settings (one object with documented defaults, validated with the rest of
 * the gateway's config) and the mapping from a job's `verification` to its policy.
 */
import { maxReplicasOf, type Verification } from '@lode/protocol';
import { DEFAULT_TRUST_PARAMS, type TrustParams } from './credibility.js';
import { nonePolicy, replicatePolicy, targetPolicy } from './policies.js';
import { DEFAULT_STRAGGLER_PARAMS, type StragglerParams } from './stragglers.js';
import type { AuditRates, VerificationPolicy } from './types.js';
import { DEFAULT_LONE_RESULTS, type LoneResultsOptions } from './loneResults.js';

/** A job's verification, as the JobSpec states it. */
export type VerificationSpec = Verification;
export { maxReplicasOf };

export interface TrustConfig {
  /** The credibility model (credibility.ts). */
  trust: TrustParams;
  /** Audits of results accepted from one trusted node under `target`. @default { spotCheck: 0.03, canary: 0.03 } */
  audit: AuditRates;
  /**
   * Share of leases given first to nodes on probation (no checked result yet) when some have
   * room: they earn their first tasks — replicated, so they cannot harm — even on a busy network. @default 0.05
   */
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
  /**
   * How long a task at its replica cap may wait for its voters' records to grow before it
   * fails (at start-up every node is a newcomer, and records grow within seconds). @default 120000
   */
  maxParkMs: number;
  /**
   * Results taken on one node's word alone are remembered until the node passes a check; a node
   * is audited at once at `maxPerNode` of them (@default 64) or when the oldest is `maxAgeMs`
   * old (@default 300000). See verify/loneResults.ts.
   */
  loneResults: Required<LoneResultsOptions>;
  /**
   * How long a job whose tasks are all decided waits for the audit of results in it taken on one
   * node's word alone before it is final anyway (they are then revised after the fact if their
   * node is proven wrong). @default 30000
   */
  auditWaitMs: number;
  /** How long re-verifying a result may take before it gives up (no node could take it). @default 600000 */
  maxRevisionMs: number;
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
  maxParkMs: 120_000,
  loneResults: { ...DEFAULT_LONE_RESULTS },
  auditWaitMs: 30_000,
  maxRevisionMs: 600_000,
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

/** The gateway's trust settings from its config (unset fields keep the defaults). */
export function trustConfigFrom(o: {
  spotCheck?: number;
  canary?: number;
  maxStrikes?: number;
  newcomerDepth?: number;
  newcomerShare?: number;
  trustedIssuers?: string[];
  stragglers?: boolean;
  auditWaitMs?: number;
  maxLonePerNode?: number;
}): TrustConfig {
  const d = DEFAULT_TRUST_CONFIG;
  return {
    ...d,
    audit: { spotCheck: o.spotCheck ?? d.audit.spotCheck, canary: o.canary ?? d.audit.canary },
    maxStrikes: o.maxStrikes ?? d.maxStrikes,
    newcomerDepth: o.newcomerDepth ?? d.newcomerDepth,
    newcomerShare: o.newcomerShare ?? d.newcomerShare,
    trustedIssuers: o.trustedIssuers ?? d.trustedIssuers,
    stragglers: o.stragglers === false ? false : d.stragglers,
    auditWaitMs: o.auditWaitMs ?? d.auditWaitMs,
    loneResults: { ...d.loneResults, maxPerNode: o.maxLonePerNode ?? d.loneResults.maxPerNode },
  };
}
