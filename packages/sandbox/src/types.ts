/**
 * The Sandbox contract. The node agent (and later the browser contributor page) depends only on
 * this file; the WASI layer and the worker pool implement it.
 *
 * Guarantees:
 * - A task sees only what is given here: args, env, stdin, files under its mounts. No host
 *   files, no network (socket calls answer ENOTSOCK/EBADF), no real clock or entropy: clocks and
 *   random bytes are derived from `seed`, so two runs of the same task give the same bytes.
 * - Limits hold whatever the module does: memory (the module's memory maximum is capped at
 *   `limits.memoryMiB`), fuel (`limits.fuel`: the module counts its own work, see
 *   metering/instrument.ts; a task that needs more fails with SANDBOX_FUEL_EXHAUSTED at the same
 *   instruction on every device), wall time (the worker is terminated and replaced), output size.
 * - `fuelUsed` is deterministic: the same module and task give the same value on every run, in
 *   the worker pool, inline (`runTask`) and in a browser.
 * - `run` never throws for anything the module does; it resolves to a `SandboxResult` with
 *   status `failed` and an error code from `SandboxErrorCode`. It throws only if the pool is closed
 *   (`SandboxClosedError`) or the task itself is malformed (`InvalidRequestError`: a seed that is
 *   not 64 hex digits, an input file under no mount). A module that was never added resolves to
 *   a failed result with SANDBOX_BLOB_UNAVAILABLE.
 * - Cancellation (`signal` on `run`/`runBatch`, or `cancel(task)`): a cancelled task's promise
 *   resolves promptly, without waiting for the module, to a failed result with SANDBOX_CANCELLED,
 *   and the task holds no worker afterwards: a queued task is dropped, a task waiting in a
 *   worker's batch is skipped, a running task's worker is terminated and replaced (as on a
 *   wall-time overrun). Other tasks, of the same batch or not, are unaffected: those that shared
 *   the terminated worker run again on a fresh one. Cancelling a task that has already been
 *   answered does nothing; a signal that is already aborted cancels the call's tasks at once.
 */
import type { Mount, SandboxErrorCode } from '@lode/protocol';
import type { FUEL_EXHAUSTED } from './metering/fuel.js';

/**
 * An entry of the task's tree, in or out: a regular file (no `kind`), a directory (`kind: 'dir'`,
 * empty `data`) or a symlink (`kind: 'symlink'`, `data` its target as UTF-8, kept as a link and
 * followed only inside the sandbox). Results list directories only where they are empty.
 */
export interface SandboxFile {
  /** Absolute guest path, e.g. /in/data.txt */
  path: string;
  data: Uint8Array;
  kind?: 'dir' | 'symlink';
}

export interface SandboxLimits {
  memoryMiB: number;
  wallMs: number;
  /** Cap on stdout + stderr + returned files, in bytes. */
  maxOutputBytes: number;
  /**
   * Fuel the task may use (see costs.ts for what an instruction costs): an integer up to 2^53 − 1.
   * A task that needs more fails with SANDBOX_FUEL_EXHAUSTED, deterministically — a runaway loop
   * stops at the same instruction on every device, long before the wall-time limit.
   * @default DEFAULT_FUEL (20 billion)
   */
  fuel?: number | bigint;
}

/** The codes of a failed result: the protocol's, plus SANDBOX_FUEL_EXHAUSTED (see metering/fuel.ts). */
export type SandboxFailureCode = SandboxErrorCode | typeof FUEL_EXHAUSTED;

export interface SandboxTask {
  /** sha256 hex of the module bytes; the module must have been added with `addModule`. */
  moduleHash: string;
  /** argv[1..]; argv[0] is set to the module hash's first 12 digits + '.wasm'. */
  args: string[];
  env: Record<string, string>;
  stdin: Uint8Array;
  /** Placed before start. Each must lie under a mount (or /in, /out). */
  files: SandboxFile[];
  /** Extra preopened directories; `/in` (read-only) and `/out` (writable) always exist. */
  mounts: Mount[];
  /** 64 hex digits; seeds clocks and randomness. */
  seed: string;
  limits: SandboxLimits;
}

export interface SandboxResult {
  /** ok: ran to completion (exit code may be non-zero). failed: stopped by the sandbox. */
  status: 'ok' | 'failed';
  exitCode: number | null;
  stdout: Uint8Array;
  stderr: Uint8Array;
  /**
   * Entries under writable mounts that were created or changed, sorted by path: files, symlinks,
   * and directories left empty. At most LIMITS.maxOutputFiles (more fails SANDBOX_OUTPUT_LIMIT).
   */
  files: SandboxFile[];
  /** Paths under writable mounts, given as input entries, that the task deleted. */
  deleted: string[];
  /** `resultDigest` (from @lode/protocol) of exitCode/stdout/stderr/files/deleted. */
  resultHash: string;
  error?: { code: SandboxFailureCode; message: string };
  /**
   * Fuel the task used: `limits.fuel` minus what was left; exactly `limits.fuel` for
   * SANDBOX_FUEL_EXHAUSTED. The same on every run and every device (it is counted inside the
   * module), and not part of `resultHash` (replicas compare it beside the hash). Present whenever
   * the module was metered (always, in `createNodeSandbox`) and its run ended by itself or by
   * a limit it hit: ok, trap, output, memory and fuel limits. Absent when the sandbox stopped
   * it from outside (timeout, cancellation, crash), when the module was not metered, and after a
   * stack overflow (how deep a stack goes depends on the engine and thread).
   */
  fuelUsed?: number;
  durationMs: number;
}

/** Options for `Sandbox.run`. */
export interface SandboxRunOptions {
  /** Aborting it cancels the task (see the guarantees above). */
  signal?: AbortSignal;
}

/** Options for `Sandbox.runBatch`. */
export interface SandboxBatchOptions {
  /**
   * Aborting it cancels every task of the batch not yet answered. One signal covers the whole
   * call; to cancel single tasks of a batch use `Sandbox.cancel(task)`, which needs no signal
   * (an AbortSignal costs several µs to create, more than a tiny task's overhead here).
   */
  signal?: AbortSignal;
}

export interface Sandbox {
  /**
   * Checks, meters (fuel, NaN canonicalization), compiles (once) and caches a module by its
   * sha256 — off the calling thread, within the pool's preparation budget. Throws
   * BlobHashMismatchError; InvalidModuleError if it is not usable (not a WASI command, past a
   * cap of LIMITS.module, a feature metering or determinism refuses), remembered for the hash;
   * SandboxError SANDBOX_TIMEOUT (preparing it ran past the budget) or SANDBOX_WORKER_CRASHED.
   */
  addModule(hash: string, bytes: Uint8Array): Promise<void>;
  hasModule(hash: string): boolean;
  run(task: SandboxTask, options?: SandboxRunOptions): Promise<SandboxResult>;
  /**
   * Runs several tasks, in one hop to a worker where possible (the hot path for tiny tasks).
   * Results are in task order; a cancelled task's slot holds its SANDBOX_CANCELLED result.
   */
  runBatch(tasks: SandboxTask[], options?: SandboxBatchOptions): Promise<SandboxResult[]>;
  /**
   * Cancels the unanswered run(s) of this task object (the very object given to `run` or
   * `runBatch`; compared by identity). Returns false, doing nothing, if none is unanswered.
   */
  cancel(task: SandboxTask): boolean;
  /** Tasks that can run at once (the number of workers). */
  readonly concurrency: number;
  close(): Promise<void>;
}
