/**
 * HTTP API bodies (gateway ⇄ SDK). Paths:
 *   POST /v1/blobs                 raw bytes → BlobRef         (sha256 computed by the gateway)
 *   PUT  /v1/blobs/:sha256         raw bytes → BlobRef         (400 if the bytes do not hash to it)
 *   GET  /v1/blobs/:sha256         raw bytes | 404
 *   POST /v1/jobs                  SignedJob → JobView (201; 200 if the same signed job exists)
 *   GET  /v1/jobs?requester&status&limit          → { jobs: JobView[] }
 *   GET  /v1/jobs/:id              JobView | 404
 *   GET  /v1/jobs/:id/tasks?offset&limit          → { tasks: TaskView[] }
 *   GET  /v1/jobs/:id/results?offset&limit        → { results: TaskResultView[] }
 *   GET  /v1/jobs/:id/events       text/event-stream of JobEvent
 *   POST /v1/jobs/:id/cancel       SignedCancel → JobView
 *   GET  /v1/nodes                 → { nodes: NodeView[] }
 *   GET  /healthz, GET /metrics (Prometheus text), WS /v1/nodes/ws (node protocol)
 * Errors: `{ error: ErrorBody }` with the status of the error's class.
 */
import { z } from 'zod';
import { Address, HexSignature, Sha256Hex } from './jobSpec.js';
import { Capabilities, OutputFile } from './messages.js';

export const BlobRef = z.object({ sha256: Sha256Hex, size: z.number().int() });
export type BlobRef = z.infer<typeof BlobRef>;

export const JobStatus = z.enum(['queued', 'running', 'completed', 'failed', 'cancelled']);
export type JobStatus = z.infer<typeof JobStatus>;
export const TaskStatus = z.enum(['queued', 'leased', 'done', 'failed', 'cancelled']);
export type TaskStatus = z.infer<typeof TaskStatus>;

export const TaskCounts = z.object({
  queued: z.number().int(),
  leased: z.number().int(),
  done: z.number().int(),
  failed: z.number().int(),
  cancelled: z.number().int(),
});
export type TaskCounts = z.infer<typeof TaskCounts>;

export const JobView = z.object({
  id: z.string(),
  name: z.string(),
  requester: Address,
  module: Sha256Hex,
  status: JobStatus,
  taskCount: z.number().int(),
  counts: TaskCounts,
  createdAt: z.number().int(),
  finishedAt: z.number().int().nullable(),
  deadline: z.number().int(),
  /** Why queued tasks are not running, when no connected node can take them. */
  waiting: z.string().optional(),
});
export type JobView = z.infer<typeof JobView>;

export const TaskView = z.object({
  index: z.number().int(),
  status: TaskStatus,
  attempts: z.number().int(),
  node: z.string().nullable(),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
});
export type TaskView = z.infer<typeof TaskView>;

export const TaskResultView = z.object({
  index: z.number().int(),
  status: z.enum(['done', 'failed', 'cancelled']),
  exitCode: z.number().int().nullable(),
  stdout: z.string(), // base64
  stderr: z.string(), // base64
  files: z.array(OutputFile),
  deleted: z.array(z.string()),
  resultHash: z.string().nullable(),
  node: z.string().nullable(),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
});
export type TaskResultView = z.infer<typeof TaskResultView>;

export const NodeView = z.object({
  address: Address,
  sessionId: z.string().nullable(),
  online: z.boolean(),
  capabilities: Capabilities,
  running: z.number().int(),
  completed: z.number().int(),
  failed: z.number().int(),
  connectedAt: z.number().int().nullable(),
  lastSeenAt: z.number().int(),
});
export type NodeView = z.infer<typeof NodeView>;

/** Server-sent events on /v1/jobs/:id/events. `progress` is sent at most every ~100 ms. */
export const JobEvent = z.discriminatedUnion('type', [
  z.object({ type: z.literal('progress'), job: JobView, nodesBusy: z.number().int() }),
  z.object({ type: z.literal('finished'), job: JobView }),
]);
export type JobEvent = z.infer<typeof JobEvent>;

export const SignedCancel = z.strictObject({
  requester: Address,
  timestamp: z.number().int(),
  signature: HexSignature,
});
export type SignedCancel = z.infer<typeof SignedCancel>;
