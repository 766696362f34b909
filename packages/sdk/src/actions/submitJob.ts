import { DEFAULTS, InvalidRequestError, JobSpec, JobView, signJob, type JobSpecInit } from '@lode/protocol';
import { bytesToHex, type Hex } from 'viem';
import type { LodeClient } from '../client.js';
import { AccountRequiredError } from '../errors.js';
import { requestJson } from '../request.js';

/** A JobSpec as a requester writes it: `version`, `requester`, `nonce` and `deadline` are filled in when left out. */
export type SubmitJobParameters = Omit<JobSpecInit, 'version' | 'requester' | 'nonce' | 'deadline'> &
  Partial<Pick<JobSpecInit, 'requester' | 'nonce' | 'deadline'>> & { signal?: AbortSignal };
export type SubmitJobReturnType = JobView;

/**
 * Builds a JobSpec (requester = the client's account, a random 32-byte nonce, deadline 24 h
 * from now unless given), validates it, signs it (EIP-712) and submits it. Resolves to the
 * job as the gateway stored it; submitting the same signed spec twice gives the same job.
 * Throws `InvalidRequestError` (zod) before any network call if the spec is not valid.
 *
 * @example
 * const job = await submitJob(client, { module: sha256, tasks: [{ args: ['10'] }] });
 */
export async function submitJob(client: LodeClient, params: SubmitJobParameters): Promise<SubmitJobReturnType> {
  const { signal, ...init } = params;
  const account = client.account;
  if (!account) throw new AccountRequiredError('submitJob');
  const spec = parseSpec({
    ...init,
    version: 1,
    requester: init.requester ?? account.address,
    nonce: init.nonce ?? randomNonce(),
    deadline: init.deadline ?? Date.now() + DEFAULTS.deadlineMs,
  });
  const signed = await signJob(account, spec);
  return requestJson(client, JobView, { method: 'POST', path: '/v1/jobs', body: signed, signal });
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
