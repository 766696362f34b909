/**
 * @lode/gateway — the marketplace: HTTP API for requesters, WebSocket for nodes, the scheduler,
 * result acceptance and the store (PGlite embedded, or a PostgreSQL server).
 *
 * @example
 * import { startGateway } from '@lode/gateway';
 * const gw = await startGateway({ port: 0, dataDir: './.lode' });
 * console.log(gw.url, gw.wsUrl);
 * await gw.close();
 */
export { startGateway, type GatewayHandle } from './gateway.js';
export { GatewayOptions, testGatewayOptions, type GatewayConfig } from './config.js';
export type { Store, JobRecord, TaskResultRow, NodeRecord } from './store/types.js';
export { Scheduler } from './scheduler/scheduler.js';
export { planBatch } from './settlement/plan.js';
export { AvailabilityService, type AvailabilityChain, type ChallengeSession } from './availability/availability.js';
export * as availabilityPlan from './availability/plan.js';
export { ActiveJob, TaskState } from './jobs/activeJob.js';
export { PortInUseError } from './errors.js';
export * from './scheduler/policy.js';
export * as verify from './verify/index.js';
