/**
 * What a gateway signs about trust, as EIP-712 typed data any party can check with viem's
 * `verifyTypedData`, in the signing gateway's domain (`lodeDomain({ chainId, gateway })`: a
 * statement names its chain beside its signature) — each with an expiry:
 *
 * - `AgreedResult`: the answer a quorum (or a known-answer check) verified for a task, and who
 *   agreed on it.
 * - `NodeResult`: what one node answered for a task, as received on its authenticated session.
 *   Nodes do not sign task results one by one (a signature costs ~1 ms; a task has ~50 µs); the
 *   session is authenticated by the node's signed hello over a fresh challenge, carried beside
 *   the statement in the evidence, and the gateway attests the result it received on it.
 * - `NodeReputation`: a node's record on this gateway — a credential the node may carry to
 *   another gateway, which may use it as a prior if it trusts the issuer.
 *
 * Evidence against a node is both statements and the session's hello; its hash —
 * `keccak256(utf8(canonicalJson(evidence)))` — is what `Staking.slash` records on chain, and
 * `GET /v1/evidence/:hash` serves the evidence itself.
 */
import { keccak256, toBytes, verifyTypedData, type Hex, type LocalAccount } from 'viem';
import { canonicalJson } from './encoding.js';
import { lodeDomain, recoverNodeHello, type LodeDomain } from './eip712.js';

export const agreedResultTypes = {
  AgreedResult: [
    { name: 'gateway', type: 'address' },
    { name: 'jobId', type: 'string' },
    { name: 'taskIndex', type: 'uint32' },
    { name: 'status', type: 'string' },
    { name: 'errorCode', type: 'string' },
    { name: 'resultHash', type: 'bytes32' },
    { name: 'fuelUsed', type: 'uint64' },
    { name: 'fuelKnown', type: 'bool' },
    { name: 'agreeing', type: 'address[]' },
    { name: 'decidedAt', type: 'uint64' },
    { name: 'expiresAt', type: 'uint64' },
  ],
} as const;

export const nodeResultTypes = {
  NodeResult: [
    { name: 'gateway', type: 'address' },
    { name: 'node', type: 'address' },
    { name: 'jobId', type: 'string' },
    { name: 'taskIndex', type: 'uint32' },
    { name: 'leaseId', type: 'string' },
    { name: 'status', type: 'string' },
    { name: 'errorCode', type: 'string' },
    { name: 'resultHash', type: 'bytes32' },
    { name: 'fuelUsed', type: 'uint64' },
    { name: 'fuelKnown', type: 'bool' },
    { name: 'sessionChallenge', type: 'bytes32' },
    { name: 'receivedAt', type: 'uint64' },
    { name: 'expiresAt', type: 'uint64' },
  ],
} as const;

export const nodeReputationTypes = {
  NodeReputation: [
    { name: 'gateway', type: 'address' },
    { name: 'node', type: 'address' },
    { name: 'validated', type: 'uint64' },
    { name: 'invalid', type: 'uint64' },
    { name: 'consecutiveValid', type: 'uint64' },
    { name: 'uptimeSeconds', type: 'uint64' },
    { name: 'firstSeenAt', type: 'uint64' },
    { name: 'issuedAt', type: 'uint64' },
    { name: 'expiresAt', type: 'uint64' },
  ],
} as const;

/** A task outcome as replicas are compared on it (see the gateway's verify/vote.ts). */
export interface ResultFacts {
  status: 'ok' | 'failed';
  /** '' for a module that ran to completion. */
  errorCode: string;
  /** 64 hex digits (the protocol's `resultDigest`), without 0x. */
  resultHash: string;
  /** null when the sandbox did not report it. */
  fuelUsed: number | null;
}

/** JSON forms of the messages (uint64 as decimal strings, so they survive JSON). */
export interface AgreedResultMessage extends Omit<ResultFacts, 'resultHash' | 'fuelUsed'> {
  gateway: Hex;
  jobId: string;
  taskIndex: number;
  resultHash: Hex;
  fuelUsed: string;
  fuelKnown: boolean;
  agreeing: Hex[];
  decidedAt: string;
  /** Unix seconds after which the statement no longer stands as evidence for a slash. */
  expiresAt: string;
}

export interface NodeResultMessage extends Omit<ResultFacts, 'resultHash' | 'fuelUsed'> {
  gateway: Hex;
  node: Hex;
  jobId: string;
  taskIndex: number;
  leaseId: string;
  resultHash: Hex;
  fuelUsed: string;
  fuelKnown: boolean;
  sessionChallenge: Hex;
  receivedAt: string;
  /** Unix seconds after which the statement no longer stands as evidence for a slash. */
  expiresAt: string;
}

export interface NodeReputationMessage {
  gateway: Hex;
  node: Hex;
  validated: string;
  invalid: string;
  consecutiveValid: string;
  uptimeSeconds: string;
  firstSeenAt: string;
  issuedAt: string;
  expiresAt: string;
}

export interface Signed<M> {
  message: M;
  /** The chain of the signer's EIP-712 domain (its other part is the message's `gateway`). */
  chainId: number;
  signature: Hex;
}

/** The node's hello that opened the session its result came on (see `NodeHello`), with the domain it was signed for. */
export interface SessionProof {
  node: Hex;
  challenge: Hex;
  capabilitiesHash: Hex;
  origin: string;
  /** Unix ms, as the node signed it. */
  expiresAt: string;
  gateway: Hex;
  chainId: number;
  signature: Hex;
}

/** Evidence that a node's result disagreed with a verified answer. */
export interface Evidence {
  version: 1;
  /** quorum: the node was in a quorum's minority; canary: it failed a known-answer task. */
  kind: 'quorum' | 'canary';
  agreed: Signed<AgreedResultMessage>;
  offending: Signed<NodeResultMessage>;
  session: SessionProof | null;
}

export const factsMessage = (f: ResultFacts) => ({
  status: f.status,
  errorCode: f.errorCode,
  resultHash: `0x${f.resultHash}` as Hex,
  fuelUsed: String(f.fuelUsed ?? 0),
  fuelKnown: f.fuelUsed !== null,
});

// viem wants bigints for uint64; the JSON forms keep strings.
const big = (s: string) => BigInt(s);

const domainOf = (gateway: Hex, chainId: number) => lodeDomain({ gateway, chainId });

export function agreedResultTypedData(m: AgreedResultMessage, chainId: number) {
  return {
    domain: domainOf(m.gateway, chainId),
    types: agreedResultTypes,
    primaryType: 'AgreedResult' as const,
    message: { ...m, fuelUsed: big(m.fuelUsed), decidedAt: big(m.decidedAt), expiresAt: big(m.expiresAt) },
  };
}

export function nodeResultTypedData(m: NodeResultMessage, chainId: number) {
  return {
    domain: domainOf(m.gateway, chainId),
    types: nodeResultTypes,
    primaryType: 'NodeResult' as const,
    message: { ...m, fuelUsed: big(m.fuelUsed), receivedAt: big(m.receivedAt), expiresAt: big(m.expiresAt) },
  };
}

export function nodeReputationTypedData(m: NodeReputationMessage, chainId: number) {
  return {
    domain: domainOf(m.gateway, chainId),
    types: nodeReputationTypes,
    primaryType: 'NodeReputation' as const,
    message: {
      ...m,
      validated: big(m.validated),
      invalid: big(m.invalid),
      consecutiveValid: big(m.consecutiveValid),
      uptimeSeconds: big(m.uptimeSeconds),
      firstSeenAt: big(m.firstSeenAt),
      issuedAt: big(m.issuedAt),
      expiresAt: big(m.expiresAt),
    },
  };
}

/** The statements are signed by the gateway itself: `domain.gateway` must be `account`. */
export async function signAgreedResult(account: LocalAccount, m: AgreedResultMessage, domain: LodeDomain): Promise<Signed<AgreedResultMessage>> {
  return { message: m, chainId: domain.chainId, signature: await account.signTypedData(agreedResultTypedData(m, domain.chainId)) };
}

export async function signNodeResult(account: LocalAccount, m: NodeResultMessage, domain: LodeDomain): Promise<Signed<NodeResultMessage>> {
  return { message: m, chainId: domain.chainId, signature: await account.signTypedData(nodeResultTypedData(m, domain.chainId)) };
}

export async function signNodeReputation(account: LocalAccount, m: NodeReputationMessage, domain: LodeDomain): Promise<Signed<NodeReputationMessage>> {
  return { message: m, chainId: domain.chainId, signature: await account.signTypedData(nodeReputationTypedData(m, domain.chainId)) };
}

/** The hash `Staking.slash` records: keccak256 of the evidence's canonical JSON. */
export function evidenceHash(e: Evidence): Hex {
  return keccak256(toBytes(canonicalJson(e)));
}

/**
 * True when `credential` was signed by its `gateway` on `chainId` (when given: a credential from
 * another chain is refused) and has not expired at `now` (ms).
 */
export async function verifyNodeReputation(credential: Signed<NodeReputationMessage>, now = Date.now(), chainId?: number): Promise<boolean> {
  if (chainId !== undefined && credential.chainId !== chainId) return false;
  if (BigInt(credential.message.expiresAt) * 1000n < BigInt(now)) return false;
  return verifyTypedData({
    address: credential.message.gateway,
    ...nodeReputationTypedData(credential.message, credential.chainId),
    signature: credential.signature,
  }).catch(() => false);
}

/**
 * Checks evidence as a third party would: both statements signed by the same gateway on the same
 * chain, about the same task, the node's answer differs from the agreed one, the node is not
 * among the agreeing, and (when present) the session proof is the node's hello over the
 * challenge its result names, signed for that same gateway and chain. Returns the reason it
 * fails, or null when it holds. (Expiry is the slasher's concern: evidence stays a true record.)
 */
export async function checkEvidence(e: Evidence): Promise<string | null> {
  const a = e.agreed.message;
  const o = e.offending.message;
  if (a.gateway.toLowerCase() !== o.gateway.toLowerCase()) return 'the two statements come from different gateways';
  if (e.agreed.chainId !== e.offending.chainId) return 'the two statements are for different chains';
  if (a.jobId !== o.jobId || a.taskIndex !== o.taskIndex) return 'the two statements are about different tasks';
  const same =
    a.status === o.status && a.errorCode === o.errorCode && a.resultHash === o.resultHash && a.fuelUsed === o.fuelUsed && a.fuelKnown === o.fuelKnown;
  if (same) return "the node's result is the agreed one";
  if (a.agreeing.some((x) => x.toLowerCase() === o.node.toLowerCase())) return 'the node is among the agreeing';
  const okA = await verifyTypedData({ address: a.gateway, ...agreedResultTypedData(a, e.agreed.chainId), signature: e.agreed.signature }).catch(() => false);
  if (!okA) return 'the agreed result is not signed by the gateway';
  const okO = await verifyTypedData({ address: o.gateway, ...nodeResultTypedData(o, e.offending.chainId), signature: e.offending.signature }).catch(
    () => false,
  );
  if (!okO) return "the node's result is not signed by the gateway";
  if (e.session) {
    if (e.session.challenge !== o.sessionChallenge) return 'the session proof is for another session';
    if (e.session.gateway.toLowerCase() !== o.gateway.toLowerCase() || e.session.chainId !== e.offending.chainId) {
      return 'the session was opened with another gateway or chain';
    }
    const signer = await recoverNodeHello(
      {
        node: e.session.node,
        challenge: e.session.challenge,
        capabilitiesHash: e.session.capabilitiesHash,
        origin: e.session.origin,
        expiresAt: BigInt(e.session.expiresAt),
      },
      e.session.signature,
      { gateway: e.session.gateway, chainId: e.session.chainId },
    ).catch(() => '');
    if (signer.toLowerCase() !== o.node.toLowerCase()) return 'the session was not opened by the node';
  }
  return null;
}
