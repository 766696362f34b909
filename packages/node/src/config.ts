/** Defaults of the node agent's tunables (each overridable through `NodeOptions`). */
export const NODE_DEFAULTS = {
  /** Memory held by the blob cache (the disk cache under `<dataDir>/blobs` is not bounded). @default 256 MiB */
  blobCacheBytes: 256 * 1024 * 1024,
  /** How long `drain()` waits for the gateway to acknowledge the last results. @default 10 s */
  drainTimeoutMs: 10_000,
  /** Time allowed from socket open to `welcome`. @default 10 s */
  handshakeTimeoutMs: 10_000,
  /** WebSocket ping period; two silent periods mean a dead session. @default 15 s */
  keepaliveMs: 15_000,
  /** Reconnect backoff: first delay and cap. @default 250 ms → 10 s */
  backoff: { initialMs: 250, maxMs: 10_000 },
  /** Most tasks handed to the sandbox in one `runBatch`. @default 32 */
  maxBatch: 32,
  /** How often the node claims its settled payouts. @default 30 s */
  claimIntervalMs: 30_000,
  /** Price per task, token's smallest unit. @default '0' */
  pricePerTask: '0',
} as const;
