/**
 * EIP-712 typed data for everything a Lode account signs. Identity is the account address
 * (`did:pkh:eip155:<chainId>:<address>`); signatures are recovered with viem.
 *
 * Every signature is bound to one gateway on one chain: the domain is
 * `{ name: 'Lode', version: '2', chainId, verifyingContract: <the gateway's account> }` (the
 * gateway is the party that verifies it), so a message signed for one gateway or chain is
 * refused by every other. Every message also expires: a job at its deadline, a cancel and a
 * hello at their `expiresAt`.
 *
 * What is signed, and why only this:
 * - A job submission: its key fields (shown by wallets) plus `specHash`, the sha256 of the whole
 *   canonical spec, so the signature binds every task input without listing them.
 * - A node's hello: once per session, over a fresh gateway challenge (no replay), naming the
 *   URL origin the node dialed (a gateway refuses a hello dialed to another origin: a relay).
 *   Task messages are not signed (a signature costs ~1 ms here; a task has ~50 µs).
 * - A job cancellation, by the job's requester.
 */
import { getAddress, hashTypedData, recoverAddress, recoverTypedDataAddress, type Hex, type LocalAccount } from 'viem';
import { canonicalJson, sha256Hex } from './encoding.js';
import type { JobSpec, SignedJob } from './jobSpec.js';
import { InvalidSignatureError } from './errors/request.js';

/** Who a signature is for: the chain (0 for a gateway without a ledger) and the gateway's account. */
export interface LodeDomain {
  chainId: number;
  gateway: Hex;
}

/** The EIP-712 domain of `d`. */
export function lodeDomain(d: LodeDomain) {
  return { name: 'Lode', version: '2', chainId: d.chainId, verifyingContract: getAddress(d.gateway) } as const;
}

export const jobSubmissionTypes = {
  JobSubmission: [
    { name: 'requester', type: 'address' },
    { name: 'module', type: 'bytes32' },
    { name: 'taskCount', type: 'uint32' },
    { name: 'maxPricePerTask', type: 'uint256' },
    { name: 'deadline', type: 'uint64' },
    { name: 'nonce', type: 'bytes32' },
    { name: 'specHash', type: 'bytes32' },
  ],
} as const;

export const nodeHelloTypes = {
  NodeHello: [
    { name: 'node', type: 'address' },
    { name: 'challenge', type: 'bytes32' },
    { name: 'capabilitiesHash', type: 'bytes32' },
    /** The origin the node dialed (`host:port`), checked against the gateway's own. */
    { name: 'origin', type: 'string' },
    /** Unix ms after which the hello is refused. */
    { name: 'expiresAt', type: 'uint64' },
  ],
} as const;

export const cancelJobTypes = {
  CancelJob: [
    { name: 'requester', type: 'address' },
    { name: 'jobId', type: 'string' },
    /** Unix ms after which the cancel is refused (at most 10 minutes ahead). */
    { name: 'expiresAt', type: 'uint64' },
  ],
} as const;

/** sha256 of the spec's canonical JSON, as 0x-hex bytes32. */
export function specHash(spec: JobSpec): Hex {
  return `0x${sha256Hex(canonicalJson(spec))}`;
}

/** A job's id: the first 128 bits of its spec hash. Resubmitting the same signed spec is idempotent. */
export function jobIdOf(spec: JobSpec): string {
  return jobIdOfHash(specHash(spec));
}

function jobIdOfHash(hash: Hex): string {
  return hash.slice(2, 34);
}

/** The typed data a requester signs for `spec` at the gateway `domain`; pass `hash` when `specHash(spec)` is already known. */
export function jobSubmissionTypedData(spec: JobSpec, domain: LodeDomain, hash: Hex = specHash(spec)) {
  return {
    domain: lodeDomain(domain),
    types: jobSubmissionTypes,
    primaryType: 'JobSubmission' as const,
    message: {
      requester: spec.requester as Hex,
      module: `0x${spec.module}` as Hex,
      taskCount: spec.tasks.length,
      maxPricePerTask: BigInt(spec.price.maxPerTask),
      deadline: BigInt(spec.deadline),
      nonce: spec.nonce as Hex,
      specHash: hash,
    },
  };
}

/** Signs `spec` for the gateway and chain of `domain` (`GET /v1/identity` says which). */
export async function signJob(account: LocalAccount, spec: JobSpec, domain: LodeDomain): Promise<SignedJob> {
  const signature = await account.signTypedData(jobSubmissionTypedData(spec, domain));
  return { spec, signature };
}

/**
 * The address whose key signed a 32-byte digest (a 65-byte `r ‖ s ‖ v` signature). Throws when
 * none does. The default is viem's, in portable JavaScript (~1.7 ms here); a server may pass a
 * faster one with the same answers (the gateway's, on libsecp256k1 in WebAssembly: ~0.25 ms).
 */
export type RecoverSigner = (digest: Hex, signature: Hex) => Promise<string> | string;

const viemRecoverSigner: RecoverSigner = (hash, signature) => recoverAddress({ hash, signature });

/**
 * Throws `InvalidSignatureError` unless the job was signed by `spec.requester` for `domain`
 * (this gateway on this chain); returns the spec hash and job id it computed (hashing a large
 * spec costs tens of ms: do it once).
 */
export async function verifyJobSignature(
  job: SignedJob,
  domain: LodeDomain,
  hash: Hex = specHash(job.spec),
  recover: RecoverSigner = viemRecoverSigner,
): Promise<{ specHash: Hex; jobId: string }> {
  let signer: string;
  try {
    signer = await recover(hashTypedData(jobSubmissionTypedData(job.spec, domain, hash)), job.signature as Hex);
  } catch (err) {
    throw new InvalidSignatureError('The job signature is malformed. Sign the JobSubmission typed data with the requester account.', { cause: err });
  }
  if (signer.toLowerCase() !== job.spec.requester.toLowerCase()) {
    throw new InvalidSignatureError(
      `The job signature does not match spec.requester for this gateway (${domain.gateway}) on chain ${domain.chainId}. Sign it with the requester account for this gateway (GET /v1/identity); a job signed for another gateway or chain is refused.`,
      { meta: { requester: job.spec.requester, signer, gateway: domain.gateway, chainId: domain.chainId } },
    );
  }
  return { specHash: hash, jobId: jobIdOfHash(hash) };
}

export interface NodeHelloMessage {
  node: Hex;
  challenge: Hex;
  capabilitiesHash: Hex;
  origin: string;
  expiresAt: bigint;
}

export function nodeHelloTypedData(message: NodeHelloMessage, domain: LodeDomain) {
  return { domain: lodeDomain(domain), types: nodeHelloTypes, primaryType: 'NodeHello' as const, message };
}

export async function recoverNodeHello(message: NodeHelloMessage, signature: Hex, domain: LodeDomain): Promise<string> {
  return recoverTypedDataAddress({ ...nodeHelloTypedData(message, domain), signature });
}

export interface CancelJobMessage {
  requester: Hex;
  jobId: string;
  expiresAt: bigint;
}

export function cancelJobTypedData(message: CancelJobMessage, domain: LodeDomain) {
  return { domain: lodeDomain(domain), types: cancelJobTypes, primaryType: 'CancelJob' as const, message };
}

export async function recoverCancelJob(message: CancelJobMessage, signature: Hex, domain: LodeDomain): Promise<string> {
  return recoverTypedDataAddress({ ...cancelJobTypedData(message, domain), signature });
}

/** The `origin` a node signs: the `host:port` of the URL it dialed (lower-case; default ports kept as the URL gives them). */
export function originOf(url: string): string {
  return new URL(url).host.toLowerCase();
}

/** `did:pkh` of an account (CAIP-10). Chain 0 stands for "no chain bound yet". */
export function didPkh(address: string, chainId = 1): string {
  return `did:pkh:eip155:${chainId}:${address}`;
}
