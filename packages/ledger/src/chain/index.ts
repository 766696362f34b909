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

export { EmbeddedChain, LODE_CHAIN_ID, BLOCK_GAS_LIMIT, RpcError, type EmbeddedChainOptions } from './embeddedChain.js';
export { handleJsonRpc, dispatch, DEV_METHODS, type DispatchOptions } from './rpc.js';

/** Opens (or creates) an embedded chain; see EmbeddedChain for its guarantees. */
export function createEmbeddedChain(options: EmbeddedChainOptions = {}): Promise<EmbeddedChain> {
  return EmbeddedChain.open(options);
}
