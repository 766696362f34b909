/**
 * `@lode/ledger/client` — the ledger client without the embedded chain (no @ethereumjs in the
 * import graph): ABIs, addresses schema, `createLedgerClient` and the actions. Node agents and
 * the CLI load this; only the gateway needs the chain.
 */
export * from './client.js';
export * from './contracts.js';
export { ledgerAddressesSchema, type LedgerAddresses } from './deploy.js';
export { toLedgerError, write } from './actions/errors.js';
export * from './actions/depositEscrow.js';
export * from './actions/claimPayouts.js';
export * from './actions/stake.js';
export * from './actions/getAccountLedger.js';
