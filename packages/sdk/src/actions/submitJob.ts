import { DEFAULTS, InvalidRequestError, JobSpec, JobView, jobIdOf, maxJobCost, signJob, type JobSpecInit, type SignedJob } from '@lode/protocol';
import { bytesToHex, type Hex } from 'viem';
import type { LodeClient } from '../client.js';
import { AccountRequiredError } from '../errors.js';
import { requestJson } from '../request.js';
import { identityOf } from '../session.js';

/** A JobSpec as a requester writes it: `version`, `requester`, `nonce` and `deadline` are filled in when left out. */
export type SubmitJobParameters = Omit<JobSpecInit, 'version' | 'requester' | 'nonce' | 'deadline'> &
  Partial<Pick<JobSpecInit, 'requester' | 'nonce' | 'deadline'>> & {
    signal?: AbortSignal;
    /**
     * Called before submitting a paid job (tasks × price.maxPerTask > 0) to put its escrow on
     * chain — the gateway refuses a paid job without it (INSUFFICIENT_ESCROW). `lode run` passes
     * one that deposits with @lode/ledger's `depositEscrow`.
     */
    fund?: (job: { spec: JobSpec; jobId: string; maxCost: bigint }) => Promise<void>;
  };
export type SubmitJobReturnType = JobView;

/**
 * Builds a JobSpec (requester = the client's account, a random 32-byte nonce, deadline 24 h
 * from now unless given), validates it, signs it (EIP-712, for this gateway and its chain: see
 * `getIdentity`), funds its escrow through `fund`
 * when it is a paid job, and submits it. Resolves to the
 * job as the gateway stored it; submitting the same signed spec twice gives the same job.
 * Throws `InvalidRequestError` (zod) before any network call if the spec is not valid.
 *
 * @example
 * const job = await submitJob(client, { module: sha256, tasks: [{ args: ['10'] }] });
 */
export async function submitJob(client: LodeClient, params: SubmitJobParameters): Promise<SubmitJobReturnType> {
  const { signed } = await signSubmission(client, params, 'submitJob');
  return requestJson(client, JobView, { method: 'POST', path: '/v1/jobs', body: signed, signal: params.signal, auth: true });
}

/** Builds, validates, signs and (for a paid job) funds a submission: what `submitJob` and `runJob` send. */
export async function signSubmission(client: LodeClient, params: SubmitJobParameters, action: string): Promise<{ spec: JobSpec; signed: SignedJob }> {
  const { signal, fund, ...init } = params;
  const account = client.account;
  if (!account) throw new AccountRequiredError(action);
  const spec = parseSpec({
    ...init,
    version: 1,
    requester: init.requester ?? account.address,
    nonce: init.nonce ?? randomNonce(),
    deadline: init.deadline ?? Date.now() + DEFAULTS.deadlineMs,
  });
  const { gateway, chainId } = await identityOf(client, signal);
  const signed = await signJob(account, spec, { gateway: gateway as `0x${string}`, chainId });
  const maxCost = maxJobCost(spec);
  if (maxCost > 0n && fund) await fund({ spec, jobId: jobIdOf(spec), maxCost });
  return { spec, signed };
}

/** Validates the spec locally so a mistake is reported with its path, before anything is signed or sent. */
function parseSpec(init: JobSpecInit): JobSpec {
  const parsed = JobSpec.safeParse(init);
  if (parsed.success) return parsed.data;
  const first = parsed.error.issues[0];
  const where = first?.path.join('.') || 'spec';
  throw new InvalidRequestError(`The job spec is not valid at ${where}: ${first?.message}. Fix it before submitting.`, {
    details: parsed.error.message,
  });
}

function randomNonce(): Hex {
  return bytesToHex(crypto.getRandomValues(new Uint8Array(32)));
}
