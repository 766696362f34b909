/**
 * @lode/sdk — the requester's client for a Lode gateway: upload modules and inputs, submit
 * signed jobs and follow them live (`runJob` does both in one request), fetch results. One action per file, each `(client, params)`.
 *
 * @example
 * import { createLodeClient, putBlob, runJob, getResults } from '@lode/sdk';
 * import { privateKeyToAccount } from 'viem/accounts';
 *
 * const client = createLodeClient({ gateway: 'http://127.0.0.1:7070', account: privateKeyToAccount(key) });
 * const { sha256 } = await putBlob(client, { data: wasmBytes });
 * const job = await runJob(client, { module: sha256, tasks: [{ args: ['hello'] }], onEvent: (e) => console.log(e.job.counts) });
 * const results = await getResults(client, { id: job.id });
 */
export { createLodeClient, gatewayList, gatewayOrigin, DEFAULT_TIMEOUT_MS, type LodeClient, type LodeClientConfig } from './client.js';
export { AccountRequiredError, GatewayError, errorFromResponse } from './errors.js';
export * from './actions/getIdentity.js';
export * from './actions/signIn.js';
export * from './actions/putBlob.js';
export { submitJob, type SubmitJobParameters, type SubmitJobReturnType } from './actions/submitJob.js';
export * from './actions/runJob.js';
export * from './actions/getJob.js';
export * from './actions/listJobs.js';
export * from './actions/listTasks.js';
export * from './actions/getResults.js';
export * from './actions/mapTasks.js';
export * from './actions/watchJob.js';
export { readJobEvents } from './jobEvents.js';
export * from './actions/cancelJob.js';
export * from './actions/listNodes.js';
export * from './actions/health.js';
export * from './actions/getLedgerInfo.js';
export * from './actions/requestFaucet.js';
export * from './actions/getPayouts.js';
export * from './actions/getNodeCredential.js';
export * from './actions/getDeviceCredential.js';
export * from './actions/importNodeCredential.js';
export * from './actions/listEvidence.js';
export * from './actions/listBatches.js';
export * from './actions/getStats.js';
