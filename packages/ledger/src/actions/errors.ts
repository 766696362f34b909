/**
 * Contract refusals in words. Every action sends through `write()`, which simulates first, so a
 * transaction that would revert is never sent and the caller gets `TransactionRevertedError`
 * with the contract's custom error name in `meta.errorName` and a sentence saying what to do.
 */
import { BaseError, ContractFunctionRevertedError, type Abi, type Hex, type TransactionReceipt } from 'viem';
import { LedgerUnavailableError, TransactionRevertedError } from '@lode/protocol';
import type { LedgerClient } from '../client.js';
import { jobEscrowAbi, lodeTokenAbi, protocolConfigAbi, stakingAbi } from '../contracts.js';

const WORDS: Record<string, string> = {
  AlreadyClaimed: 'This payout was claimed already; each batch pays a provider once.',
  InvalidProof: 'The proof does not match this account and amount: only the provider named in the batch can claim it.',
  BatchNotFinal: 'The batch is still in its challenge window; claim again once it is final.',
  UnbondingNotFinished: 'The unbonding period has not ended yet; withdraw after it does (`lode stake status` shows when).',
  NothingToWithdraw: 'Nothing is ready to withdraw: unbond first, then wait for the unbonding period.',
  InsufficientEscrow: "The job's escrow holds less than the debit.",
  NotRequester: 'Only the job’s requester can do this.',
  JobClosed: 'The job’s escrow is closed (refunded) already.',
  JobNotExpired: 'The escrow has not expired yet; the gateway refunds it when the job ends.',
  ERC20InsufficientBalance: 'The account does not hold enough LODE. Get some with `lode wallet faucet` (local networks) or a transfer.',
  ERC20InsufficientAllowance: 'The contract is not allowed to move that much LODE for this account.',
  AccessControlUnauthorizedAccount: 'This account does not have the role this action needs.',
  InsufficientStake: 'The account has less stake than that with this provider.',
  ZeroAmount: 'The amount must be more than zero.',
};

/** A readable TransactionRevertedError for a contract error, or LedgerUnavailableError for a transport one. */
export function toLedgerError(err: unknown, action: string): Error {
  if (err instanceof BaseError) {
    const reverted = err.walk((e) => e instanceof ContractFunctionRevertedError);
    if (reverted instanceof ContractFunctionRevertedError) {
      const name = reverted.data?.errorName ?? reverted.reason ?? 'unknown';
      const words = WORDS[name] ?? reverted.shortMessage;
      return new TransactionRevertedError(`${action} was refused by the contract (${name}). ${words}`, {
        meta: { errorName: name, args: (reverted.data?.args ?? []).map(String) },
        cause: err,
      });
    }
    if (/fetch failed|ECONNREFUSED|timed out|HTTP request failed/i.test(err.message)) {
      return new LedgerUnavailableError(`${action}: the chain could not be reached (${err.shortMessage}).`, { cause: err });
    }
  }
  return err instanceof Error ? err : new Error(String(err));
}

/** Every contract's custom errors, so a revert deep inside a call (the token's, in a deposit) decodes too. */
const ALL_ERRORS = [...jobEscrowAbi, ...stakingAbi, ...lodeTokenAbi, ...protocolConfigAbi].filter(
  (item, i, all) => item.type === 'error' && all.findIndex((x) => x.type === 'error' && x.name === item.name) === i,
);

/** Simulates, sends and waits for one contract call; throws what `toLedgerError` makes. */
export async function write(
  client: LedgerClient,
  action: string,
  call: { address: Hex; abi: Abi; functionName: string; args: readonly unknown[] },
): Promise<TransactionReceipt> {
  const wallet = client.wallet;
  if (!wallet) throw new TypeError(`${action} needs a ledger client with an account`);
  try {
    const abi = [...call.abi, ...ALL_ERRORS.filter((e) => !call.abi.some((x) => x.type === 'error' && x.name === (e as { name: string }).name))];
    await client.public.simulateContract({ ...call, abi, account: wallet.account } as never);
    const hash = await wallet.writeContract({ ...call, account: wallet.account, chain: null } as never);
    const receipt = await client.public.waitForTransactionReceipt({ hash });
    if (receipt.status !== 'success') throw new TransactionRevertedError(`${action}: the transaction ${hash} reverted.`);
    return receipt;
  } catch (err) {
    throw toLedgerError(err, action);
  }
}
