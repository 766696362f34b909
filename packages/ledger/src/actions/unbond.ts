import { maxUint256, parseEventLogs, type Address, type Hex } from 'viem';
import { accountOf, type LedgerClient } from '../client.js';
import { stakingAbi } from '../contracts.js';
import { write } from './errors.js';

export interface UnbondParameters {
  /** Token wei to unbond; `'all'` unbonds the whole position with the provider. */
  amount: bigint | 'all';
  /** The provider the stake is with. @default the client's account (its own stake) */
  provider?: Address;
}

export interface UnbondReturnType {
  provider: Address;
  /** Token wei that left the bonded pool (the whole position for `'all'`). */
  amount: bigint;
  /** Chain time (Unix seconds) from which `withdraw` pays these tokens out. */
  releaseAt: bigint;
  txHash: Hex;
}

/**
 * Starts unbonding stake with a provider (the account's own stake by default). The tokens stop
 * counting towards eligibility at once, stay slashable, and can be withdrawn from `releaseAt`.
 * Asking for more than the position comes back as TransactionRevertedError (`InsufficientStake`).
 *
 * @example
 * const { releaseAt } = await unbond(client, { amount: parseEther('50') });
 */
export async function unbond(client: LedgerClient, p: UnbondParameters): Promise<UnbondReturnType> {
  const provider = p.provider ?? accountOf(client, 'Unbonding').address;
  const own = provider.toLowerCase() === client.account?.address.toLowerCase();
  const receipt = await write(client, own ? 'Unbonding stake' : `Unbonding the delegation to ${provider}`, {
    address: client.addresses.staking,
    abi: stakingAbi,
    functionName: 'unbond',
    args: [provider, p.amount === 'all' ? maxUint256 : p.amount],
  });
  const [event] = parseEventLogs({ abi: stakingAbi, eventName: 'Unbonding', logs: receipt.logs });
  if (!event) throw new Error(`Unbonding: transaction ${receipt.transactionHash} emitted no Unbonding event`);
  return { provider: event.args.provider, amount: event.args.amount, releaseAt: event.args.releaseAt, txHash: receipt.transactionHash };
}
