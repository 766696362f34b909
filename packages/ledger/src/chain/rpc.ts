/**
 * The standard Ethereum JSON-RPC methods over an EmbeddedChain — what viem's public and wallet
 * actions, ethers and wallets use — plus the usual dev methods (evm_mine, evm_increaseTime,
 * evm_setNextBlockTimestamp, evm_snapshot, evm_revert). Params are validated with zod; every
 * failure is a JSON-RPC error with a code (-32601 unknown method, -32602 bad params, 3 revert
 * with its data, -32000 refused transaction).
 */
import { z } from 'zod';
import { BLOCK_GAS_LIMIT, RpcError } from './constants.js';
import type { EmbeddedChain } from './embeddedChain.js';
import { formatBlock, formatTransaction, quantity, type Hex } from './format.js';

const hex = z.string().regex(/^0x[0-9a-fA-F]*$/, 'expected 0x-prefixed hex') as unknown as z.ZodType<Hex>;
const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'expected a 20-byte address') as unknown as z.ZodType<Hex>;
const hash = z.string().regex(/^0x[0-9a-fA-F]{64}$/, 'expected a 32-byte hash') as unknown as z.ZodType<Hex>;
const qty = z
  .string()
  .regex(/^0x[0-9a-fA-F]+$/, 'expected a hex quantity')
  .transform((s) => BigInt(s));
const blockTag = z.union([z.enum(['latest', 'pending', 'earliest', 'safe', 'finalized']), qty]).optional();
const callRequest = z.object({
  from: address.optional(),
  to: address.nullish(),
  data: hex.optional(),
  input: hex.optional(),
  value: qty.optional(),
  gas: qty.optional(),
});
const logFilter = z.object({
  fromBlock: blockTag,
  toBlock: blockTag,
  blockHash: hash.optional(),
  address: z.union([address, z.array(address)]).optional(),
  topics: z.array(z.union([hash, z.array(hash), z.null()])).optional(),
});

type Handler = (chain: EmbeddedChain, params: unknown[]) => Promise<unknown> | unknown;

/** Parses positional params with zod, or fails with JSON-RPC -32602. */
function parse<T extends z.ZodTypeAny[]>(params: unknown[], ...schemas: T): { [K in keyof T]: z.infer<T[K]> } {
  const result = z
    .tuple(schemas as unknown as [z.ZodTypeAny])
    .safeParse(params.slice(0, schemas.length).concat(Array(Math.max(0, schemas.length - params.length)).fill(undefined)));
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new RpcError(-32602, `invalid params: ${issue.path.length > 0 ? `[${issue.path.join('.')}] ` : ''}${issue.message}`);
  }
  return result.data as never;
}

/** Only the chain head has state here (no archive reads). */
async function atLatest(chain: EmbeddedChain, tag: bigint | string | undefined): Promise<void> {
  if (tag === undefined || tag === 'latest' || tag === 'pending' || tag === 'safe' || tag === 'finalized') return;
  if (typeof tag === 'bigint' && tag === chain.blockNumber) return;
  throw new RpcError(-32000, `state at block ${String(tag)} is not kept by the embedded chain; query "latest"`);
}

function resolveTag(chain: EmbeddedChain, tag: bigint | string | undefined): bigint | undefined {
  if (tag === undefined) return undefined;
  if (typeof tag === 'bigint') return tag;
  return tag === 'earliest' ? 0n : chain.blockNumber;
}

const toCall = (r: z.infer<typeof callRequest>) => ({ from: r.from, to: r.to, data: r.data ?? r.input, value: r.value, gas: r.gas });

const methods: Record<string, Handler> = {
  web3_clientVersion: () => 'lode-embedded-chain/1 (@ethereumjs/vm)',
  net_version: (chain) => String(chain.chainId),
  net_listening: () => true,
  eth_chainId: (chain) => quantity(chain.chainId),
  eth_syncing: () => false,
  eth_mining: () => false,
  eth_accounts: () => [],
  eth_blockNumber: (chain) => quantity(chain.blockNumber),
  eth_gasPrice: (chain) => quantity(chain.nextBaseFee()),
  eth_maxPriorityFeePerGas: () => '0x0',
  eth_feeHistory: async (chain, params) => {
    const [count, newest, percentiles] = parse(params, qty, blockTag, z.array(z.number()).optional());
    const last = resolveTag(chain, newest) ?? chain.blockNumber;
    const first = last - (count > last + 1n ? last + 1n : count) + 1n;
    const baseFees: Hex[] = [];
    const ratios: number[] = [];
    for (let n = first; n <= last; n++) {
      const block = await chain.getBlock(n);
      baseFees.push(quantity(block?.header.baseFeePerGas ?? 0n));
      ratios.push(Number(block?.header.gasUsed ?? 0n) / Number(BLOCK_GAS_LIMIT));
    }
    baseFees.push(quantity(chain.nextBaseFee()));
    return {
      oldestBlock: quantity(first),
      baseFeePerGas: baseFees,
      gasUsedRatio: ratios,
      reward: percentiles === undefined ? undefined : ratios.map(() => percentiles.map(() => '0x0')),
    };
  },
  eth_getBalance: async (chain, params) => {
    const [who, tag] = parse(params, address, blockTag);
    await atLatest(chain, tag);
    return quantity(await chain.getBalance(who));
  },
  eth_getTransactionCount: async (chain, params) => {
    const [who, tag] = parse(params, address, blockTag);
    await atLatest(chain, tag);
    return quantity(await chain.getNonce(who));
  },
  eth_getCode: async (chain, params) => {
    const [who, tag] = parse(params, address, blockTag);
    await atLatest(chain, tag);
    return chain.getCode(who);
  },
  eth_getStorageAt: async (chain, params) => {
    const [who, slot, tag] = parse(params, address, qty, blockTag);
    await atLatest(chain, tag);
    return chain.getStorageAt(who, slot);
  },
  eth_call: async (chain, params) => {
    const [request, tag] = parse(params, callRequest, blockTag);
    await atLatest(chain, tag);
    return chain.call(toCall(request));
  },
  eth_estimateGas: async (chain, params) => {
    const [request, tag] = parse(params, callRequest, blockTag);
    await atLatest(chain, tag);
    return quantity(await chain.estimateGas(toCall(request)));
  },
  eth_sendRawTransaction: async (chain, params) => {
    const [raw] = parse(params, hex);
    return chain.sendRawTransaction(raw);
  },
  eth_sendTransaction: () => {
    throw new RpcError(-32601, 'eth_sendTransaction: the embedded chain holds no keys; sign locally and use eth_sendRawTransaction');
  },
  eth_getTransactionReceipt: (chain, params) => {
    const [txHash] = parse(params, hash);
    return chain.getReceipt(txHash) ?? null;
  },
  eth_getTransactionByHash: async (chain, params) => {
    const [txHash] = parse(params, hash);
    const found = await chain.getTransaction(txHash);
    return found === undefined ? null : formatTransaction(found.tx, found.block, found.index);
  },
  eth_getBlockByNumber: async (chain, params) => {
    const [tag, full] = parse(params, blockTag, z.boolean().optional());
    const block = await chain.getBlock(typeof tag === 'bigint' ? tag : tag === 'earliest' ? 'earliest' : 'latest');
    return block === undefined ? null : formatBlock(block, full ?? false);
  },
  eth_getBlockByHash: async (chain, params) => {
    const [blockHash, full] = parse(params, hash, z.boolean().optional());
    const block = await chain.getBlock(blockHash);
    return block === undefined ? null : formatBlock(block, full ?? false);
  },
  eth_getBlockTransactionCountByNumber: async (chain, params) => {
    const [tag] = parse(params, blockTag);
    const block = await chain.getBlock(typeof tag === 'bigint' ? tag : 'latest');
    return block === undefined ? null : quantity(block.transactions.length);
  },
  eth_getLogs: (chain, params) => {
    const [filter] = parse(params, logFilter);
    const from = resolveTag(chain, filter.fromBlock);
    const to = resolveTag(chain, filter.toBlock);
    return chain.getLogs({
      fromBlock: from,
      toBlock: to,
      blockHash: filter.blockHash,
      address: filter.address === undefined ? undefined : [filter.address].flat(),
      topics: filter.topics?.map((t) => (t === null ? null : [t].flat())),
    });
  },
  evm_mine: async (chain) => {
    await chain.mine();
    return '0x0';
  },
  evm_increaseTime: (chain, params) => {
    const [seconds] = parse(params, z.union([z.number().int().nonnegative(), qty]));
    return Number(chain.increaseTime(BigInt(seconds)));
  },
  evm_setNextBlockTimestamp: (chain, params) => {
    const [timestamp] = parse(params, z.union([z.number().int().nonnegative(), qty]));
    chain.setNextBlockTimestamp(BigInt(timestamp));
    return null;
  },
  evm_snapshot: (chain) => quantity(chain.snapshot()),
  evm_revert: (chain, params) => {
    const [id] = parse(params, qty);
    return chain.revert(id);
  },
};

/** Methods that bend the chain (time travel, rollback): in-process callers only, never over HTTP. */
export const DEV_METHODS: ReadonlySet<string> = new Set(['evm_mine', 'evm_increaseTime', 'evm_setNextBlockTimestamp', 'evm_snapshot', 'evm_revert']);

export interface DispatchOptions {
  /** Allow DEV_METHODS. @default true for `chain.request`, false for `handleJsonRpc` */
  devMethods?: boolean;
  /** Wall time this request may spend executing EVM code. @default the chain's budgetMs */
  budgetMs?: number;
}

/** Answers one JSON-RPC call; throws RpcError. Calls are serialized by the chain. */
export async function dispatch(chain: EmbeddedChain, method: string, params: unknown, options: DispatchOptions = {}): Promise<unknown> {
  const handler = Object.hasOwn(methods, method) ? methods[method] : undefined;
  if (handler === undefined || (DEV_METHODS.has(method) && options.devMethods === false)) {
    throw new RpcError(-32601, `the method ${method} does not exist/is not available`);
  }
  if (params !== undefined && !Array.isArray(params)) throw new RpcError(-32602, 'invalid params: expected an array');
  return chain.exclusive(() => chain.budgeted(options.budgetMs, async () => handler(chain, (params as unknown[] | undefined) ?? [])));
}

export interface JsonRpcRequest {
  jsonrpc?: string;
  id?: string | number | null;
  method?: unknown;
  params?: unknown;
}

/**
 * One JSON-RPC 2.0 HTTP body (a request or a batch) → its response body. Never throws: bad
 * requests get JSON-RPC errors, so the HTTP route can always answer 200. Dev methods are
 * refused unless `devMethods` is set (anyone who can reach the gateway could warp its clock).
 */
export async function handleJsonRpc(chain: EmbeddedChain, body: unknown, options: DispatchOptions = { devMethods: false }): Promise<unknown> {
  return answerJsonRpc(body, (method, params) => dispatch(chain, method, params, options));
}

/** The most calls one JSON-RPC batch may hold. */
export const MAX_BATCH_CALLS = 100;

/**
 * One JSON-RPC 2.0 body (a request or a batch of at most MAX_BATCH_CALLS) → its response body,
 * each call answered by `call` (which throws RpcError). Never throws.
 */
export async function answerJsonRpc(body: unknown, call: (method: string, params: unknown) => Promise<unknown>): Promise<unknown> {
  if (Array.isArray(body)) {
    if (body.length === 0) return rpcFailure(null, new RpcError(-32600, 'invalid request: empty batch'));
    if (body.length > MAX_BATCH_CALLS) return rpcFailure(null, new RpcError(-32600, `invalid request: at most ${MAX_BATCH_CALLS} calls per batch`));
    return Promise.all(body.map((item) => answer(item, call)));
  }
  return answer(body, call);
}

async function answer(item: unknown, call: (method: string, params: unknown) => Promise<unknown>): Promise<unknown> {
  const request = (typeof item === 'object' && item !== null ? item : {}) as JsonRpcRequest;
  const id = request.id ?? null;
  if (typeof request.method !== 'string') return rpcFailure(id, new RpcError(-32600, 'invalid request: no method'));
  try {
    const result = await call(request.method, request.params);
    return { jsonrpc: '2.0', id, result: result ?? null };
  } catch (error) {
    return rpcFailure(id, error);
  }
}

function rpcFailure(id: unknown, error: unknown) {
  const e = error instanceof RpcError ? error : new RpcError(-32603, `internal error: ${(error as Error)?.message ?? String(error)}`);
  return { jsonrpc: '2.0', id, error: { code: e.code, message: e.message, ...(e.data === undefined ? {} : { data: e.data }) } };
}
