/**
 * What a gateway attests about a node in its device credential (`DeviceClaims` in
 * @lode/protocol's deviceCredential.ts), computed from what the gateway holds: the reputation
 * book, the capabilities the node declared in its hello, and the evidence stored against it.
 */
import type { Capabilities, DeviceAvailability, DeviceClaims } from '@lode/protocol';
import type { Reputation } from '../verify/reputation.js';
import type { EvidenceRecord } from '../store/types.js';

/**
 * Evidence records counted into one credential: far more than a node can gather before it is
 * refused (`maxStrikes`, 3 by default), so the count is exact for every node that still works.
 */
export const MAX_EVIDENCE_COUNTED = 1000;

export interface DeviceFacts {
  /** Lower-case. */
  address: string;
  capabilities: Capabilities;
  reputation: Pick<Reputation, 'validated' | 'invalid' | 'consecutiveValid' | 'firstSeenAt'>;
  /** Over all sessions, the open ones included. */
  uptimeMs: number;
  evidence: readonly Pick<EvidenceRecord, 'slash' | 'slashed'>[];
  /** null until availability epochs report it. */
  availability: DeviceAvailability | null;
}

/** Evidence records, and the stake their slashes took (only slashes the chain confirmed). */
export function offencesOf(evidence: DeviceFacts['evidence']): DeviceClaims['offences'] {
  const slashed = evidence.reduce((sum, e) => (e.slash === 'slashed' && e.slashed !== null ? sum + e.slashed : sum), 0n);
  return { count: evidence.length, slashedWei: slashed.toString() };
}

/** The claims of a node's device credential. Times in Unix seconds, as in the JWT. */
export function deviceClaimsOf(f: DeviceFacts): DeviceClaims {
  return {
    node: f.address,
    capabilities: f.capabilities,
    uptimeSeconds: Math.floor(f.uptimeMs / 1000),
    firstSeenAt: Math.floor(f.reputation.firstSeenAt / 1000),
    checks: { validated: f.reputation.validated, invalid: f.reputation.invalid, consecutiveValid: f.reputation.consecutiveValid },
    offences: offencesOf(f.evidence),
    availability: f.availability,
  };
}
