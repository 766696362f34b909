/**
 * Long because it implements a chain's state, blocks, persistence and dev methods around one VM.
 *
 * Lode's embedded EVM chain: @ethereumjs/vm inside the gateway process, one block per
 * transaction (automine), state and blocks persisted in the data directory.
 *
 * Guarantees:
 * - Every call is serialized: a read never sees a half-built block.
 * - `sendRawTransaction` resolves only after the block holding the transaction is mined and
 *   flushed to disk (fsync): an acknowledged transaction survives a crash.
 * - A transaction that reverts is still mined (status 0), as on any Ethereum chain; an invalid
 *   one (bad nonce, funds, chain id, signature) is refused with a JSON-RPC error and mines nothing.
 * - Every execution is bounded: calls and estimates run with at most the block gas limit, and
 *   every request with a wall-time budget (`budgetMs`, see budget.ts). A call past its budget is
 *   refused; a transaction past it is refused and not mined.
 * - Reopening the same data directory restores every balance, contract, block and receipt.
 *
 * Not a consensus client: one process owns the chain. At scale, point the gateway at any EVM
 * JSON-RPC endpoint instead (`--rpc-url`).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createBlock, type Block } from '@ethereumjs/block';
import { createBlockchain, type Blockchain } from '@ethereumjs/blockchain';
import { createCustomCommon, Hardfork, Mainnet, type Common } from '@ethereumjs/common';
import { createMPT } from '@ethereumjs/mpt';
import { MerkleStateManager } from '@ethereumjs/statemanager';
import { createTx, createTxFromRLP, type TypedTransaction } from '@ethereumjs/tx';
import { Address, bytesToHex, createAddressFromString, hexToBytes, setLengthLeft } from '@ethereumjs/util';
import { buildBlock, createVM, runTx, type RunTxResult, type VM } from '@ethereumjs/vm';
import { ExecutionBudget } from './budget.js';
import { BLOCK_GAS_LIMIT, DEFAULT_EXECUTION_BUDGET_MS, LODE_CHAIN_ID, RpcError } from './constants.js';
import { formatReceipt, quantity, type Hex, type MinedTransaction, type RpcLog, type RpcReceipt } from './format.js';
import { LogStore } from './logStore.js';
import { dispatch } from './rpc.js';

export { BLOCK_GAS_LIMIT, DEFAULT_EXECUTION_BUDGET_MS, LODE_CHAIN_ID, RpcError } from './constants.js';

const INITIAL_BASE_FEE = 1_000_000_000n;
const ZERO_ADDRESS = new Address(new Uint8Array(20));

export interface EmbeddedChainOptions {
  /** Directory holding `chain.log`; omit for a chain that lives in memory only. */
  dataDir?: string;
  /** @default LODE_CHAIN_ID */
  chainId?: number;
  /** Accounts given ETH (for gas) in the genesis block; used only when the chain is created. */
  accounts?: ReadonlyArray<{ address: Hex; balance: bigint }>;
  /** Wall clock in ms (tests inject one). @default Date.now */
  now?: () => number;
  /** Wall time one request may spend executing EVM code. @default DEFAULT_EXECUTION_BUDGET_MS */
  budgetMs?: number;
}

export interface CallRequest {
  from?: Hex;
  to?: Hex | null;
  data?: Hex;
  value?: bigint;
  gas?: bigint;
}

export interface LogFilter {
  fromBlock?: bigint;
  toBlock?: bigint;
  blockHash?: Hex;
  address?: Hex[];
  /** Per position: undefined/null matches anything, else any of the listed topics. */
  topics?: Array<Hex[] | null>;
}

export class EmbeddedChain {
  private head!: Block;
  private readonly receipts = new Map<string, RpcReceipt>();
  private readonly logs: RpcLog[] = [];
  private timeOffset = 0n;
  private pinnedTimestamp: bigint | undefined;
  private readonly snapshots: bigint[] = [];
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(
    readonly chainId: number,
    private readonly common: Common,
    private readonly vm: VM,
    private readonly blockchain: Blockchain,
    private readonly store: LogStore,
    private readonly now: () => number,
    private readonly budget: ExecutionBudget,
    private readonly budgetMs: number,
  ) {}

  static async open(options: EmbeddedChainOptions = {}): Promise<EmbeddedChain> {
    let file: string | undefined;
    if (options.dataDir !== undefined) {
      mkdirSync(options.dataDir, { recursive: true });
      file = join(options.dataDir, 'chain.log');
    }
    const store = LogStore.open(file);
    const saved = store.maps.lode.get('genesis') as string | undefined;
    const genesis: { chainId: number; alloc: Record<string, Hex> } =
      saved !== undefined
        ? (JSON.parse(saved) as { chainId: number; alloc: Record<string, Hex> })
        : {
            chainId: options.chainId ?? LODE_CHAIN_ID,
            alloc: Object.fromEntries((options.accounts ?? []).map((a) => [a.address.toLowerCase(), quantity(a.balance)])),
          };
    if (options.chainId !== undefined && options.chainId !== genesis.chainId) {
      throw new Error(`the chain in ${options.dataDir} has chain id ${genesis.chainId}, not ${options.chainId}`);
    }
    const common = lodeCommon(genesis.chainId);
    const trie = await createMPT({ db: store.db('state') as never, useKeyHashing: true });
    const stateManager = new MerkleStateManager({ trie, common });
    const blockchain = await createBlockchain({
      common,
      db: store.db('chain'),
      validateBlocks: false,
      validateConsensus: false,
      genesisState: genesis.alloc,
    });
    const budget = new ExecutionBudget();
    const vm = await createVM({ common, stateManager, blockchain, evmOpts: { customOpcodes: budget.customOpcodes(common) } });
    const chain = new EmbeddedChain(
      genesis.chainId,
      common,
      vm,
      blockchain,
      store,
      options.now ?? Date.now,
      budget,
      options.budgetMs ?? DEFAULT_EXECUTION_BUDGET_MS,
    );
    chain.head = await blockchain.getCanonicalHeadBlock();
    if (saved === undefined) {
      await stateManager.generateCanonicalGenesis(genesis.alloc);
      store.put('lode', 'genesis', JSON.stringify(genesis));
      store.flush();
    } else {
      await stateManager.setStateRoot(chain.head.header.stateRoot);
      for (let n = 1n; n <= chain.head.header.number; n++) chain.index(chain.minedIn(n));
    }
    return chain;
  }

  /** Runs `fn` after every earlier call has finished (one block at a time). */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(() => {
      if (this.closed) throw new RpcError(-32000, 'the chain is closed');
      return fn();
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** EIP-1193: `request({ method, params })`, for viem's `custom()` transport, ethers and wallets. */
  request(args: { method: string; params?: unknown }): Promise<unknown> {
    return dispatch(this, args.method, args.params);
  }

  /**
   * Runs `fn` (one request) with `budgetMs` of EVM wall time, the chain's own budget when not
   * given. Call it inside `exclusive`: one request executes at a time.
   */
  budgeted<T>(budgetMs: number | undefined, fn: () => Promise<T>): Promise<T> {
    return this.budget.within(budgetMs ?? this.budgetMs, fn);
  }

  get blockNumber(): bigint {
    return this.head.header.number;
  }

  get latest(): Block {
    return this.head;
  }

  async getBalance(address: Hex): Promise<bigint> {
    return (await this.vm.stateManager.getAccount(createAddressFromString(address)))?.balance ?? 0n;
  }

  async getNonce(address: Hex): Promise<bigint> {
    return (await this.vm.stateManager.getAccount(createAddressFromString(address)))?.nonce ?? 0n;
  }

  async getCode(address: Hex): Promise<Hex> {
    return bytesToHex(await this.vm.stateManager.getCode(createAddressFromString(address)));
  }

  async getStorageAt(address: Hex, slot: bigint): Promise<Hex> {
    const key = setLengthLeft(hexToBytes(quantityToEvenHex(slot)), 32);
    const value = await this.vm.stateManager.getStorage(createAddressFromString(address), key);
    return bytesToHex(setLengthLeft(value, 32));
  }

  /** The base fee the next block will charge. */
  nextBaseFee(): bigint {
    return this.head.header.calcNextBaseFee();
  }

  /** Executes a call against the latest state and throws away its changes (gas: at most the block's). */
  async call(request: CallRequest): Promise<Hex> {
    const result = await this.dryRun(request, capGas(request.gas));
    return bytesToHex(result.execResult.returnValue);
  }

  /**
   * Gas for `request`: the gas it spends plus what its refunds and the 63/64 rule hold back,
   * checked by running it again at that limit (an estimate that would fail is never returned).
   * It is measured in the next block and in a block one second later, and the larger is kept:
   * gas can depend on the clock (ERC20Votes writes a new checkpoint in a new second, ~20,000
   * more gas), and the transaction may be mined a second after it was estimated.
   */
  async estimateGas(request: CallRequest): Promise<bigint> {
    const limit = capGas(request.gas);
    const spentIn = (run: RunTxResult) => run.totalGasSpent + (run.gasRefund ?? 0n);
    let spent = spentIn(await this.dryRun(request, limit)); // a revert here is the answer
    try {
      const later = spentIn(await this.dryRun(request, limit, 1n));
      if (later > spent) spent = later;
    } catch (error) {
      if (this.budget.exceeded) throw error;
      // Refused a second later (a window closing): the next block's figure stands.
    }
    let estimate = (spent * 64n) / 63n + 10_000n;
    if (estimate > BLOCK_GAS_LIMIT) estimate = BLOCK_GAS_LIMIT;
    try {
      await this.dryRun(request, estimate);
    } catch (error) {
      if (this.budget.exceeded) throw error;
      estimate = limit;
    }
    return estimate;
  }

  async sendRawTransaction(raw: Hex): Promise<Hex> {
    let tx: TypedTransaction;
    try {
      tx = createTxFromRLP(hexToBytes(raw), { common: this.common });
    } catch (error) {
      throw new RpcError(-32602, `invalid raw transaction: ${(error as Error).message}`);
    }
    if (!tx.isSigned()) throw new RpcError(-32000, 'transaction is not signed');
    if (tx.gasLimit > BLOCK_GAS_LIMIT) {
      throw new RpcError(-32000, `transaction gas limit ${tx.gasLimit} is above the block gas limit (${BLOCK_GAS_LIMIT}); send it with less gas`);
    }
    const hash = bytesToHex(tx.hash());
    if (this.receipts.has(hash)) throw new RpcError(-32000, 'already known');
    const sender = tx.getSenderAddress();
    const account = await this.vm.stateManager.getAccount(sender);
    const nonce = account?.nonce ?? 0n;
    if (tx.nonce < nonce) throw new RpcError(-32000, `nonce too low: next nonce ${nonce}, tx nonce ${tx.nonce}`);
    if (tx.nonce > nonce) {
      throw new RpcError(-32000, `nonce too high: next nonce ${nonce}, tx nonce ${tx.nonce} (this chain mines each transaction at once and keeps no queue)`);
    }
    await this.mine([tx]);
    return hash;
  }

  /** Mines one block holding `txs` (possibly none). */
  async mine(txs: TypedTransaction[] = []): Promise<Block> {
    // A block is ~10 ms of promise-only work: let I/O and timers in between, so long runs of
    // transactions never starve the process's event loop (sockets, heartbeats).
    await new Promise((resolve) => setImmediate(resolve));
    const parent = this.head;
    const builder = await buildBlock(this.vm, {
      parentBlock: parent,
      headerData: {
        timestamp: this.nextTimestamp(parent),
        gasLimit: BLOCK_GAS_LIMIT,
        coinbase: ZERO_ADDRESS,
        parentBeaconBlockRoot: new Uint8Array(32),
      },
      blockOpts: { putBlockIntoBlockchain: true },
    });
    const results: RunTxResult[] = [];
    for (const tx of txs) {
      try {
        results.push(await builder.addTransaction(tx));
      } catch (error) {
        await builder.revert();
        throw new RpcError(-32000, cleanMessage((error as Error).message));
      }
      if (this.budget.exceeded) {
        // Halted by the clock, not by its gas: refused, never mined (the outcome must not depend on time).
        await builder.revert();
        throw new RpcError(-32000, `transaction refused: ${this.overBudget()}; it was not mined`);
      }
    }
    const { block } = await builder.build();
    let logIndex = 0;
    const mined: MinedTransaction[] = block.transactions.map((tx, i) => {
      const receipt = formatReceipt(block, i, tx, results[i]!, logIndex);
      logIndex += receipt.logs.length;
      return { raw: bytesToHex(tx.serialize()), receipt };
    });
    this.store.put('lode', `block:${block.header.number}`, JSON.stringify(mined));
    this.store.flush();
    this.head = block;
    this.index(mined);
    return block;
  }

  async getBlock(tag: bigint | 'latest' | 'earliest' | Hex): Promise<Block | undefined> {
    try {
      if (tag === 'latest') return this.head;
      if (tag === 'earliest') return await this.blockchain.getBlock(0n);
      if (typeof tag === 'string') return await this.blockchain.getBlock(hexToBytes(tag));
      return tag > this.head.header.number ? undefined : await this.blockchain.getBlock(tag);
    } catch {
      return undefined;
    }
  }

  getReceipt(hash: Hex): RpcReceipt | undefined {
    return this.receipts.get(hash.toLowerCase());
  }

  async getTransaction(hash: Hex): Promise<{ tx: TypedTransaction; block: Block; index: number } | undefined> {
    const receipt = this.getReceipt(hash);
    if (receipt === undefined) return undefined;
    const block = await this.blockchain.getBlock(BigInt(receipt.blockNumber));
    const index = Number(receipt.transactionIndex);
    return { tx: block.transactions[index]!, block, index };
  }

  getLogs(filter: LogFilter): RpcLog[] {
    const from = filter.fromBlock ?? this.head.header.number;
    const to = filter.toBlock ?? this.head.header.number;
    const addresses = filter.address?.map((a) => a.toLowerCase());
    return this.logs.filter((log) => {
      if (filter.blockHash !== undefined) {
        if (log.blockHash !== filter.blockHash.toLowerCase()) return false;
      } else {
        const n = BigInt(log.blockNumber);
        if (n < from || n > to) return false;
      }
      if (addresses !== undefined && addresses.length > 0 && !addresses.includes(log.address.toLowerCase())) return false;
      return (filter.topics ?? []).every((wanted, i) => wanted === null || wanted.length === 0 || wanted.some((t) => t.toLowerCase() === log.topics[i]));
    });
  }

  /** Moves the clock forward for every later block (tests: unbonding, challenge windows). */
  increaseTime(seconds: bigint): bigint {
    this.timeOffset += seconds;
    return this.timeOffset;
  }

  setNextBlockTimestamp(timestamp: bigint): void {
    if (timestamp < this.head.header.timestamp) {
      throw new RpcError(-32000, `timestamp ${timestamp} is before the latest block's ${this.head.header.timestamp}`);
    }
    this.pinnedTimestamp = timestamp;
  }

  /** Remembers the current head; `revert(id)` drops every block mined since. */
  snapshot(): bigint {
    this.snapshots.push(this.head.header.number);
    return BigInt(this.snapshots.length - 1);
  }

  async revert(id: bigint): Promise<boolean> {
    const target = this.snapshots[Number(id)];
    if (target === undefined) return false;
    this.snapshots.length = Number(id);
    if (target < this.head.header.number) {
      const firstDropped = await this.blockchain.getBlock(target + 1n);
      for (let n = target + 1n; n <= this.head.header.number; n++) {
        for (const { receipt } of this.minedIn(n)) this.receipts.delete(receipt.transactionHash);
        this.store.del('lode', `block:${n}`);
      }
      await this.blockchain.delBlock(firstDropped.hash());
      this.head = await this.blockchain.getCanonicalHeadBlock();
      await this.vm.stateManager.setStateRoot(this.head.header.stateRoot);
      const keep = this.logs.findIndex((log) => BigInt(log.blockNumber) > target);
      if (keep >= 0) this.logs.length = keep;
      this.store.flush();
    }
    return true;
  }

  /** Waits for calls in flight, then flushes and closes the log. */
  async close(): Promise<void> {
    await this.exclusive(async () => {
      this.closed = true;
    }).catch(() => undefined);
    this.store.close();
  }

  private nextTimestamp(parent: Block): bigint {
    if (this.pinnedTimestamp !== undefined) {
      const pinned = this.pinnedTimestamp;
      this.pinnedTimestamp = undefined;
      return pinned;
    }
    const now = BigInt(Math.floor(this.now() / 1000)) + this.timeOffset;
    return now > parent.header.timestamp ? now : parent.header.timestamp;
  }

  /** Runs `request` in a throw-away checkpoint, in the context of the next block (`later` seconds on). */
  private async dryRun(request: CallRequest, gasLimit: bigint, later = 0n) {
    const baseFee = this.nextBaseFee();
    const block = createBlock(
      {
        header: {
          parentHash: this.head.hash(),
          number: this.head.header.number + 1n,
          timestamp: this.nextTimestampPeek() + later,
          gasLimit: BLOCK_GAS_LIMIT,
          baseFeePerGas: baseFee,
          coinbase: ZERO_ADDRESS,
          parentBeaconBlockRoot: new Uint8Array(32),
        },
      },
      { common: this.common },
    );
    const from = request.from === undefined ? ZERO_ADDRESS : createAddressFromString(request.from);
    const tx = createTx(
      {
        type: 2,
        to: request.to ?? undefined,
        data: request.data ?? '0x',
        value: request.value ?? 0n,
        gasLimit,
        maxFeePerGas: baseFee,
        maxPriorityFeePerGas: 0n,
        nonce: (await this.vm.stateManager.getAccount(from))?.nonce ?? 0n,
      },
      { common: this.common, freeze: false },
    );
    tx.getSenderAddress = () => from;
    await this.vm.stateManager.checkpoint();
    try {
      const result = await runTx(this.vm, {
        tx,
        block,
        skipBalance: true,
        skipNonce: true,
        skipBlockGasLimitValidation: true,
        skipHardForkValidation: true,
      });
      if (this.budget.exceeded) throw new RpcError(-32000, `execution stopped: ${this.overBudget()}`);
      const error = result.execResult.exceptionError;
      if (error !== undefined) {
        const data = bytesToHex(result.execResult.returnValue);
        if (error.error === 'revert') throw new RpcError(3, `execution reverted${revertReason(data)}`, data);
        throw new RpcError(-32000, `execution failed: ${error.error}`);
      }
      return result;
    } catch (error) {
      if (error instanceof RpcError) throw error;
      throw new RpcError(-32000, cleanMessage((error as Error).message));
    } finally {
      await this.vm.stateManager.revert();
    }
  }

  private overBudget(): string {
    return `it ran past the chain's time budget of ${this.budget.limitMs} ms of EVM time per request (gas is also capped at the block limit, ${BLOCK_GAS_LIMIT}); use less gas or a cheaper call`;
  }

  private nextTimestampPeek(): bigint {
    if (this.pinnedTimestamp !== undefined) return this.pinnedTimestamp;
    const now = BigInt(Math.floor(this.now() / 1000)) + this.timeOffset;
    return now > this.head.header.timestamp ? now : this.head.header.timestamp;
  }

  private minedIn(n: bigint): MinedTransaction[] {
    const saved = this.store.maps.lode.get(`block:${n}`) as string | undefined;
    return saved === undefined ? [] : (JSON.parse(saved) as MinedTransaction[]);
  }

  private index(mined: MinedTransaction[]): void {
    for (const { receipt } of mined) {
      this.receipts.set(receipt.transactionHash, receipt);
      this.logs.push(...receipt.logs);
    }
  }
}

/** Every fork up to Cancun active from block 0 on a private chain. */
function lodeCommon(chainId: number): Common {
  const last = Mainnet.hardforks.findIndex((h) => h.name === Hardfork.Cancun);
  const hardforks = Mainnet.hardforks
    .slice(0, last + 1)
    .filter((h) => h.name !== Hardfork.MergeNetsplitBlock)
    .map((h) => ({ name: h.name, block: 0, timestamp: h.timestamp === undefined ? undefined : 0 }));
  return createCustomCommon(
    {
      chainId,
      name: 'lode',
      hardforks,
      genesis: {
        gasLimit: Number(BLOCK_GAS_LIMIT),
        difficulty: 0,
        nonce: '0x0000000000000000',
        extraData: '0x',
        baseFeePerGas: quantity(INITIAL_BASE_FEE),
      },
    },
    Mainnet,
    { hardfork: Hardfork.Cancun },
  );
}

/** A call's gas: what it asks for, at most the block gas limit. */
function capGas(gas: bigint | undefined): bigint {
  return gas === undefined || gas > BLOCK_GAS_LIMIT ? BLOCK_GAS_LIMIT : gas;
}

function quantityToEvenHex(n: bigint): Hex {
  const hex = n.toString(16);
  return `0x${hex.length % 2 === 0 ? hex : `0${hex}`}`;
}

/** Error(string) revert reasons as geth prints them; custom errors stay in `data`. */
function revertReason(data: Hex): string {
  if (!data.startsWith('0x08c379a0') || data.length < 138) return '';
  try {
    const length = Number(BigInt(`0x${data.slice(74, 138)}`));
    return `: ${Buffer.from(data.slice(138, 138 + length * 2), 'hex').toString('utf8')}`;
  } catch {
    return '';
  }
}

/** @ethereumjs appends block/tx dumps to its messages; keep the sentence. */
function cleanMessage(message: string): string {
  return message.replace(/\s*\((block|tx) .*$/s, '').replace(/\s*\[.*\]$/s, '');
}
