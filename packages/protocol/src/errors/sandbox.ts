import { LodeError } from './base.js';

/**
 * Why a task failed inside the sandbox. These codes travel in task results
 * (`TaskOutcome.error.code`), so they are part of the protocol.
 */
export const SandboxErrorCode = {
  /** The module trapped (unreachable, out-of-bounds access, division by zero, stack overflow). */
  Trap: 'SANDBOX_TRAP',
  /** The task ran past its wall-time limit and its worker was terminated. */
  Timeout: 'SANDBOX_TIMEOUT',
  /** The module tried to grow memory past the task's cap. */
  MemoryLimit: 'SANDBOX_MEMORY_LIMIT',
  /** stdout + stderr + output files exceeded the task's output cap. */
  OutputLimit: 'SANDBOX_OUTPUT_LIMIT',
  /** The module could not be compiled or instantiated (bad import, not WASI). */
  InvalidModule: 'SANDBOX_INVALID_MODULE',
  /** The worker running the task died for another reason. */
  WorkerCrashed: 'SANDBOX_WORKER_CRASHED',
  /** The node could not fetch the module or an input blob. */
  BlobUnavailable: 'SANDBOX_BLOB_UNAVAILABLE',
  /** The task used all of its fuel (limits.fuel): stopped deterministically, at the same instruction on every device. */
  FuelExhausted: 'SANDBOX_FUEL_EXHAUSTED',
  /** The task was cancelled by its caller (the job was cancelled or its lease expired). */
  Cancelled: 'SANDBOX_CANCELLED',
} as const;
export type SandboxErrorCode = (typeof SandboxErrorCode)[keyof typeof SandboxErrorCode];

const MESSAGES: Record<SandboxErrorCode, string> = {
  SANDBOX_TRAP: 'The module trapped.',
  SANDBOX_TIMEOUT: 'The task ran past its wall-time limit and was stopped. Raise limits.wallMs or make the task smaller.',
  SANDBOX_MEMORY_LIMIT: 'The task tried to use more memory than its cap. Raise resources.memoryMiB or use less memory.',
  SANDBOX_OUTPUT_LIMIT: 'The task wrote more output than its cap. Raise limits.maxOutputBytes or write less.',
  SANDBOX_INVALID_MODULE: 'The module could not be instantiated as a WASI preview1 program.',
  SANDBOX_WORKER_CRASHED: 'The sandbox worker crashed while running the task.',
  SANDBOX_BLOB_UNAVAILABLE: 'The node could not fetch the module or an input file from the gateway.',
  SANDBOX_CANCELLED: 'The task was cancelled before it finished.',
  SANDBOX_FUEL_EXHAUSTED: 'The task used all of its fuel and was stopped. Raise limits.fuel, or look for a loop that never ends.',
};

/** A task failed in the sandbox; `code` is one of `SandboxErrorCode`. */
export class SandboxError extends LodeError {
  readonly code: SandboxErrorCode;
  override readonly httpStatus = 422;
  constructor(code: SandboxErrorCode, details?: string, cause?: unknown) {
    super(MESSAGES[code], { details, cause });
    this.code = code;
  }
}
