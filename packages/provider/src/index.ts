/**
 * @lode/provider — the provider protocol client, once for every platform. `lode node`
 * (packages/node) and the browser contributor (packages/web/src/agent) add only what is theirs:
 * the socket, the sandbox, the key store, the blob cache's second level, the device's
 * capabilities, and their logs.
 *
 * @example
 * const connection = createConnection({ url, account, capabilities, log, socket: (u) => new WebSocket(u) });
 * const agent = createAgent({ connection, sandbox, blobs: createBlobStore({ gateway, log }), log });
 * agent.on('task', (t) => console.log(t.jobId, t.taskIndex, t.status));
 * agent.start();
 * connection.start();
 */
export { createAgent, GatewayReportedError, type Agent, type AgentEvents, type AgentOptions, type TaskEvent, type TaskStart } from './agent.js';
export {
  createConnection,
  nodeSocketUrl,
  type ConnectionEvents,
  type ConnectionOptions,
  type ConnectionState,
  type GatewayConnection,
  type OutgoingMessage,
  type SessionMessage,
  type SocketFactory,
  type SocketLike,
  type Welcome,
} from './connection.js';
export { createBlobStore, type BlobCacheStore, type BlobStore, type BlobStoreOptions } from './blobs.js';
export { createPins, type GatewayPins, type PinsOptions } from './pins.js';
export { createBackoff, type Backoff, type BackoffOptions } from './backoff.js';
export { afterThisTurn, keepAlive, systemClock, type Clock } from './clock.js';
export { Emitter, type Listener } from './emitter.js';
export { createLog, errorText, formatLine, silentLog, type Logger, type LogLevel, type LogLine, type LogOptions } from './log.js';
export { benchmark, type BenchmarkOptions } from './benchmark.js';
export { sha256Hex } from './hash.js';
