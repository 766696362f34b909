import { TransactionRevertedError } from '@lode/protocol';
import { parseEventLogs, type Hex } from 'viem';
import type { LedgerClient } from '../client.js';
import { stakingAbi } from '../contracts.js';
import { write } from './errors.js';

export interface WithdrawReturnType {
  /** Token wei paid out (released requests, less any slashes taken from them meanwhile). */
  amount: bigint;
  txHash: Hex;
}

/**
 * Pays out every unbonding request of the client's account whose period has passed. Before the
 * first one is released it fails with TransactionRevertedError (`UnbondingNotFinished`, with
 * `meta.releaseAt` in Unix seconds and the time in the message); with no request at all,
 * `NothingToWithdraw`.
 *
 * @example
 * const { amount } = await withdraw(client);
 */
export async function withdraw(client: LedgerClient): Promise<WithdrawReturnType> {
  let receipt;
  try {
    receipt = await write(client, 'Withdrawing unbonded stake', { address: client.addresses.staking, abi: stakingAbi, functionName: 'withdraw', args: [] });
  } catch (err) {
    if (err instanceof TransactionRevertedError && err.meta?.errorName === 'UnbondingNotFinished') {
      const releaseAt = Number((err.meta.args as string[])[0]);
      const at = new Date(releaseAt * 1000).toISOString().replace('.000Z', 'Z');
      const wait = Math.max(0, releaseAt - Math.floor(Date.now() / 1000));
      throw new TransactionRevertedError(
        `Withdrawing was refused by the contract (UnbondingNotFinished): nothing is released yet. The earliest unbonding request releases at ${at} (in about ${wait} s); withdraw again then.`,
        { meta: { ...err.meta, releaseAt }, cause: err },
      );
    }
    throw err;
  }
  const [event] = parseEventLogs({ abi: stakingAbi, eventName: 'Withdrawn', logs: receipt.logs });
  return { amount: event?.args.amount ?? 0n, txHash: receipt.transactionHash };
}
