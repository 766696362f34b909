/**
 * @lode/node — `lode node`: @lode/provider's agent on Node (Worker-thread sandbox, `ws`, the
 * data directory's key from @lode/keystore, a disk blob cache, pino), plus payout claiming.
 *
 * @example
 * import { startNode } from '@lode/node';
 * const node = await startNode({ gateway: 'http://127.0.0.1:7070', dataDir: './.lode' });
 * node.on('task', (t) => console.log(t.jobId, t.taskIndex, t.status));
 * process.once('SIGINT', () => void node.drain());
 */
export { startNode, type NodeOptions, type NodeHandle, type NodeEvents } from './main.js';
export {
  detectCapabilities,
  detectDeviceKind,
  AGENT,
  type DetectCapabilitiesOptions,
  type DeviceKind,
} from './capabilities.js';
export { createClaimer, DEFAULT_CLAIM_INTERVAL_MS, type Claimer, type ClaimerOptions, type ClaimerEvents } from './claimer.js';
export { gatewayUrls, NODE_WS_PATH, type GatewayUrls } from './urls.js';
export { gatewayPins, PINS_FILE, type GatewayPins } from './gatewayPins.js';
export { blobFiles } from './blobFiles.js';
export { wsSocketFactory } from './socket.js';
export { pinoLog } from './log.js';
export { NODE_DEFAULTS } from './config.js';
export type { Sandbox, SandboxTask, SandboxResult, SandboxFile, SandboxLimits } from './sandboxTypes.js';
