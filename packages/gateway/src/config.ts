/**
 * Gateway configuration: one typed object with documented defaults, validated once at start.
 */
import { z } from 'zod';
import { LIMITS } from '@lode/protocol';

export const GatewayOptions = z.object({
  /** TCP port for HTTP and WebSocket; 0 picks a free one. @default 7070 */
  port: z.number().int().min(0).max(65535).default(7070),
  /** @default 127.0.0.1 */
  host: z.string().default('127.0.0.1'),
  /** Where the embedded database lives (`<dataDir>/db`). @default ./.lode */
  dataDir: z.string().default('./.lode'),
  /**
   * A PostgreSQL server URL; when set, it is used instead of the embedded database, and the
   * gateway joins the cluster of gateways on that database (cluster/): it runs the jobs it owns
   * and takes over those of a gateway that stops.
   */
  databaseUrl: z.string().optional(),
  /** In a cluster: how long a gateway's lease lasts without a heartbeat (a dead gateway's jobs move after this). @default 8000 */
  clusterLeaseMs: z.number().int().min(1000).max(600_000).default(8000),
  /** pino level. @default info */
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Leases per node slot kept in flight, at least. @default 2 */
  pipelineDepth: z.number().int().min(1).max(64).default(2),
  /** Leases per node slot kept in flight when tasks are tiny. @default 32 */
  maxPipelineDepth: z.number().int().min(1).max(1024).default(32),
  /** Task run time (ms) to keep queued per node slot; sets the depth between the two above. @default 10 */
  queueTargetMs: z.number().min(0).default(10),
  /** Added to a task's wall time for its lease deadline. @default 10000 */
  leaseGraceMs: z.number().int().min(0).default(10_000),
  /** Attempts per task for infrastructure failures. @default 5 */
  maxAttempts: z.number().int().min(1).max(100).default(5),
  /** Node heartbeat interval. @default 5000 */
  heartbeatMs: z.number().int().min(100).default(5000),
  /** Time a node has to say hello. @default 5000 */
  helloTimeoutMs: z.number().int().min(100).default(5_000),
  /** How long a result waits for others to share its write (store/groupCommit.ts); 0: after this turn. @default 0 */
  commitIntervalMs: z.number().int().min(0).max(1000).default(0),
  /** Largest module a job may use (a gateway may be tighter than the protocol). @default 32 MiB */
  maxModuleBytes: z.number().int().min(8).max(LIMITS.maxModuleBytes).default(LIMITS.maxModuleBytes),
  /** Largest blob accepted by PUT/POST /v1/blobs. @default 64 MiB */
  maxBlobBytes: z.number().int().min(1).max(LIMITS.maxBlobBytes).default(LIMITS.maxBlobBytes),
  /** Lease expiry scan interval. @default 500 */
  expiryScanMs: z.number().int().min(10).default(500),

  /**
   * Where payments settle: `embedded` runs an EVM chain inside the gateway (state in
   * `<dataDir>/chain`, JSON-RPC at `/rpc`) and deploys the contracts on first start; `rpc` uses
   * the chain at `rpcUrl` with contracts deployed by `lode ledger deploy`; `off` runs without
   * payments (prices only filter nodes). @default embedded
   */
  ledger: z.enum(['embedded', 'rpc', 'off']).default('embedded'),
  /** The chain's JSON-RPC endpoint (ledger `rpc`). */
  rpcUrl: z.string().url().optional(),
  /** A JSON file of contract addresses written by `lode ledger deploy` (ledger `rpc`). */
  ledgerAddressesFile: z.string().optional(),
  /** How often receipts are folded into a settlement batch; default: the chain's settlementPeriod. */
  settlementIntervalMs: z.number().int().min(10).optional(),
  /** Receipts per settlement batch, at most. @default 10000 */
  maxBatchReceipts: z.number().int().min(1).max(100_000).default(10_000),
  /** Contract parameters for the embedded chain's first deployment (see DEFAULT_LEDGER_PARAMETERS). */
  ledgerParams: z
    .object({
      feeBps: z.number().int().min(0).max(2000).optional(),
      minStake: z
        .string()
        .regex(/^[0-9]+$/)
        .optional(),
      challengeWindow: z.number().int().min(0).optional(),
      unbondingPeriod: z.number().int().min(0).optional(),
      settlementPeriod: z.number().int().min(1).optional(),
      /** Availability: seconds per epoch, the most emission one epoch pays (token wei), challenges per device per epoch. */
      epochLength: z
        .number()
        .int()
        .min(1)
        .max(365 * 86_400)
        .optional(),
      availabilityPool: z
        .string()
        .regex(/^[0-9]+$/)
        .optional(),
      challengeRate: z.number().int().min(0).max(1000).optional(),
      /** Receives the operator's allocation (delegated votes). @default the data dir's own account (`<dataDir>/keystore.json`, created if missing) */
      operator: z
        .string()
        .regex(/^0x[0-9a-fA-F]{40}$/)
        .optional(),
      /** Governor and timelock (seconds; threshold in token wei). @default DEFAULT_LEDGER_PARAMETERS */
      votingDelay: z
        .number()
        .int()
        .min(0)
        .max(365 * 86_400)
        .optional(),
      votingPeriod: z
        .number()
        .int()
        .min(1)
        .max(365 * 86_400)
        .optional(),
      timelockDelay: z
        .number()
        .int()
        .min(0)
        .max(365 * 86_400)
        .optional(),
      proposalThreshold: z
        .string()
        .regex(/^[1-9][0-9]*$/)
        .optional(),
    })
    .default({}),
  /**
   * Run availability epochs: challenge registered devices (at ProtocolConfig's challengeRate per
   * epoch) and record each epoch's rewards for settlement. Needs a ledger. @default true
   */
  availability: z.boolean().default(true),
  /** How often connected nodes' stake is checked again (a node that unbonds stops serving). @default 30000 */
  stakeCheckMs: z.number().int().min(100).default(30_000),
  /**
   * Serve `POST /v1/ledger/faucet` (test tokens and gas). On an external chain only when set
   * (`--faucet`): the gateway account then hands out what it holds, within the limits below.
   * @default true with the embedded chain, false otherwise
   */
  faucet: z.boolean().optional(),
  /** The faucet's grant and limits, per rolling 24 hours, counted in the store (see settlement/faucet.ts). */
  faucetLimits: z
    .object({
      /** Grants per address. @default 1 */
      perAddress: z.number().int().min(1).max(1000).default(1),
      /** Grants per client network (an IPv4 address, an IPv6 /64). @default 10 */
      perIp: z.number().int().min(1).max(1_000_000).default(10),
      /** Grants in all. @default 100 */
      total: z.number().int().min(1).max(1_000_000).default(100),
      /** LODE (wei) per grant. @default 10,000 LODE */
      grantLode: z
        .string()
        .regex(/^[1-9][0-9]{0,40}$/)
        .default('10000000000000000000000'),
      /** ETH (wei) per grant, for gas. @default 10 ETH */
      grantEth: z
        .string()
        .regex(/^[1-9][0-9]{0,40}$/)
        .default('10000000000000000000'),
    })
    .prefault({}),
  /** `POST /rpc` (the embedded chain's JSON-RPC) per client IP (an IPv6 /64): requests per minute. @default 600 */
  rpcPerMinute: z.number().int().min(1).max(1_000_000).default(600),
  /** Wall time of EVM execution one public JSON-RPC request may take (calls are also capped at the block gas limit). @default 1000 */
  rpcBudgetMs: z.number().int().min(10).max(60_000).default(1000),

  /** Verification and reputation (see verify/trustConfig.ts for the defaults and docs/trust.md). */
  trust: z
    .object({
      /** Probability a result taken from one trusted node is checked by a second replica (`target` jobs). @default 0.03 */
      spotCheck: z.number().min(0).max(1).optional(),
      /** Probability, per such result, that its node also gets a hidden known-answer task. @default 0.03 */
      canary: z.number().min(0).max(1).optional(),
      /** Results proven wrong after which a node is refused. @default 3 */
      maxStrikes: z.number().int().min(1).optional(),
      /** Leases of verified jobs per slot a node on probation may hold. @default 1 */
      newcomerDepth: z.number().int().min(1).optional(),
      /** Share of leases given first to nodes on probation when some are idle. @default 0.05 */
      newcomerShare: z.number().min(0).max(1).optional(),
      /** Gateways (addresses) whose reputation credentials count as a prior here. @default [] */
      trustedIssuers: z.array(z.string().regex(/^0x[0-9a-fA-F]{40}$/)).optional(),
      /** Speculative copies of straggling leases. @default true */
      stragglers: z.boolean().optional(),
      /** How long a decided job may wait for the audits of nodes whose results it took on their word alone. @default 30000 */
      auditWaitMs: z.number().int().min(0).max(3_600_000).optional(),
      /** Results one node may have accepted on its word alone before it is audited and taken alone no more. @default 64 */
      maxLonePerNode: z.number().int().min(1).max(100_000).optional(),
    })
    .default({}),

  /**
   * The URLs nodes and requesters reach this gateway at (`--public-url`, repeatable), e.g.
   * `wss://gw.example.org`. A node's hello and a sign-in message must name one of their hosts, so
   * a gateway that relays another's challenge cannot log in as its nodes. Empty: the host each
   * request came to (fine on one machine; set it for a gateway others reach over a network).
   * @default []
   */
  publicUrls: z.array(z.string().url()).default([]),
  /**
   * Proxies (IP addresses or CIDR ranges) whose `X-Forwarded-For` names the client — set it only
   * to the reverse proxy in front of this gateway: per-IP quotas count the address it names.
   * @default [] (the peer's own address counts)
   */
  trustProxy: z.array(z.string().min(1).max(64)).default([]),

  /** Quotas per account and per IP (docs/security.md lists them with the reasons). */
  limits: z
    .object({
      /** Requests per IP per minute, all routes together. @default 6000 */
      requestsPerMinutePerIp: z.number().int().min(1).default(6000),
      /** Job submissions per account per minute. @default 120 */
      jobsPerMinute: z.number().int().min(1).default(120),
      /** Job submissions per IP per minute (any accounts). @default 240 */
      jobsPerMinutePerIp: z.number().int().min(1).default(240),
      /** Tasks in one job. @default 100,000 */
      maxTasksPerJob: z.number().int().min(1).max(LIMITS.maxTasksPerJob).default(LIMITS.maxTasksPerJob),
      /** Bytes of one job submission (the signed spec as JSON; put big inputs in blobs). @default 16 MiB */
      maxJobBytes: z
        .number()
        .int()
        .min(1024)
        .max(LIMITS.maxBodyBytes)
        .default(16 * 1024 * 1024),
      /** Jobs one account may have queued or running at once. @default 100 */
      maxOpenJobsPerAccount: z.number().int().min(1).default(100),
      /** Blob bytes one account may have uploaded (blobs are kept). @default 1 GiB */
      blobBytesPerAccount: z
        .number()
        .int()
        .min(1)
        .default(1024 * 1024 * 1024),
      /** The furthest deadline a job may set, from now. @default 7 days */
      maxDeadlineMs: z
        .number()
        .int()
        .min(1000)
        .default(7 * 24 * 60 * 60 * 1000),
      /** Node WebSocket sessions from one IP at once. @default 64 */
      nodeConnectionsPerIp: z.number().int().min(1).default(64),
      /** Event streams (SSE) one account may hold open at once. @default 32 */
      eventStreamsPerAccount: z.number().int().min(1).default(32),
      /** Sign-ins (nonces and sessions) per IP per minute. @default 60 */
      signInsPerMinutePerIp: z.number().int().min(1).default(60),
    })
    .prefault({}),
});
export type GatewayOptions = z.input<typeof GatewayOptions>;
export type GatewayConfig = z.infer<typeof GatewayOptions>;

/** Settings for tests: a free port, quiet logs, short timers, no ledger (ledger tests turn it on). */
export function testGatewayOptions(overrides: GatewayOptions = {}): GatewayOptions {
  return { port: 0, logLevel: 'warn', leaseGraceMs: 2000, heartbeatMs: 1000, expiryScanMs: 100, ledger: 'off', ...overrides };
}
