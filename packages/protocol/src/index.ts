/**
 * @lode/protocol — the contracts between Lode's parts: JobSpec and message schemas (zod),
 * EIP-712 typed data, result digests, limits, and typed errors with stable codes.
 *
 * @example
 * import { JobSpec, signJob } from '@lode/protocol';
 * const spec = JobSpec.parse({ version: 1, requester, module, tasks: [{ args: ['1'] }], deadline, nonce });
 * const signed = await signJob(account, spec);
 */
export * from './errors/index.js';
export * from './encoding.js';
export * from './result.js';
export * from './limits.js';
export * from './jobSpec.js';
export * from './eip712.js';
export * from './messages.js';
export * from './api.js';
export * from './ids.js';
export * from './ledger.js';
export * from './trust.js';
export * from './session.js';
export * from './devices.js';
export * from './jwtSigner.js';
export * from './deviceCredential.js';
