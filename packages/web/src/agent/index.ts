/**
 * The browser provider, independent of React: @lode/provider's agent and connection (the same
 * code as `lode node`'s) on the page's WebSocket, a Web Worker sandbox, an IndexedDB key and the
 * browser's capabilities.
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
export { createWorkerSandbox, type WorkerSandbox, type WorkerLike, type WorkerFactory } from './sandbox.js';
export { detectBrowserCapabilities, browserCores, browserName, DEFAULT_BROWSER_MEMORY_MIB } from './capabilities.js';
export { loadKey, loadOrCreateKey, exportKey, idbStore, KEY_NAME, type KeyValueStore, type LoadedKey, type StoredKey } from '@lode/keystore/browser';
export { createPowerMonitor, type PauseReason, type PowerMonitor, type PowerState } from './power.js';
export { workerClock } from './clock.js';
