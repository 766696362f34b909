import { BatchesView } from '@lode/protocol';
import type { LodeClient } from '../client.js';
import { requestJson } from '../request.js';

export interface ListBatchesParameters {
  /** How many of the latest batches. @default 20 */
  limit?: number;
  signal?: AbortSignal;
}
export type ListBatchesReturnType = BatchesView;

/**
 * The latest settlement batches, newest first (public): receipts, amounts, the transaction and
 * when claims pass. Throws `LedgerDisabledError` when the gateway runs without a ledger.
 *
 * @example
 * const { batches } = await listBatches(client, { limit: 5 });
 */
export function listBatches(client: LodeClient, params: ListBatchesParameters = {}): Promise<ListBatchesReturnType> {
  return requestJson(client, BatchesView, { path: '/v1/ledger/batches', query: { limit: String(params.limit ?? 20) }, signal: params.signal });
}
