/**
 * The Sandbox contract. The node agent (and later the browser contributor page) depends only on
 * this file; the WASI layer and the worker pool implement it.
 *
 * Guarantees:
 * - A task sees only what is given here: args, env, stdin, files under its mounts. No host
 *   files, no network (socket calls answer ENOTSUP/EBADF), no real clock or entropy: clocks and
 *   random bytes are derived from `seed`, so two runs of the same task give the same bytes.
 * - Limits hold whatever the module does: memory (the module's memory maximum is capped at
 *   `limits.memoryMiB`), wall time (the worker is terminated and replaced), output size.
 * - `run` never throws for anything the module does; it resolves to a `SandboxResult` with
 *   status `failed` and an error code from `SandboxErrorCode`. It throws only if the pool is closed
 *   (`SandboxClosedError`) or the task itself is malformed (`InvalidRequestError`: a seed that is
 *   not 64 hex digits, an input file under no mount). A module that was never added resolves to
 *   a failed result with SANDBOX_BLOB_UNAVAILABLE.
 */
import type { Mount, SandboxErrorCode } from '@lode/protocol';

export interface SandboxFile {
  /** Absolute guest path, e.g. /in/data.txt */
  path: string;
  data: Uint8Array;
}

export interface SandboxLimits {
  memoryMiB: number;
  wallMs: number;
  /** Cap on stdout + stderr + returned files, in bytes. */
  maxOutputBytes: number;
}

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
  /** Files under writable mounts that were created or changed, sorted by path. */
  files: SandboxFile[];
  /** Paths under writable mounts, given as input files, that the task deleted. */
  deleted: string[];
  /** `resultDigest` (from @lode/protocol) of exitCode/stdout/stderr/files/deleted. */
  resultHash: string;
  error?: { code: SandboxErrorCode; message: string };
  durationMs: number;
}

export interface Sandbox {
  /** Compiles (once) and caches a module by its sha256. Throws InvalidModuleError if it is not usable. */
  addModule(hash: string, bytes: Uint8Array): Promise<void>;
  hasModule(hash: string): boolean;
  run(task: SandboxTask): Promise<SandboxResult>;
  /** Runs several tasks, in one hop to a worker where possible (the hot path for tiny tasks). */
  runBatch(tasks: SandboxTask[]): Promise<SandboxResult[]>;
  /** Tasks that can run at once (the number of workers). */
  readonly concurrency: number;
  close(): Promise<void>;
}
