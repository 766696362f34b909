/** What the embedded chain and its JSON-RPC layer (rpc.ts) both use: its limits and its error. */
import type { Hex } from './format.js';

/** "LODE" in ASCII: a chain id no public network uses. */
export const LODE_CHAIN_ID = 0x4c4f4445;
/** @default 30,000,000 — the same block gas limit as Ethereum mainnet. */
export const BLOCK_GAS_LIMIT = 30_000_000n;
/** Wall time one request may spend executing EVM code unless told otherwise. @default 10,000 ms */
export const DEFAULT_EXECUTION_BUDGET_MS = 10_000;

/** A JSON-RPC error (code, message, optional data such as revert bytes). */
export class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: Hex,
  ) {
    super(message);
    this.name = 'RpcError';
  }
}
