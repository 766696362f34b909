/**
 * What happens to an ordinary task when its node answers or loses its lease — decided here, by
 * pure functions, and applied in one place (`TaskExecutor.apply`, jobs/executor.ts). Tasks being
 * verified by several nodes are decided by their verifier (verify/jobVerification.ts), also pure.
 *
 * Guarantees of the decisions (a property test checks them over every input):
 * - A task that is not leased (it ended meanwhile: cancelled, deadline) is never ended again;
 *   its node's answer is acknowledged and dropped.
 * - A task is given out again only while it has attempts left (`RetryPolicy`); otherwise it ends.
 * - A refused answer (more fuel or output than the lease allows, a wrong hash) is an offence,
 *   is never the task's result, and is never paid.
 * - An infrastructure failure (a crashed worker, a blob the node could not fetch) is retried; a
 *   failure the module causes (trap, exit code, limits) is deterministic: it is the result, and
 *   the node is paid for the work.
 * - The node is acknowledged after the task's row is committed when its answer ends the task,
 *   at once when the answer is not kept, and never for a refused answer (it gets the refusal).
 */
import { entryFromWire, SandboxErrorCode, fromBase64, resultDigest, type EntryBytes, type Sha256Fn, type TaskOutcome } from '@lode/protocol';
import { TaskState } from './activeJob.js';

/** How often a task may run before an infrastructure failure is final. */
export class RetryPolicy {
  static readonly RETRYABLE = new Set<string>([SandboxErrorCode.WorkerCrashed, SandboxErrorCode.BlobUnavailable]);

  /** @param maxAttempts leases per task, the first included. @default 5 */
  constructor(readonly maxAttempts = 5) {}

  /** Failures that say nothing about the module: the task may run again. */
  retryable(code: string): boolean {
    return RetryPolicy.RETRYABLE.has(code);
  }

  /** Whether a task that was leased `attempts` times may be leased again. */
  mayRetry(attempts: number): boolean {
    return attempts < this.maxAttempts;
  }

  /** The final error's message once a task gave up. */
  gaveUp(message: string, attempts: number): string {
    return `${message} Gave up after ${attempts} attempts.`;
  }
}

/** A task's output, decoded from its outcome's base64. */
export interface Output {
  stdout: Uint8Array;
  stderr: Uint8Array;
  files: EntryBytes[];
}

/** Why an answer is refused: told to the node (`message`), held against it (`offence`). */
export interface Refusal {
  code: 'INVALID_RESULT' | 'RESULT_HASH_MISMATCH';
  message: string;
  offence: string;
  meta: Record<string, unknown>;
}

export type OutputCheck = { ok: true; output: Output } | { ok: false; refusal: Refusal };

/**
 * The output of an outcome, or why it is refused: more fuel or output than the lease allows, or
 * not what its hash says (recomputed here; never trusted). An honest node's sandbox never
 * reports any of these.
 */
export function checkOutput(outcome: TaskOutcome, limits: { fuel: number; maxOutputBytes: number }, sha256: Sha256Fn): OutputCheck {
  if (outcome.fuelUsed !== undefined && outcome.fuelUsed > limits.fuel) {
    return refused(
      'INVALID_RESULT',
      `fuelUsed ${outcome.fuelUsed} is above the lease's fuel limit of ${limits.fuel}; the result was refused.`,
      'The node reported more fuel than its lease allows.',
      {
        fuelUsed: outcome.fuelUsed,
        limit: limits.fuel,
      },
    );
  }
  // Base64 that is not valid decodes to other bytes; the digest check below refuses those.
  const stdout = fromBase64(outcome.stdout);
  const stderr = fromBase64(outcome.stderr);
  const files = outcome.files.map(entryFromWire);
  const outputBytes = stdout.byteLength + stderr.byteLength + files.reduce((n, f) => n + f.data.byteLength, 0);
  if (outputBytes > limits.maxOutputBytes) {
    return refused(
      'INVALID_RESULT',
      `Output of ${outputBytes} bytes exceeds the task's maxOutputBytes.`,
      'The node returned more output than the task allows.',
      { outputBytes },
    );
  }
  const digest = resultDigest({ exitCode: outcome.exitCode, stdout, stderr, files, deleted: outcome.deleted }, sha256);
  if (digest !== outcome.resultHash) {
    return refused('RESULT_HASH_MISMATCH', 'resultHash does not match the output.', 'The node reported a result hash that does not match its output.', {});
  }
  return { ok: true, output: { stdout, stderr, files } };
}

function refused(code: Refusal['code'], message: string, offence: string, meta: Record<string, unknown>): OutputCheck {
  return { ok: false, refusal: { code, message, offence, meta } };
}

/** A failed outcome's error (a node that gave none gets a generic one). */
export const errorOf = (o: TaskOutcome): { code: string; message: string } => o.error ?? { code: 'FAILED', message: 'The task failed.' };

/** What to do with a task and its lease; applied by `TaskExecutor.apply`. */
export interface TaskPlan {
  /** Acknowledge the lease: `now`, `after-commit` (of the row `end` writes), or not at all. */
  ack: 'now' | 'after-commit' | 'no';
  /** Refuse the node's answer (it hears why; the answer is dropped). */
  reject?: Refusal;
  /** Queue the task again (one attempt more). */
  requeue: boolean;
  /**
   * End the task: its state, its error, the node's output when its row keeps it (else the row is
   * an empty failed row), and whether the node's execution is paid.
   */
  end?: { state: typeof TaskState.Done | typeof TaskState.Failed; error: { code: string; message: string } | null; output?: Output; paid: boolean };
}

/** What an ordinary task knows of itself when its node answers or goes away. */
export interface TaskFacts {
  state: number;
  /** Leases so far, this one included. */
  attempts: number;
}

const NOTHING: TaskPlan = { ack: 'no', requeue: false };

/**
 * A node answered for a task it holds the lease of. `checkOutput` (see above, bound to the
 * lease) is called only when the answer could be kept.
 */
export function decideResult(task: TaskFacts, outcome: TaskOutcome, checkOutput: () => OutputCheck, retry: RetryPolicy): TaskPlan {
  if (task.state !== TaskState.Leased) return { ack: 'now', requeue: false }; // ended already: nothing to keep
  const check = checkOutput();
  if (!check.ok) {
    const { refusal } = check;
    if (retry.mayRetry(task.attempts)) return { ack: 'no', reject: refusal, requeue: true };
    return {
      ack: 'no',
      reject: refusal,
      requeue: false,
      end: { state: TaskState.Failed, error: { code: refusal.code, message: retry.gaveUp(refusal.offence, task.attempts) }, paid: false },
    };
  }
  const ok = outcome.status === 'ok';
  const error = ok ? null : errorOf(outcome);
  const infrastructure = error !== null && retry.retryable(error.code);
  if (infrastructure && retry.mayRetry(task.attempts)) return { ack: 'now', requeue: true };
  // Not retryable, or attempts used up: the node's outcome is the task's result. The node did the
  // work whether the module succeeded or failed by itself; an infrastructure failure is not paid.
  return { ack: 'after-commit', requeue: false, end: { state: ok ? TaskState.Done : TaskState.Failed, error, output: check.output, paid: !infrastructure } };
}

/** Why a lease ended without an answer. */
export type LeaseLoss = 'expired' | 'node-left';

export const LOSS_ERRORS: Record<LeaseLoss, { code: string; message: string }> = {
  expired: { code: 'LEASE_EXPIRED', message: 'The node did not return a result before its lease expired.' },
  'node-left': { code: 'NODE_LEFT', message: 'The node disconnected while holding the task.' },
};

/** An ordinary task's lease ended without an answer (its node left, or it expired). */
export function decideLost(task: TaskFacts, reason: LeaseLoss, retry: RetryPolicy): TaskPlan {
  if (task.state !== TaskState.Leased) return NOTHING;
  if (retry.mayRetry(task.attempts)) return { ack: 'no', requeue: true };
  const e = LOSS_ERRORS[reason];
  return { ack: 'no', requeue: false, end: { state: TaskState.Failed, error: { code: e.code, message: retry.gaveUp(e.message, task.attempts) }, paid: false } };
}
