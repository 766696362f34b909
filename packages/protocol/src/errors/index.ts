export * from './base.js';
export * from './request.js';
export * from './job.js';
export * from './node.js';
export * from './sandbox.js';
export * from './ledger.js';
export * from './credential.js';
