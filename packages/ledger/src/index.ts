/**
 * @lode/ledger — Lode's contracts (token, staking, job escrow with batched settlement,
 * governed protocol parameters), their TypeScript client, and the embedded EVM chain that
 * `lode up` runs inside the gateway.
 */
export * from './chain/index.js';
