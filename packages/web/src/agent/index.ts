/**
 * The browser provider agent, independent of React: the same node protocol, lease handling and
 * sandbox code as `lode node`, on WebSockets and Web Workers.
 *
 * @example
 * import { Contributor, createWorkerSandbox, spawnSandboxWorker } from './agent';
 * const contributor = new Contributor({
 *   gateway: location.origin, slots: 2, pauseWhenHidden: false,
 *   createSandbox: (workers) => createWorkerSandbox({ workers, spawn: spawnSandboxWorker }),
 * });
 * contributor.subscribe(() => render(contributor.state));
 * await contributor.start();
 */
export { Contributor, type ContributorOptions, type ContributorState, type ContributorStatus, type RunningTask } from './contributor.js';
export { createAgent, GatewayReportedError, type Agent, type AgentEvents, type AgentOptions, type TaskEvent, type TaskStart } from './agent.js';
export { createConnection, nodeSocketUrl, type GatewayConnection, type ConnectionState, type SocketFactory, type SocketLike } from './connection.js';
export { createWorkerSandbox, type WorkerSandbox, type WorkerLike, type WorkerFactory } from './sandbox.js';
export { createBlobCache, type BlobCache } from './blobs.js';
export { detectBrowserCapabilities, benchmark, browserCores, browserName, DEFAULT_BROWSER_MEMORY_MIB } from './capabilities.js';
export { loadKey, loadOrCreateKey, exportKey, idbStore, KEY_NAME, type KeyValueStore, type LoadedKey, type StoredKey } from './keystore.js';
export { createPowerMonitor, type PauseReason, type PowerMonitor, type PowerState } from './power.js';
export { systemClock, workerClock, type Clock } from './clock.js';
export { createLog, silentLog, type Logger, type LogLine } from './log.js';
