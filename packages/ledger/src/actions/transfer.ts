import type { Address, Hex } from 'viem';
import type { LedgerClient } from '../client.js';
import { lodeTokenAbi } from '../contracts.js';
import { write } from './errors.js';

export interface TransferParameters {
  /** The receiver. */
  to: Address;
  /** Token wei. */
  amount: bigint;
}

export interface TransferReturnType {
  txHash: Hex;
}

/**
 * Sends `amount` LODE from the client's account to `to`. A balance that is too small comes back
 * as TransactionRevertedError (`ERC20InsufficientBalance`) before anything is sent.
 *
 * @example
 * await transfer(client, { to: '0x…', amount: parseEther('25') });
 */
export async function transfer(client: LedgerClient, p: TransferParameters): Promise<TransferReturnType> {
  const receipt = await write(client, `Sending LODE to ${p.to}`, {
    address: client.addresses.token,
    abi: lodeTokenAbi,
    functionName: 'transfer',
    args: [p.to, p.amount],
  });
  return { txHash: receipt.transactionHash };
}
