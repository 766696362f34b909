/** Ethereum JSON-RPC shapes for blocks, transactions, receipts and logs (hex quantities). */
import type { Block } from '@ethereumjs/block';
import type { TypedTransaction } from '@ethereumjs/tx';
import { bytesToHex } from '@ethereumjs/util';
import type { RunTxResult } from '@ethereumjs/vm';

export type Hex = `0x${string}`;

export const quantity = (n: bigint | number): Hex => `0x${n.toString(16)}`;

export interface RpcLog {
  address: Hex;
  topics: Hex[];
  data: Hex;
  blockNumber: Hex;
  blockHash: Hex;
  transactionHash: Hex;
  transactionIndex: Hex;
  logIndex: Hex;
  removed: false;
}

export interface RpcReceipt {
  transactionHash: Hex;
  transactionIndex: Hex;
  blockHash: Hex;
  blockNumber: Hex;
  from: Hex;
  to: Hex | null;
  cumulativeGasUsed: Hex;
  gasUsed: Hex;
  effectiveGasPrice: Hex;
  contractAddress: Hex | null;
  logs: RpcLog[];
  logsBloom: Hex;
  status: Hex;
  type: Hex;
}

/** One mined transaction as Lode's index keeps it (persisted as JSON per block). */
export interface MinedTransaction {
  raw: Hex;
  receipt: RpcReceipt;
}

export function formatReceipt(block: Block, index: number, tx: TypedTransaction, result: RunTxResult, firstLogIndex: number): RpcReceipt {
  const blockHash = bytesToHex(block.hash());
  const blockNumber = quantity(block.header.number);
  const transactionHash = bytesToHex(tx.hash());
  const transactionIndex = quantity(index);
  const logs: RpcLog[] = (result.execResult.logs ?? []).map(([address, topics, data], i) => ({
    address: bytesToHex(address),
    topics: topics.map((t) => bytesToHex(t)),
    data: bytesToHex(data),
    blockNumber,
    blockHash,
    transactionHash,
    transactionIndex,
    logIndex: quantity(firstLogIndex + i),
    removed: false,
  }));
  const receipt = result.receipt as { status?: 0 | 1; cumulativeBlockGasUsed: bigint };
  return {
    transactionHash,
    transactionIndex,
    blockHash,
    blockNumber,
    from: tx.getSenderAddress().toString() as Hex,
    to: tx.to === undefined ? null : (tx.to.toString() as Hex),
    cumulativeGasUsed: quantity(receipt.cumulativeBlockGasUsed),
    gasUsed: quantity(result.totalGasSpent),
    effectiveGasPrice: quantity(effectiveGasPrice(tx, block.header.baseFeePerGas ?? 0n)),
    contractAddress: result.createdAddress === undefined ? null : (result.createdAddress.toString() as Hex),
    logs,
    logsBloom: bytesToHex(result.bloom.bitvector),
    status: quantity(receipt.status ?? 1),
    type: quantity(tx.type),
  };
}

export function effectiveGasPrice(tx: TypedTransaction, baseFee: bigint): bigint {
  if ('maxFeePerGas' in tx && 'maxPriorityFeePerGas' in tx) {
    const tip = tx.maxFeePerGas - baseFee < tx.maxPriorityFeePerGas ? tx.maxFeePerGas - baseFee : tx.maxPriorityFeePerGas;
    return baseFee + tip;
  }
  return (tx as { gasPrice: bigint }).gasPrice;
}

export function formatTransaction(tx: TypedTransaction, block: Block | undefined, index: number): Record<string, unknown> {
  const json = tx.toJSON() as Record<string, unknown>;
  const { gasLimit, data, ...rest } = json;
  return {
    ...rest,
    hash: bytesToHex(tx.hash()),
    from: tx.getSenderAddress().toString(),
    to: tx.to === undefined ? null : tx.to.toString(),
    gas: gasLimit,
    input: data,
    type: quantity(tx.type),
    yParity: json.v,
    gasPrice: quantity(effectiveGasPrice(tx, block?.header.baseFeePerGas ?? 0n)),
    blockHash: block === undefined ? null : bytesToHex(block.hash()),
    blockNumber: block === undefined ? null : quantity(block.header.number),
    transactionIndex: block === undefined ? null : quantity(index),
  };
}

export function formatBlock(block: Block, fullTransactions: boolean): Record<string, unknown> {
  const h = block.header.toJSON();
  return {
    number: h.number,
    hash: bytesToHex(block.hash()),
    parentHash: h.parentHash,
    nonce: h.nonce,
    mixHash: h.mixHash,
    sha3Uncles: h.uncleHash,
    logsBloom: h.logsBloom,
    transactionsRoot: h.transactionsTrie,
    stateRoot: h.stateRoot,
    receiptsRoot: h.receiptTrie,
    miner: h.coinbase,
    difficulty: h.difficulty,
    totalDifficulty: '0x0',
    extraData: h.extraData,
    size: quantity(block.serialize().length),
    gasLimit: h.gasLimit,
    gasUsed: h.gasUsed,
    timestamp: h.timestamp,
    baseFeePerGas: h.baseFeePerGas,
    withdrawalsRoot: h.withdrawalsRoot,
    withdrawals: [],
    blobGasUsed: h.blobGasUsed,
    excessBlobGas: h.excessBlobGas,
    parentBeaconBlockRoot: h.parentBeaconBlockRoot,
    uncles: [],
    transactions: block.transactions.map((tx, i) => (fullTransactions ? formatTransaction(tx, block, i) : bytesToHex(tx.hash()))),
  };
}
