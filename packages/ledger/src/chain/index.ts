/**
 * The embedded chain: an in-process EVM that persists its state, with a JSON-RPC front.
 *
 * @example
 * const chain = await createEmbeddedChain({ dataDir: '.lode/chain', accounts: [{ address, balance }] });
 * const client = createPublicClient({ transport: custom(chain) }); // viem
 * await client.getBlockNumber();
 * await chain.close();
 */
import { EmbeddedChain, type EmbeddedChainOptions } from './embeddedChain.js';

export { EmbeddedChain, LODE_CHAIN_ID, BLOCK_GAS_LIMIT, DEFAULT_EXECUTION_BUDGET_MS, RpcError, type EmbeddedChainOptions } from './embeddedChain.js';
export { handleJsonRpc, answerJsonRpc, dispatch, DEV_METHODS, MAX_BATCH_CALLS, type DispatchOptions } from './rpc.js';
export {
  ChainWorker,
  DEFAULT_MAX_QUEUED,
  DEFAULT_MAX_QUEUED_PER_CLIENT,
  DEFAULT_PUBLIC_BUDGET_MS,
  USAGE_HALF_LIFE_MS,
  WATCHDOG_GRACE_MS,
  type ChainWorkerOptions,
} from './chainWorker.js';

/**
 * Opens (or creates) an embedded chain in this thread; see EmbeddedChain for its guarantees.
 * A server should use `ChainWorker.open` instead: the same chain in a worker thread.
 */
export function createEmbeddedChain(options: EmbeddedChainOptions = {}): Promise<EmbeddedChain> {
  return EmbeddedChain.open(options);
}
