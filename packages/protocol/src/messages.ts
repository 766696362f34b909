/**
 * The node ⇄ gateway protocol: JSON text frames over one WebSocket per node session.
 *
 * Session: gateway sends `challenge`; node answers `hello` signed over the challenge (EIP-712
 * NodeHello); gateway answers `welcome` (or `error` and closes). From then on the session is
 * authenticated by the socket itself: `lease` batches flow down, `results` batches flow up.
 * Messages are batched so a busy node exchanges a few frames per millisecond, not one per task.
 *
 * Guarantees:
 * - A lease is held by exactly one node session until it completes, expires or is cancelled;
 *   a result for a lease the session does not hold is refused (`UNKNOWN_LEASE`) and ignored.
 * - Delivery is at-least-once per task (a lease may be re-issued elsewhere after a disconnect
 *   or expiry); the gateway accepts exactly one result per task.
 */
import { z } from 'zod';
import { canonicalJson, fromBase64, sha256Hex, toBase64 } from './encoding.js';
import { Address, HexSignature, Bytes32Hex, GuestPath, Sha256Hex, TaskInput, type TreeEntry } from './jobSpec.js';
import { LIMITS } from './limits.js';

/** A short label a node reports (no control characters: they end up in JSON columns and logs). */
const Label = (max: number) =>
  z
    .string()
    .max(max)
    .regex(/^[^\u0000-\u001f\u007f]*$/, 'no control characters');

/** What kind of device a node is, for the dashboard. */
export const DeviceKind = z.enum(['server', 'laptop', 'board', 'browser', 'unknown']);
export type DeviceKind = z.infer<typeof DeviceKind>;

export const Capabilities = z.strictObject({
  cores: z.number().int().min(1).max(4096),
  memoryMiB: z
    .number()
    .int()
    .min(1)
    .max(64 * 1024 * 1024),
  os: Label(64),
  arch: Label(64),
  /** Device kind, for the dashboard. */
  kind: DeviceKind.default('unknown'),
  /** Tasks the node runs at once. */
  slots: z.number().int().min(1).max(1024),
  /** Price per task, decimal string in the token's smallest unit. */
  pricePerTask: z.string().regex(/^(0|[1-9][0-9]{0,77})$/),
  /**
   * Price per unit of fuel a task uses, token's smallest unit; absent means 0. Optional without
   * a default, so a hello signed by a node that does not send it still verifies.
   */
  pricePerFuel: z
    .string()
    .regex(/^(0|[1-9][0-9]{0,77})$/)
    .optional(),
  /** Short benchmark result: iterations per millisecond of a fixed WASM kernel. */
  benchmark: z.number().min(0).max(1e12),
  agent: Label(128),
});
export type Capabilities = z.infer<typeof Capabilities>;

// ---- gateway → node

/**
 * Opens a session: a fresh challenge, and who is asking — the gateway's account and chain, which
 * the node's hello signs into its EIP-712 domain (a node checks the account against the one it
 * pinned for this URL before it signs).
 */
export const ChallengeMsg = z.strictObject({
  t: z.literal('challenge'),
  challenge: Bytes32Hex,
  protocol: z.number().int(),
  gateway: Address,
  chainId: z.number().int().min(0),
});

export const WelcomeMsg = z.strictObject({
  t: z.literal('welcome'),
  sessionId: z.string(),
  node: Address,
  heartbeatMs: z.number().int(),
});

export const LeaseLimits = z.strictObject({
  memoryMiB: z.number().int(),
  wallMs: z.number().int(),
  maxOutputBytes: z.number().int(),
  fuel: z.number().int().min(1),
});
export type LeaseLimits = z.infer<typeof LeaseLimits>;

export const Lease = z.strictObject({
  leaseId: z.string(),
  jobId: z.string(),
  taskIndex: z.number().int().min(0),
  module: Sha256Hex,
  input: TaskInput,
  limits: LeaseLimits,
  /** Seeds the task's deterministic clock and randomness: sha256(jobId ':' taskIndex). */
  seed: Sha256Hex,
  /** Unix ms after which the gateway may give the task to another node. */
  expiresAt: z.number().int(),
});
export type Lease = z.infer<typeof Lease>;

export const LeaseMsg = z.strictObject({ t: z.literal('lease'), leases: z.array(Lease) });
export const CancelMsg = z.strictObject({ t: z.literal('cancel'), leaseIds: z.array(z.string()) });
export const ErrorMsg = z.strictObject({
  t: z.literal('error'),
  code: z.string(),
  message: z.string(),
  leaseId: z.string().optional(),
});
/** Acknowledges results: these leases are settled on the gateway; the node may forget them. */
export const AckMsg = z.strictObject({ t: z.literal('ack'), leaseIds: z.array(z.string()) });

/**
 * Asks an idle node to move to another gateway of the same cluster, one with work waiting and too
 * few nodes (the cluster's rebalancing). A node moves only to a gateway on its own list (compared
 * by host), so a gateway cannot send its nodes anywhere else; otherwise it stays and says why.
 */
export const MoveMsg = z.strictObject({ t: z.literal('move'), to: z.string().url().max(2048) });

export const GatewayMessage = z.discriminatedUnion('t', [ChallengeMsg, WelcomeMsg, LeaseMsg, CancelMsg, ErrorMsg, AckMsg, MoveMsg]);
export type GatewayMessage = z.infer<typeof GatewayMessage>;

// ---- node → gateway

export const HelloMsg = z.strictObject({
  t: z.literal('hello'),
  protocol: z.number().int(),
  node: Address,
  capabilities: Capabilities,
  /** The `host:port` the node dialed (see `originOf`). */
  origin: z.string().min(1).max(255),
  /** Unix ms after which this hello is refused. */
  expiresAt: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  signature: HexSignature,
});
export type HelloMsg = z.infer<typeof HelloMsg>;

/**
 * One entry of a result's tree: a file's bytes, or with `kind` a directory the task left empty
 * (`data` empty) or a symlink (`data` its target as UTF-8), all base64.
 */
export const OutputFile = z.strictObject({ path: GuestPath, data: z.string() /* base64 */, kind: z.enum(['dir', 'symlink']).optional() });
export type OutputFile = z.infer<typeof OutputFile>;

/** A tree entry with its bytes (a sandbox's result, a stored result, what the SDK hands out). */
export interface EntryBytes {
  path: string;
  data: Uint8Array;
  kind?: 'dir' | 'symlink';
}

/** An entry as JSON carries it: bytes as base64, the kind kept (absent for a file). */
export function entryToWire(e: EntryBytes): OutputFile {
  return e.kind ? { path: e.path, data: toBase64(e.data), kind: e.kind } : { path: e.path, data: toBase64(e.data) };
}

const utf8 = new TextEncoder();

/** A directory or symlink input entry as bytes (a symlink's target as UTF-8); a file needs its blob fetched. */
export function entryOf(e: Exclude<TreeEntry, { blob: string }>): EntryBytes {
  return e.kind === 'dir' ? { path: e.path, data: new Uint8Array(0), kind: 'dir' } : { path: e.path, data: utf8.encode(e.target), kind: 'symlink' };
}

/** The inverse of `entryToWire`. */
export function entryFromWire(e: OutputFile): EntryBytes {
  return e.kind ? { path: e.path, data: fromBase64(e.data), kind: e.kind } : { path: e.path, data: fromBase64(e.data) };
}

/** A lease id as the gateway makes them (`<session>.<seq>`); anything longer is not one. */
export const LeaseId = z.string().min(1).max(64);
/** An error code: UPPER_SNAKE_CASE, as every LodeError's `code`. */
export const ErrorCode = z.string().regex(/^[A-Z][A-Z0-9_]{0,63}$/, 'expected an UPPER_SNAKE_CASE error code of at most 64 characters');

/**
 * One task's outcome as a node reports it. Every number is bounded by what it can honestly be:
 * a WASI exit code is a u32 (`proc_exit(-1)` is 4294967295), fuel at most the lease's limit
 * (checked by the gateway against the lease), a duration at most a day.
 */
export const TaskOutcome = z.strictObject({
  leaseId: LeaseId,
  /** ok: the module ran to completion (any exit code). failed: the sandbox stopped it. */
  status: z.enum(['ok', 'failed']),
  /** The WASI exit code (a u32), null when the module did not exit by itself. */
  exitCode: z.number().int().min(0).max(LIMITS.maxExitCode).nullable(),
  stdout: z.string(), // base64
  stderr: z.string(), // base64
  files: z.array(OutputFile).max(LIMITS.maxOutputFiles),
  deleted: z.array(GuestPath).max(LIMITS.maxOutputFiles).default([]),
  /** `resultDigest` of the above; the gateway recomputes and refuses a mismatch. */
  resultHash: Sha256Hex,
  error: z.strictObject({ code: ErrorCode, message: z.string().max(LIMITS.maxErrorMessageChars) }).optional(),
  /**
   * Fuel the task used, counted inside the module: identical on every device. Absent when the
   * run was stopped from outside (timeout, cancel, crash). Not part of resultHash; replicas
   * compare it beside the hash, and the node is paid by it — never above the lease's fuel limit
   * (the gateway refuses a result that claims more).
   */
  fuelUsed: z.number().int().min(0).max(LIMITS.maxFuel).optional(),
  durationMs: z.number().min(0).max(LIMITS.maxReportedDurationMs),
});
export type TaskOutcome = z.infer<typeof TaskOutcome>;

export const ResultsMsg = z.strictObject({ t: z.literal('results'), results: z.array(TaskOutcome).min(1).max(LIMITS.maxResultsPerFrame) });
export const HeartbeatMsg = z.strictObject({ t: z.literal('heartbeat'), running: z.number().int().min(0).max(1_000_000) });
/** The node will take no new leases; it finishes what it holds, then closes. */
export const DrainMsg = z.strictObject({ t: z.literal('drain') });

export const NodeMessage = z.discriminatedUnion('t', [HelloMsg, ResultsMsg, HeartbeatMsg, DrainMsg]);
export type NodeMessage = z.infer<typeof NodeMessage>;

/** What a node's hello signs over its capabilities: sha256 of their canonical JSON. */
export function capabilitiesHash(caps: Capabilities): `0x${string}` {
  return `0x${sha256Hex(canonicalJson(caps))}`;
}
