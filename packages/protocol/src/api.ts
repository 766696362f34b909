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
 *   GET  /v1/stats                 → StatsView (public: the network's counts and recent history)
 *   GET  /v1/identity              → IdentityView (the gateway's account and chain: the EIP-712 domain)
 *   POST /v1/auth/nonce            → AuthNonceView;  POST /v1/auth/session  SessionRequest → SessionView
 *   GET  /healthz, GET /metrics (Prometheus text), WS /v1/nodes/ws (node protocol)
 * Reading a job (its view, tasks, results, events) and listing jobs need a session of its
 * requester (`Authorization: Bearer <token>`); submitting, cancelling and uploading blobs need one
 * too (quotas are per account). The network-wide views (nodes, stats, ledger) are public.
 * Errors: `{ error: ErrorBody }` with the status of the error's class.
 */
import { z } from 'zod';
import { Address, Bytes32Hex, HexSignature, Sha256Hex } from './jobSpec.js';
import { Capabilities, DeviceKind, OutputFile } from './messages.js';

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

/** Why a task's accepted result was replaced after the fact (see `JobView.revisions`). */
export const TaskRevision = z.object({
  /** When (ms). */
  at: z.number().int(),
  reason: z.string(),
  /** The node whose result was replaced, and that result's hash. */
  previousNode: z.string(),
  previousResultHash: z.string().nullable(),
  /** What the replaced result had cost (token wei), refunded to the requester with the escrow. */
  refunded: z.string(),
});
export type TaskRevision = z.infer<typeof TaskRevision>;

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
  /** Fuel the finished tasks used, and what they cost (token's smallest unit), so far. */
  usage: z.object({ fuelUsed: z.string(), cost: z.string() }).optional(),
  /** The job's verification policy and what it took so far (see docs/trust.md). */
  verification: z
    .object({
      policy: z.string(),
      /** Tasks whose replicas are being compared now. */
      inVerification: z.number().int(),
      /** Tasks accepted through the verifier (a `none` job's tasks are not counted). */
      accepted: z.number().int(),
      /** Paid executions of those tasks: replicas and known-answer runs. */
      executions: z.number().int(),
      canaries: z.number().int(),
      spotChecks: z.number().int(),
      speculative: z.number().int(),
      /** Results proven wrong (a quorum's minority, a failed known-answer task). */
      wrong: z.number().int(),
      /** Tasks failed with VERIFICATION_FAILED. */
      failed: z.number().int(),
      /** Results taken on one node's word alone that were decided again: that node was proven wrong later, or was audited through them. */
      reverified: z.number().int().optional(),
      /** Of those, results replaced by another answer. */
      revised: z.number().int().optional(),
    })
    .optional(),
  /**
   * Results revised after they were accepted: each rested on one node's word alone, and that node
   * was later proven wrong (docs/trust.md, "No wrong result survives its liar"). Absent when none.
   */
  revisions: z
    .object({
      /** Tasks whose result was replaced by the re-verified answer (or failed: no answer could be verified). */
      revised: z.number().int(),
      /** What the replaced results had cost (token wei): withdrawn from their nodes, refunded with the escrow. */
      refunded: z.string(),
      /** The revised tasks, oldest first (at most 100 listed). */
      tasks: z.array(TaskRevision.extend({ index: z.number().int() })),
    })
    .optional(),
  /** Results of this job taken on one node's word alone whose node has not passed a check since (a running job waits for their audit). */
  unaudited: z.number().int().optional(),
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
  /** Fuel the task used (deterministic); null when unknown (stopped from outside, or no result). */
  fuelUsed: z.number().int().nullable().default(null),
  /** Set when this result replaced one that was accepted earlier (see `JobView.revisions`). */
  revised: TaskRevision.nullable().optional(),
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
  /** The node's record of checked results on this gateway (see docs/trust.md). */
  reputation: z
    .object({
      /** Checked results that were right: agreed with a quorum, or passed a known-answer task. */
      validated: z.number().int(),
      /** Results proven wrong. */
      invalid: z.number().int(),
      /** Right checks since the last wrong one. */
      consecutiveValid: z.number().int(),
      /** Probability its result is right, from that record, in [0, 1). */
      credibility: z.number(),
      /** No right checked result yet (or none since its last wrong one): its work is replicated. */
      probation: z.boolean(),
      /** Proven wrong too often: refused at hello. */
      refused: z.boolean(),
      /** Time connected, ms, over all sessions. */
      uptimeMs: z.number().int(),
    })
    .optional(),
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
  /** Unix ms after which the cancel is refused; at most 10 minutes ahead of the gateway's clock. */
  expiresAt: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  signature: HexSignature,
});
export type SignedCancel = z.infer<typeof SignedCancel>;

// ---------------------------------------------------------------- ledger (GET /v1/ledger, …)

const Amount18 = z.string().regex(/^(0|[1-9][0-9]{0,77})$/);

/** GET /v1/ledger: where the gateway settles and on what terms. */
export const LedgerInfoView = z.object({
  /** embedded: the chain runs inside the gateway (JSON-RPC at `/rpc`); rpc: an external chain. */
  mode: z.enum(['embedded', 'rpc']),
  chainId: z.number().int(),
  /** The chain's JSON-RPC endpoint for clients; null: use this gateway's `/rpc`. */
  rpcUrl: z.string().nullable(),
  /** The gateway's settlement account. */
  gateway: Address,
  contracts: z.object({
    token: Address,
    config: Address,
    staking: Address,
    escrow: Address,
    /** DeviceRegistry: device tokens and where a registered device's payouts go. */
    registry: Address,
    timelock: Address,
    governor: Address,
    deployBlock: z.number().int(),
  }),
  params: z.object({
    feeBps: z.number().int(),
    slashBps: z.number().int(),
    minStake: Amount18,
    unbondingPeriod: z.number().int(),
    settlementPeriod: z.number().int(),
    challengeWindow: z.number().int(),
    treasury: Address,
    /** Seconds per availability epoch. */
    epochLength: z.number().int(),
    /** The most emission one epoch's availability rewards may use (token wei). */
    availabilityPool: Amount18,
    /** Availability challenges per device per epoch. */
    challengeRate: z.number().int(),
  }),
  faucet: z.boolean(),
  settlement: z.object({
    unsettledReceipts: z.number().int(),
    unsettledAmount: Amount18,
    batches: z.object({ prepared: z.number().int(), posted: z.number().int(), failed: z.number().int() }),
  }),
});
export type LedgerInfoView = z.infer<typeof LedgerInfoView>;

/** One settlement batch's payout to a provider, with what a claim needs. */
export const PayoutView = z.object({
  /** The gateway's batch number. */
  batch: z.number().int(),
  /** JobEscrow's batch id; null until the batch is posted. */
  chainBatchId: z.string().nullable(),
  status: z.enum(['prepared', 'posted', 'failed']),
  tasks: z.number().int(),
  /** Before the protocol fee. */
  gross: Amount18,
  fee: Amount18,
  /** What the provider claims. */
  amount: Amount18,
  createdAt: z.number().int(),
  /** Chain time (ms) from which it can be claimed; null until posted. */
  claimableAt: z.number().int().nullable(),
  claimed: z.boolean(),
  /** Merkle proof of the provider's leaf (provider, amount). */
  proof: z.array(Bytes32Hex),
  txHash: z.string().nullable(),
});
export type PayoutView = z.infer<typeof PayoutView>;

/** GET /v1/ledger/payouts/:address — newest first. */
export const PayoutsView = z.object({
  provider: Address,
  payouts: z.array(PayoutView),
  totals: z.object({ gross: Amount18, fee: Amount18, net: Amount18, claimed: Amount18, tasks: z.number().int() }),
});
export type PayoutsView = z.infer<typeof PayoutsView>;

/** POST /v1/ledger/faucet answer. */
export const FaucetView = z.object({
  address: Address,
  /** Native coin sent for gas (wei). */
  eth: Amount18,
  /** LODE sent (wei). */
  lode: Amount18,
  txHashes: z.array(z.string()),
});
export type FaucetView = z.infer<typeof FaucetView>;

// ---------------------------------------------------------------- network stats (GET /v1/stats, public)

const Count = z.number().int().nonnegative();

/** One point of the network's history. */
export const StatsSample = z.object({
  /** Unix ms. */
  t: z.number().int(),
  /** Nodes online. */
  online: Count,
  /** Task slots offered by the online nodes (capacity). */
  slots: Count,
  /** Slots busy: per online node, min(leases held, slots). */
  busy: Count,
  /** Tasks waiting for a node. */
  queued: Count,
  /** Tasks finished (done or failed) per second since the previous sample. */
  tasksPerSecond: z.number().nonnegative(),
});
export type StatsSample = z.infer<typeof StatsSample>;

/** `GET /v1/stats`: what the dashboard's network view draws. */
export const StatsView = z.object({
  now: z.number().int(),
  nodes: z.object({
    online: Count,
    known: Count,
    byKind: z.record(DeviceKind, Count),
    slots: Count,
    busy: Count,
  }),
  tasks: z.object({ queued: Count, running: Count, finished: Count, perSecond: z.number().nonnegative() }),
  jobs: z.object({ active: Count }),
  /** Whether the gateway settles payments (then `GET /v1/ledger` has the chain and parameters). */
  ledger: z.object({ enabled: z.boolean() }),
  /** Sampling period of `history`, ms. */
  sampleMs: z.number().int().positive(),
  history: z.array(StatsSample),
});
export type StatsView = z.infer<typeof StatsView>;

// ---------------------------------------------------------------- settlement batches, trust (GET /v1/ledger/batches, /v1/nodes/:address/…)

/** `GET /v1/ledger/batches?limit=N`: the latest settlement batches, newest first. */
export const BatchesView = z.object({
  batches: z.array(
    z.object({
      id: z.number().int(),
      status: z.enum(['prepared', 'posted', 'failed']),
      /** Task receipts the batch pays. */
      receipts: z.number().int(),
      /** Debited from the jobs' escrows (providers' gross plus the fee), token's smallest unit. */
      total: Amount18,
      fee: Amount18,
      /** Jobs whose escrow the batch debits. */
      jobs: z.number().int(),
      createdAt: z.number().int(),
      txHash: z.string().nullable(),
      /** JobEscrow's batch id; null until posted. */
      chainBatchId: z.string().nullable(),
      /** When the challenge window ends and claims pass (ms); null until posted. */
      finalAt: z.number().int().nullable(),
      /** Why a failed batch failed. */
      error: z.string().nullable(),
    }),
  ),
  /** Batches in all. */
  count: z.number().int(),
});
export type BatchesView = z.infer<typeof BatchesView>;

/** One piece of evidence against a node (`GET /v1/nodes/:address/evidence`, `GET /v1/evidence/:hash`). */
export const EvidenceView = z.object({
  /** keccak256 of the evidence's canonical JSON: what `Staking.slash` records. */
  hash: Bytes32Hex,
  node: Address,
  jobId: z.string(),
  index: z.number().int(),
  /** quorum: the node was in a quorum's minority; canary: it failed a known-answer task. */
  kind: z.enum(['quorum', 'canary']),
  createdAt: z.number().int(),
  /** none: no ledger to slash on; pending: to be sent; slashed; failed (see error). */
  slash: z.enum(['none', 'pending', 'slashed', 'failed']),
  slashed: Amount18.nullable(),
  txHash: z.string().nullable(),
  error: z.string().nullable(),
  /** The signed statements (`Evidence` in trust.ts), checkable with `checkEvidence`. */
  evidence: z.unknown(),
});
export type EvidenceView = z.infer<typeof EvidenceView>;

const Uint64 = z.string().regex(/^[0-9]{1,20}$/);

/**
 * A node's record on a gateway, signed by it (EIP-712 `NodeReputation`, see trust.ts):
 * `GET /v1/nodes/:address/credential` answers one, `POST /v1/nodes/credentials` takes one.
 */
export const ReputationCredential = z.strictObject({
  message: z.strictObject({
    gateway: Address,
    node: Address,
    validated: Uint64,
    invalid: Uint64,
    consecutiveValid: Uint64,
    uptimeSeconds: Uint64,
    firstSeenAt: Uint64,
    issuedAt: Uint64,
    expiresAt: Uint64,
  }),
  /** The chain of the issuer's EIP-712 domain. */
  chainId: z.number().int().min(0),
  signature: HexSignature,
});
export type ReputationCredential = z.infer<typeof ReputationCredential>;

// ---------------------------------------------------------------- identity and sign-in

/**
 * Who this gateway is (`GET /v1/identity`, public): the account that verifies every signature
 * sent to it and the chain they are bound to — what a requester puts in the EIP-712 domain of
 * its jobs and cancels, and what a node pins for this gateway's URL.
 */
export const IdentityView = z.object({
  gateway: Address,
  /** 0 when the gateway runs without a ledger. */
  chainId: z.number().int().min(0),
  /** The node protocol version it speaks. */
  protocol: z.number().int(),
  /** The URLs the operator says the gateway is reached at (a node's hello must name one of their hosts); empty: any host it is reached at. */
  publicUrls: z.array(z.string()),
});
export type IdentityView = z.infer<typeof IdentityView>;

/** `POST /v1/auth/nonce` → a one-time nonce for a Sign-In with Ethereum message (valid for minutes). */
export const AuthNonceView = z.object({ nonce: z.string().regex(/^[A-Za-z0-9]{8,64}$/), expiresAt: z.number().int() });
export type AuthNonceView = z.infer<typeof AuthNonceView>;

/** `POST /v1/auth/session` body: an EIP-4361 message (see `sessionMessage`) and the account's signature over it. */
export const SessionRequest = z.strictObject({
  message: z.string().min(1).max(4096),
  signature: HexSignature,
});
export type SessionRequest = z.infer<typeof SessionRequest>;

/** A session token: send it as `Authorization: Bearer <token>` (or `?access_token=` for event streams). */
export const SessionView = z.object({ token: z.string(), address: Address, expiresAt: z.number().int() });
export type SessionView = z.infer<typeof SessionView>;
