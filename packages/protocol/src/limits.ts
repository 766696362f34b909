import { MAX_RESULT_ENTRIES } from './result.js';

/**
 * Protocol-wide limits and defaults. Gateways may be configured tighter, never looser.
 */
export const LIMITS = {
  /** Largest WASM module a job may use. @default 32 MiB */
  maxModuleBytes: 32 * 1024 * 1024,
  /**
   * What a module may declare (checked by `inspectModule` at submission and on every node, so a
   * module over one is refused with INVALID_MODULE naming it). Engines allocate what a module
   * declares before any of its code runs (a 654-byte module of 100 tables of 10M entries asks
   * for ~28 GB), and compile time and memory grow with the product of a function's locals and
   * its blocks: the caps keep every module's cost to a node bounded. A real large program
   * (PostgreSQL as WebAssembly, 9 MB) uses under a tenth of each. See docs/trust.md.
   */
  module: {
    /** Function signatures. @default 10,000 */
    maxTypes: 10_000,
    /** Imports (WASI offers 46 functions). @default 1,000 */
    maxImports: 1_000,
    /** Exports. @default 10,000 */
    maxExports: 10_000,
    /** Functions, imported and defined. @default 100,000 */
    maxFunctions: 100_000,
    /** Bytes of one function body. @default 1 MiB */
    maxFunctionBodyBytes: 1024 * 1024,
    /** Locals of one function, parameters included. @default 10,000 */
    maxFunctionLocals: 10_000,
    /** Nesting of blocks, loops and ifs in one function. @default 10,000 */
    maxBlockDepth: 10_000,
    /**
     * Σ over one function's blocks, loops, ifs and elses of (locals + operand-stack height on
     * entry): what V8's baseline compiler copies, ~24 bytes each (measured). @default 4,000,000
     */
    maxBlockCells: 4_000_000,
    /**
     * Deepest nesting × locals of one function: what V8's optimizing compiler keeps, ~230 bytes
     * each (measured; 50M aborts the process). @default 500,000
     */
    maxNestedCells: 500_000,
    /** Tables (C, Rust, Zig and AssemblyScript use one). @default 16 */
    maxTables: 16,
    /**
     * Elements of all tables together, initially and after any `table.grow` (a funcref entry
     * costs ~28 bytes in V8, measured; initial entries count against the task's memory). @default 1,000,000
     */
    maxTableElements: 1_000_000,
    /** Globals. @default 100,000 */
    maxGlobals: 100_000,
    /** Data segments. @default 50,000 */
    maxDataSegments: 50_000,
    /** Bytes of all data segments together (larger inputs belong in files). @default 16 MiB */
    maxDataBytes: 16 * 1024 * 1024,
    /** Element segments. @default 10,000 */
    maxElementSegments: 10_000,
    /** Entries of all element segments together. @default 1,000,000 */
    maxElementEntries: 1_000_000,
    /** The module as the sandbox runs it, fuel metering and NaN canonicalization added. @default 64 MiB */
    maxInstrumentedBytes: 64 * 1024 * 1024,
  },
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
  maxOutputFiles: MAX_RESULT_ENTRIES,
  /** Longest error message a node may report for a task (characters). @default 4,096 */
  maxErrorMessageChars: 4096,
  /** Longest run time a node may report for one task (ms); a task's wall time is at most an hour. @default 1 day */
  maxReportedDurationMs: 24 * 60 * 60 * 1000,
  /** Most task outcomes in one results frame. @default 10,000 */
  maxResultsPerFrame: 10_000,
  /** Largest WebSocket frame a node may send before its hello is accepted. @default 64 KiB */
  maxFrameBeforeHelloBytes: 64 * 1024,
  /**
   * Largest device credential (a VC as a JWT, deviceCredential.ts) a verifier reads: checked
   * before anything is decoded. One that a gateway issues is ~2 KiB (its labels are bounded).
   * @default 16 KiB
   */
  maxDeviceCredentialBytes: 16 * 1024,
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

/** The node protocol's version: 2 binds every signature to its gateway and chain (EIP-712 domain) and adds expiries. */
export const PROTOCOL_VERSION = 2;
