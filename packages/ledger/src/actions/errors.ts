/**
 * Contract refusals in words. Every action sends through `write()`, which simulates first, so a
 * transaction that would revert is never sent and the caller gets `TransactionRevertedError`
 * with the contract's custom error name in `meta.errorName` and a sentence saying what to do.
 */
import { BaseError, ContractFunctionRevertedError, type Abi, type Hex, type TransactionReceipt } from 'viem';
import { simulateContract, waitForTransactionReceipt, writeContract } from 'viem/actions';
import { LedgerUnavailableError, TransactionRevertedError } from '@lode/protocol';
import { accountOf, type LedgerClient } from '../client.js';
import { deviceRegistryAbi, deviceSharesAbi, jobEscrowAbi, lodeTokenAbi, protocolConfigAbi, stakingAbi } from '../contracts.js';

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
  ZeroAddress: 'The address must not be the zero address.',
  AmountTooSmall: 'The amount is too small to buy a share of the pool; stake a little more.',
  TooManyUnbondingRequests: 'The account has the most open unbonding requests allowed (32); withdraw the released ones first.',
  ERC20InvalidReceiver: 'LODE (or device shares) cannot be sent to that address (the zero address).',
  // ProtocolConfig bounds (met when a proposal is checked, or executed).
  FeeTooHigh: 'The fee is above the highest the protocol allows (2,000 basis points, 20 %).',
  BpsOutOfRange: 'The value is outside its range of basis points (1 to 10,000).',
  PeriodOutOfRange: 'The period is outside its allowed range (at most 365 days).',
  ZeroMinStake: 'The minimum stake cannot be zero: every account would be eligible.',
  ZeroTreasury: 'The treasury cannot be the zero address.',
  UnbondingShorterThanChallengeWindow:
    'The unbonding period must be at least the challenge window, so that stake behind a batch stays slashable while it can be challenged.',
  OwnableUnauthorizedAccount: 'Only governance (the timelock) may change protocol parameters: propose it with `lode gov propose`.',
  // Governor and timelock.
  GovernorUnexpectedProposalState: 'The proposal is not in a state that allows this; `lode gov status <proposalId>` shows its state and times.',
  GovernorNonexistentProposal: 'No proposal has this id on this governor; `lode gov propose` prints the ids it creates.',
  GovernorAlreadyCastVote: 'This account has voted on this proposal already; a vote cannot be changed.',
  GovernorInsufficientProposerVotes: 'The account has fewer votes than the proposal threshold; get (and self-delegate) more LODE first.',
  GovernorInvalidVoteType: 'A vote is for, against or abstain.',
  GovernorAlreadyQueuedProposal: 'The proposal is queued already; execute it once the timelock delay has passed.',
  GovernorRestrictedProposer: 'This account may not make this proposal.',
  TimelockUnexpectedOperationState: 'The timelock is not ready: a queued proposal can be executed only after its eta (`lode gov status <proposalId>`).',
  ERC5805FutureLookup: "That point in time has not been reached yet; votes are counted at the proposal's snapshot.",
  // ProtocolConfig: availability.
  ChallengeRateTooHigh: 'The challenge rate is above the highest allowed (1,000 challenges per device per epoch).',
  // DeviceRegistry.
  DeviceAlreadyRegistered: 'This node is registered as a device already (a device registers once); `lode device show <node>` shows who owns it.',
  InvalidNodeSignature:
    "The node key's consent does not match: it must be signed by the node's own key and name the sending account as owner, with the same kind and capabilities. Sign it again for this owner (`lode device register --node <the node's data dir>`).",
  SignatureExpired: "The node key's consent is past its deadline; sign a fresh one (`lode device register` does).",
  InvalidKind: 'The device kind must be one of server, laptop, board, browser, phone.',
  UnknownDevice: 'No device is registered for this node; register it with `lode device register`.',
  NotDeviceOwner: "Only the device token's holder may do this; `lode device show <node>` shows who holds it.",
  AlreadySplit: 'The device is split already; to split it differently, unsplit it first (`lode device unsplit`, which needs every share).',
  NotSplit: 'The device is not split; there is nothing to unsplit.',
  InvalidShareCount: 'A device splits into 2 to 1,000,000,000,000 whole shares.',
  // DeviceShares.
  NotAllShares: 'Unsplitting needs every share in the sending account; buy back the others first (`lode device show <node>` lists the holders).',
  NothingToClaim: 'Nothing to claim: this account has no unclaimed share income (a device’s income reaches its share contract when its payouts are claimed).',
  NoStray: 'There is no stray income to recover: the share contract is still open, or nothing arrived after it closed.',
  SharesClosed: 'This share contract is closed (the device was unsplit): it shares no new income, but past holders can still claim what they earned.',
  NotRegistry: 'Only the DeviceRegistry may do this.',
  InvalidInitialization: 'The share contract is set up already (only the registry initializes it, once).',
  // JobEscrow: devices and availability rewards.
  DeviceIncomeNotRestakable:
    "This node is a registered device: its income belongs to the device token's holder and cannot be restaked. Claim without --restake; the payout goes to the device's owner.",
  NotADevice: 'This node is not a registered device: only its own key claims its payouts (`lode wallet claim` in its data dir).',
  EpochNotOver: 'The availability epoch has not ended yet; its rewards can be posted once it has.',
  EpochAlreadySettled: 'This availability epoch was rewarded already; each epoch gets one reward batch.',
  RewardAboveBudget:
    "The rewards exceed the epoch's budget (the availability pool, or the emission released so far); lower them, or raise availabilityPool by governance.",
  // ERC-721 (device tokens).
  ERC721IncorrectOwner: "The account does not hold this device's token; `lode device show <node>` shows who does.",
  ERC721InsufficientApproval:
    "The account neither holds this device's token nor is approved for it. A split device's token is held by the registry: sell shares (`lode device transfer <node> <to> --shares N`), or unsplit first.",
  ERC721NonexistentToken: 'No device is registered for this node (no token with that id); `lode device ls` lists the devices.',
  ERC721InvalidReceiver: 'That receiver cannot hold device tokens: the zero address, or a contract that does not accept ERC-721 tokens.',
  ERC721InvalidSender: 'The sender is not a valid token holder (the zero address).',
  ERC721InvalidOwner: 'The owner is not a valid address (the zero address).',
  ERC721OutOfBoundsIndex: 'There is no device at that index; `lode device ls` lists them.',
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
const ALL_ERRORS = [...jobEscrowAbi, ...stakingAbi, ...lodeTokenAbi, ...protocolConfigAbi, ...deviceRegistryAbi, ...deviceSharesAbi].filter(
  (item, i, all) => item.type === 'error' && all.findIndex((x) => x.type === 'error' && x.name === item.name) === i,
);

/** Simulates, sends and waits for one contract call; throws what `toLedgerError` makes. */
export async function write(
  client: LedgerClient,
  action: string,
  call: { address: Hex; abi: Abi; functionName: string; args: readonly unknown[] },
): Promise<TransactionReceipt> {
  const account = accountOf(client, action);
  try {
    const abi = [...call.abi, ...ALL_ERRORS.filter((e) => !call.abi.some((x) => x.type === 'error' && x.name === (e as { name: string }).name))];
    await simulateContract(client, { ...call, abi, account } as never);
    const hash = await writeContract(client, { ...call, account, chain: null } as never);
    const receipt = await waitForTransactionReceipt(client, { hash });
    if (receipt.status !== 'success') throw new TransactionRevertedError(`${action}: the transaction ${hash} reverted.`);
    return receipt;
  } catch (err) {
    throw toLedgerError(err, action);
  }
}
