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
import { canonicalJson, sha256Hex } from './encoding.js';
import { Address, HexSignature, Bytes32Hex, GuestPath, Sha256Hex, TaskInput } from './jobSpec.js';

export const Capabilities = z.strictObject({
  cores: z.number().int().min(1).max(4096),
  memoryMiB: z.number().int().min(1),
  os: z.string().max(64),
  arch: z.string().max(64),
  /** Device kind, for the dashboard. */
  kind: z.enum(['server', 'laptop', 'board', 'browser', 'unknown']).default('unknown'),
  /** Tasks the node runs at once. */
  slots: z.number().int().min(1).max(1024),
  /** Price per task, decimal string in the token's smallest unit. */
  pricePerTask: z.string().regex(/^(0|[1-9][0-9]{0,77})$/),
  /**
   * Price per unit of fuel a task uses, token's smallest unit; absent means 0. Optional without
   * a default, so a hello signed by a node that does not send it still verifies.
   */
  pricePerFuel: z.string().regex(/^(0|[1-9][0-9]{0,77})$/).optional(),
  /** Short benchmark result: iterations per millisecond of a fixed WASM kernel. */
  benchmark: z.number().min(0),
  agent: z.string().max(128),
});
export type Capabilities = z.infer<typeof Capabilities>;

// ---- gateway → node

export const ChallengeMsg = z.strictObject({
  t: z.literal('challenge'),
  challenge: Bytes32Hex,
  protocol: z.number().int(),
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

export const GatewayMessage = z.discriminatedUnion('t', [ChallengeMsg, WelcomeMsg, LeaseMsg, CancelMsg, ErrorMsg, AckMsg]);
export type GatewayMessage = z.infer<typeof GatewayMessage>;

// ---- node → gateway

export const HelloMsg = z.strictObject({
  t: z.literal('hello'),
  protocol: z.number().int(),
  node: Address,
  capabilities: Capabilities,
  timestamp: z.number().int(),
  signature: HexSignature,
});
export type HelloMsg = z.infer<typeof HelloMsg>;

export const OutputFile = z.strictObject({ path: GuestPath, data: z.string() /* base64 */ });

export const TaskOutcome = z.strictObject({
  leaseId: z.string(),
  /** ok: the module ran to completion (any exit code). failed: the sandbox stopped it. */
  status: z.enum(['ok', 'failed']),
  exitCode: z.number().int().nullable(),
  stdout: z.string(), // base64
  stderr: z.string(), // base64
  files: z.array(OutputFile),
  deleted: z.array(GuestPath).default([]),
  /** `resultDigest` of the above; the gateway recomputes and refuses a mismatch. */
  resultHash: Sha256Hex,
  error: z.strictObject({ code: z.string(), message: z.string() }).optional(),
  /**
   * Fuel the task used, counted inside the module: identical on every device. Absent when the
   * run was stopped from outside (timeout, cancel, crash). Not part of resultHash; replicas
   * compare it beside the hash, and the node is paid by it.
   */
  fuelUsed: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  durationMs: z.number().min(0),
});
export type TaskOutcome = z.infer<typeof TaskOutcome>;

export const ResultsMsg = z.strictObject({ t: z.literal('results'), results: z.array(TaskOutcome).min(1) });
export const HeartbeatMsg = z.strictObject({ t: z.literal('heartbeat'), running: z.number().int().min(0) });
/** The node will take no new leases; it finishes what it holds, then closes. */
export const DrainMsg = z.strictObject({ t: z.literal('drain') });

export const NodeMessage = z.discriminatedUnion('t', [HelloMsg, ResultsMsg, HeartbeatMsg, DrainMsg]);
export type NodeMessage = z.infer<typeof NodeMessage>;

/** What a node's hello signs over its capabilities: sha256 of their canonical JSON. */
export function capabilitiesHash(caps: Capabilities): `0x${string}` {
  return `0x${sha256Hex(canonicalJson(caps))}`;
}
