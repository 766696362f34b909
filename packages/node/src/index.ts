/**
 * @lode/node — the provider agent: connects to a gateway, runs leased tasks in a WASM
 * sandbox, returns results.
 *
 * @example
 * import { startNode } from '@lode/node';
 * const node = await startNode({ gateway: 'http://127.0.0.1:7070', dataDir: './.lode' });
 * node.on('task', (t) => console.log(t.jobId, t.taskIndex, t.status));
 * process.once('SIGINT', () => void node.drain());
 */
export { startNode, type NodeOptions, type NodeHandle, type NodeEvents } from './main.js';
export {
  loadOrCreateAccount,
  loadAccount,
  createAccount,
  KEYSTORE_FILE,
  type LoadOrCreateAccountOptions,
  type CreateAccountOptions,
  type LoadedAccount,
} from './keystore.js';
export {
  detectCapabilities,
  detectDeviceKind,
  benchmark,
  AGENT,
  type DetectCapabilitiesOptions,
  type DeviceKind,
  type BenchmarkOptions,
} from './capabilities.js';
export { createConnection, type GatewayConnection, type ConnectionOptions, type ConnectionEvents, type Welcome } from './connection.js';
export { createAgent, GatewayReportedError, type Agent, type AgentOptions, type AgentEvents, type TaskEvent } from './agent.js';
export { createClaimer, DEFAULT_CLAIM_INTERVAL_MS, type Claimer, type ClaimerOptions, type ClaimerEvents } from './claimer.js';
export { createBlobStore, type BlobStore, type BlobStoreOptions } from './blobStore.js';
export { createBackoff, type Backoff, type BackoffOptions } from './backoff.js';
export { gatewayUrls, NODE_WS_PATH, type GatewayUrls } from './urls.js';
export { gatewayPins, PINS_FILE, type GatewayPins } from './gatewayPins.js';
export { systemClock, type Clock } from './clock.js';
export { NODE_DEFAULTS } from './config.js';
export { KeystoreMissingError, KeystoreExistsError, KeystoreInvalidError } from './errors.js';
export type { Sandbox, SandboxTask, SandboxResult, SandboxFile, SandboxLimits } from './sandboxTypes.js';
