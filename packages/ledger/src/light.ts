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
export * from './actions/transfer.js';
export * from './actions/unbond.js';
export * from './actions/withdraw.js';
export * from './actions/getStakeStatus.js';
export * from './actions/getProtocolParams.js';
export * from './actions/getGovernanceSettings.js';
export * from './actions/getVotingPower.js';
export * from './actions/delegateVotes.js';
export * from './actions/proposeParameterChange.js';
export * from './actions/castVote.js';
export * from './actions/queueProposal.js';
export * from './actions/executeProposal.js';
export * from './actions/findProposal.js';
export * from './actions/getProposal.js';
export * from './actions/signDeviceConsent.js';
export * from './actions/registerDevice.js';
export * from './actions/getDevice.js';
export * from './actions/listDevices.js';
export * from './actions/transferDevice.js';
export * from './actions/transferDeviceShares.js';
export * from './actions/splitDevice.js';
export * from './actions/unsplitDevice.js';
export * from './actions/claimDeviceShares.js';
export * from './actions/claimDevicePayouts.js';
export * from './actions/getDevicePayments.js';
export * from './actions/sortPayouts.js';
export { PROPOSAL_STATES, type ProposalStateName } from './actions/proposalState.js';
