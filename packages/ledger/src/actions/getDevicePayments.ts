import { getAddress, type Address, type Hex } from 'viem';
import { getBlockNumber, getContractEvents, readContract } from 'viem/actions';
import type { LedgerClient } from '../client.js';
import { deviceRegistryAbi, jobEscrowAbi } from '../contracts.js';

export interface GetDevicePaymentsParameters {
  /** A provider's node address. */
  node: Address;
}

export interface DevicePayment {
  /** JobEscrow's batch id. */
  batchId: bigint;
  amount: bigint;
  /** Who received it: the node itself, or (a registered device) its owner or share contract at the time. */
  paidTo: Address;
  txHash: Hex;
}

export interface GetDevicePaymentsReturnType {
  node: Address;
  registered: boolean;
  /** Where a claim would pay now (`DeviceRegistry.payeeOf`). */
  payee: Address;
  /** Every claimed payout of the node, oldest first. */
  payments: DevicePayment[];
}

/**
 * Where a node's claimed payouts went: JobEscrow's `Claimed` events for the node, each matched
 * to the `DevicePaid` event of its transaction (a registered device's claims pay its owner or
 * share contract; otherwise the node). Two `eth_getLogs` since the deployment.
 *
 * @example
 * const { payments } = await getDevicePayments(client, { node });
 */
export async function getDevicePayments(client: LedgerClient, p: GetDevicePaymentsParameters): Promise<GetDevicePaymentsReturnType> {
  const node = getAddress(p.node);
  const { escrow, registry, deployBlock } = client.addresses;
  const blockNumber = await getBlockNumber(client, { cacheTime: 0 });
  const range = { fromBlock: BigInt(deployBlock), toBlock: blockNumber };
  const [[payee, registered], claimed, paid] = await Promise.all([
    readContract(client, { address: registry, abi: deviceRegistryAbi, functionName: 'payeeOf', args: [node], blockNumber }),
    getContractEvents(client, { address: escrow, abi: jobEscrowAbi, eventName: 'Claimed', args: { provider: node }, ...range }),
    getContractEvents(client, { address: escrow, abi: jobEscrowAbi, eventName: 'DevicePaid', args: { node }, ...range }),
  ]);
  const paidIn = new Map(paid.map((e) => [e.transactionHash, getAddress(e.args.payee!)]));
  const payments = claimed.map((e) => ({
    batchId: e.args.batchId!,
    amount: e.args.amount!,
    paidTo: paidIn.get(e.transactionHash) ?? node,
    txHash: e.transactionHash,
  }));
  return { node, registered, payee, payments };
}
