/**
 * Protocol-wide limits and defaults. Gateways may be configured tighter, never looser.
 */
export const LIMITS = {
  /** Largest WASM module a job may use. @default 32 MiB */
  maxModuleBytes: 32 * 1024 * 1024,
  /** Largest blob (module or input file) the gateway stores. @default 64 MiB */
  maxBlobBytes: 64 * 1024 * 1024,
  /** Most tasks in one job. @default 100,000 */
  maxTasksPerJob: 100_000,
  /** Largest stdin carried inline in a task input (use a blob beyond). @default 64 KiB */
  maxInlineStdinBytes: 64 * 1024,
  /** Largest JSON body the gateway parses. @default 64 MiB */
  maxBodyBytes: 64 * 1024 * 1024,
  /** Largest memory a task may ask for. @default 4096 MiB */
  maxMemoryMiB: 4096,
  /** Longest wall time a task may ask for. @default 1 hour */
  maxWallMs: 60 * 60 * 1000,
  /** Largest output (stdout + stderr + files) a task may ask for. @default 64 MiB */
  maxOutputBytes: 64 * 1024 * 1024,
  /** Most fuel a task may ask for: results carry fuelUsed as a JSON number, exact up to 2^53 − 1. */
  maxFuel: Number.MAX_SAFE_INTEGER,
  /** Largest k of `replicate(k)` (up to 2k + 1 = 11 results per task). */
  maxReplicationK: 5,
  /** Smallest error rate `target(errorRate)` may ask for. */
  minTargetErrorRate: 1e-12,
  /** A WASI exit code is a u32. */
  maxExitCode: 0xffff_ffff,
  /** Most files (written or deleted) one task's result may list. @default 10,000 */
  maxOutputFiles: 10_000,
  /** Longest error message a node may report for a task (characters). @default 4,096 */
  maxErrorMessageChars: 4096,
  /** Longest run time a node may report for one task (ms); a task's wall time is at most an hour. @default 1 day */
  maxReportedDurationMs: 24 * 60 * 60 * 1000,
  /** Most task outcomes in one results frame. @default 10,000 */
  maxResultsPerFrame: 10_000,
} as const;

export const DEFAULTS = {
  /** @default 256 MiB */
  memoryMiB: 256,
  /** @default 30 s */
  wallMs: 30_000,
  /** @default 4 MiB */
  maxOutputBytes: 4 * 1024 * 1024,
  /**
   * Fuel per task (≈ WASM instructions, weighted; see @lode/sandbox metering/costs.ts): 20 billion,
   * 10–30 s of optimised code on a current core. @default 20_000_000_000
   */
  fuel: 20_000_000_000,
  /** How long a job may run before its unfinished tasks fail. @default 24 h */
  deadlineMs: 24 * 60 * 60 * 1000,
} as const;

export const PROTOCOL_VERSION = 1;
