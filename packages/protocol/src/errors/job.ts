import { LodeError } from './base.js';

/** The workload is not a valid WebAssembly module (or breaks a sandbox rule such as no memory cap). */
export class InvalidModuleError extends LodeError {
  readonly code = 'INVALID_MODULE';
  override readonly httpStatus = 422;
}

/** The job refers to a blob (module or input file) the gateway does not hold. Upload it first. */
export class MissingBlobError extends LodeError {
  readonly code = 'MISSING_BLOB';
  override readonly httpStatus = 422;
  constructor(sha256: string) {
    super(`Blob ${sha256} is not on the gateway. Upload it with PUT /v1/blobs/${sha256} first.`, {
      meta: { sha256 },
    });
  }
}

/** A blob's bytes do not hash to the address they were stored or fetched under. */
export class BlobHashMismatchError extends LodeError {
  readonly code = 'BLOB_HASH_MISMATCH';
  override readonly httpStatus = 400;
}

/** The job's deadline passed before all tasks finished. */
export class DeadlineExceededError extends LodeError {
  readonly code = 'DEADLINE_EXCEEDED';
  override readonly httpStatus = 408;
}

/** The job cannot change state that way (for instance, cancel a finished job). */
export class JobStateError extends LodeError {
  readonly code = 'JOB_STATE';
  override readonly httpStatus = 409;
}

/**
 * A task's results could not be verified: replicas disagreed until the job's verification
 * policy's cap (2k + 1 results for replicate(k)). Usually the module is not deterministic (it
 * reads something that differs between runs); otherwise too many nodes answered wrongly.
 */
export class VerificationFailedError extends LodeError {
  readonly code = 'VERIFICATION_FAILED';
  override readonly httpStatus = 422;
}

/**
 * The gateway's database refused a task's result (a value it cannot store); the task failed
 * with this code while every other result was stored. Nothing to retry: report it to the
 * gateway's operator with the job id and task index.
 */
export class ResultUnstorableError extends LodeError {
  readonly code = 'RESULT_UNSTORABLE';
  override readonly httpStatus = 500;
}
