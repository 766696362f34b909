/**
 * EIP-712 typed data for everything a Lode account signs. Identity is the account address
 * (`did:pkh:eip155:<chainId>:<address>`); signatures are recovered with viem.
 *
 * What is signed, and why only this:
 * - A job submission: its key fields (shown by wallets) plus `specHash`, the sha256 of the whole
 *   canonical spec, so the signature binds every task input without listing them.
 * - A node's hello: once per session, over a fresh gateway challenge (no replay). Task
 *   messages are not signed (a signature costs ~1 ms here; a task has ~50 µs).
 * - A job cancellation, by the job's requester.
 */
import { recoverTypedDataAddress, type Hex, type LocalAccount } from 'viem';
import { canonicalJson, sha256Hex } from './encoding.js';
import type { JobSpec, SignedJob } from './jobSpec.js';
import { InvalidSignatureError } from './errors/request.js';

export const LODE_DOMAIN = { name: 'Lode', version: '1' } as const;

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
    { name: 'timestamp', type: 'uint64' },
  ],
} as const;

export const cancelJobTypes = {
  CancelJob: [
    { name: 'requester', type: 'address' },
    { name: 'jobId', type: 'string' },
    { name: 'timestamp', type: 'uint64' },
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

/** The typed data a requester signs for `spec`; pass `hash` when `specHash(spec)` is already known. */
export function jobSubmissionTypedData(spec: JobSpec, hash: Hex = specHash(spec)) {
  return {
    domain: LODE_DOMAIN,
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

export async function signJob(account: LocalAccount, spec: JobSpec): Promise<SignedJob> {
  const signature = await account.signTypedData(jobSubmissionTypedData(spec));
  return { spec, signature };
}

/**
 * Throws `InvalidSignatureError` unless the job was signed by `spec.requester`; returns the
 * spec hash and job id it computed (hashing a large spec costs tens of ms: do it once).
 */
export async function verifyJobSignature(job: SignedJob): Promise<{ specHash: Hex; jobId: string }> {
  const hash = specHash(job.spec);
  let signer: string;
  try {
    signer = await recoverTypedDataAddress({ ...jobSubmissionTypedData(job.spec, hash), signature: job.signature as Hex });
  } catch (err) {
    throw new InvalidSignatureError('The job signature is malformed. Sign the JobSubmission typed data with the requester account.', { cause: err });
  }
  if (signer.toLowerCase() !== job.spec.requester.toLowerCase()) {
    throw new InvalidSignatureError(
      'The job signature does not match spec.requester. Sign with the requester account (`lode account show`).',
      { meta: { requester: job.spec.requester, signer } },
    );
  }
  return { specHash: hash, jobId: jobIdOfHash(hash) };
}

export interface NodeHelloMessage {
  node: Hex;
  challenge: Hex;
  capabilitiesHash: Hex;
  timestamp: bigint;
}

export function nodeHelloTypedData(message: NodeHelloMessage) {
  return { domain: LODE_DOMAIN, types: nodeHelloTypes, primaryType: 'NodeHello' as const, message };
}

export async function recoverNodeHello(message: NodeHelloMessage, signature: Hex): Promise<string> {
  return recoverTypedDataAddress({ ...nodeHelloTypedData(message), signature });
}

export interface CancelJobMessage {
  requester: Hex;
  jobId: string;
  timestamp: bigint;
}

export function cancelJobTypedData(message: CancelJobMessage) {
  return { domain: LODE_DOMAIN, types: cancelJobTypes, primaryType: 'CancelJob' as const, message };
}

export async function recoverCancelJob(message: CancelJobMessage, signature: Hex): Promise<string> {
  return recoverTypedDataAddress({ ...cancelJobTypedData(message), signature });
}

/** `did:pkh` of an account (CAIP-10). Chain 0 stands for "no chain bound yet". */
export function didPkh(address: string, chainId = 1): string {
  return `did:pkh:eip155:${chainId}:${address}`;
}
