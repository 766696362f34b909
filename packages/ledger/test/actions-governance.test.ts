/**
 * The governance actions against the embedded chain: a fee change runs through
 * proposeParameterChange, castVote, queueProposal and executeProposal — queue and execute know
 * only the id (the calls come back from the ProposalCreated event) — and getProposal reports
 * each state. Refusals come in words: an out-of-range value before anything is sent, a vote
 * before voting opens, executing before the timelock's eta, an unknown id.
 */
import { parseEther, publicActions, walletActions } from 'viem';
import { getTransactionCount, waitForTransactionReceipt, writeContract } from 'viem/actions';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TransactionRevertedError } from '@lode/protocol';
import {
  DEFAULT_LEDGER_PARAMETERS,
  castVote,
  createEmbeddedChain,
  createLedgerClient,
  decodeParameterChange,
  delegateVotes,
  deployLedger,
  encodeParameterChange,
  executeProposal,
  getGovernanceSettings,
  getProposal,
  getProtocolParams,
  getVotingPower,
  lodeTokenAbi,
  proposeParameterChange,
  queueProposal,
  type EmbeddedChain,
  type LedgerAddresses,
} from '../src/index.js';

// Long enough that wall time passing during the test never moves a proposal on by itself; the test moves the chain's clock.
const GOV = { votingDelay: 10, votingPeriod: 60, timelockDelay: 60 };
const holder = privateKeyToAccount(generatePrivateKey());
const small = privateKeyToAccount(generatePrivateKey());
let chain: EmbeddedChain;
let addresses: LedgerAddresses;
const as = (account: typeof holder) => createLedgerClient({ provider: chain, addresses, account });

async function passTime(seconds: number): Promise<void> {
  await chain.request({ method: 'evm_increaseTime', params: [seconds] });
  await chain.request({ method: 'evm_mine' });
}

async function refusal(promise: Promise<unknown>): Promise<TransactionRevertedError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TransactionRevertedError);
  return err as TransactionRevertedError;
}

beforeAll(async () => {
  chain = await createEmbeddedChain({ accounts: [holder, small].map((a) => ({ address: a.address, balance: parseEther('100') })) });
  const bootstrap = createLedgerClient({ provider: chain, addresses: {} as LedgerAddresses, account: holder });
  addresses = await deployLedger(bootstrap.extend(walletActions), bootstrap.extend(publicActions), { gateway: holder.address, ...GOV });
  const hash = await writeContract(as(holder), {
    address: addresses.token,
    abi: lodeTokenAbi,
    functionName: 'transfer',
    args: [small.address, parseEther('10')],
    chain: null,
  });
  await waitForTransactionReceipt(as(holder), { hash });
  // The governor counts votes as of the previous second (clock() − 1, timestamp clock): without
  // this, a proposal made in the deployment's own second saw the operator with 0 votes (flaky).
  await passTime(1);
});
afterAll(() => chain.close());

describe('governance actions', () => {
  it('reads the protocol parameters and the governance settings', async () => {
    expect(await getProtocolParams(as(small))).toMatchObject({
      feeBps: 100,
      minStake: parseEther('100'),
      owner: addresses.timelock,
      treasury: addresses.timelock,
      maxFeeBps: 2000,
      epochLength: DEFAULT_LEDGER_PARAMETERS.epochLength,
      availabilityPool: DEFAULT_LEDGER_PARAMETERS.availabilityPool,
      challengeRate: DEFAULT_LEDGER_PARAMETERS.challengeRate,
    });
    expect(await getGovernanceSettings(as(small))).toEqual({ ...GOV, proposalThreshold: parseEther('100000'), quorumPercent: 4 });
  });

  it('encodes every setter and decodes it back', () => {
    for (const [parameter, value] of [
      ['feeBps', 250],
      ['minStake', parseEther('50')],
      ['challengeWindow', 7n],
      ['treasury', small.address],
      ['epochLength', 600n],
      ['availabilityPool', parseEther('50')],
      ['challengeRate', 5],
    ] as const) {
      expect(decodeParameterChange(encodeParameterChange(parameter, value))).toEqual({ parameter, value: String(value) });
    }
    expect(() => encodeParameterChange('feeBps', 70_000)).toThrow(/whole number of basis points/);
    expect(() => encodeParameterChange('treasury', 5n)).toThrow(/takes an address/);
  });

  it("self-delegates votes, which makes held LODE count; the operator's allocation votes from deployment", async () => {
    // The deployer is the operator: its allocation was delegated to itself by the token's constructor.
    const operator = await getVotingPower(as(holder), { address: holder.address });
    expect(operator).toMatchObject({ delegate: holder.address, votes: operator.balance });
    expect(operator.votes).toBe(parseEther('200000000') - parseEther('10'));

    expect(await getVotingPower(as(small), { address: small.address })).toMatchObject({ delegate: null, votes: 0n });
    await delegateVotes(as(small));
    const power = await getVotingPower(as(small), { address: small.address });
    expect(power.delegate).toBe(small.address);
    expect(power.votes).toBe(parseEther('10'));
  });

  it('refuses a proposal from an account below the threshold, before anything is sent', async () => {
    const before = await getTransactionCount(as(small), { address: small.address });
    const err = await refusal(proposeParameterChange(as(small), { parameter: 'feeBps', value: 0 }));
    expect(err.meta?.errorName).toBe('GovernorInsufficientProposerVotes');
    expect(err.message).toMatch(/fewer votes than the proposal threshold/);
    expect(await getTransactionCount(as(small), { address: small.address })).toBe(before);
  });

  it('refuses an out-of-range value before proposing', async () => {
    const before = await getTransactionCount(as(holder), { address: holder.address });
    const cases = [
      [{ parameter: 'feeBps', value: 5000 }, 'FeeTooHigh', /feeBps cannot be set to 5000: the protocol fee is at most 2000 basis points/],
      [{ parameter: 'slashBps', value: 0 }, 'BpsOutOfRange', /1 to 10000 basis points/],
      [{ parameter: 'minStake', value: 0n }, 'ZeroMinStake', /cannot be zero/],
      [{ parameter: 'challengeWindow', value: 3600n }, 'UnbondingShorterThanChallengeWindow', /not be longer than the unbonding period \(60 s\)/],
      [{ parameter: 'settlementPeriod', value: 400n * 86_400n }, 'PeriodOutOfRange', /365 days/],
      [{ parameter: 'epochLength', value: 0n }, 'PeriodOutOfRange', /a period is 1 to/],
      [{ parameter: 'challengeRate', value: 1001 }, 'ChallengeRateTooHigh', /at most 1000 challenges per device per epoch/],
    ] as const;
    for (const [params, errorName, words] of cases) {
      const err = await proposeParameterChange(as(holder), params).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'INVALID_REQUEST', meta: { errorName } });
      expect((err as Error).message).toMatch(words);
    }
    expect(await getTransactionCount(as(holder), { address: holder.address })).toBe(before);
  });

  it('changes the fee through propose, vote, queue and execute, knowing only the id after proposing', async () => {
    const proposed = await proposeParameterChange(as(holder), { parameter: 'feeBps', value: 250, description: 'Fee to 2.5 %' });
    expect(proposed.voteEnd - proposed.voteStart).toBe(BigInt(GOV.votingPeriod));
    let status = await getProposal(as(small), { proposalId: proposed.proposalId, voter: holder.address });
    expect(status).toMatchObject({
      state: 'Pending',
      description: 'Fee to 2.5 %',
      changes: [{ parameter: 'feeBps', value: '250' }],
      quorum: null,
      eta: null,
      hasVoted: false,
    });

    const early = await refusal(castVote(as(holder), { proposalId: proposed.proposalId, support: 'for' }));
    expect(early.meta).toMatchObject({ errorName: 'GovernorUnexpectedProposalState', state: 'Pending' });
    expect(early.message).toMatch(/is Pending — voting opens after/);

    await passTime(GOV.votingDelay + 1);
    const { weight } = await castVote(as(holder), { proposalId: proposed.proposalId, support: 'for', reason: 'cheaper is not sustainable' });
    expect(weight).toBeGreaterThan(0n);
    const twice = await refusal(castVote(as(holder), { proposalId: proposed.proposalId, support: 'against' }));
    expect(twice.meta?.errorName).toBe('GovernorAlreadyCastVote');
    // A vote weighs what was delegated to the voter at the snapshot.
    expect((await castVote(as(small), { proposalId: proposed.proposalId, support: 'against' })).weight).toBe(parseEther('10'));
    status = await getProposal(as(small), { proposalId: proposed.proposalId, voter: holder.address });
    expect(status).toMatchObject({ state: 'Active', votes: { for: weight, against: parseEther('10'), abstain: 0n }, hasVoted: true });
    expect(status.quorum).toBe(parseEther('40000000')); // 4 % of the 1,000,000,000 LODE supply

    const tooSoon = await refusal(queueProposal(as(small), { proposalId: proposed.proposalId }));
    expect(tooSoon.message).toMatch(/is Active — voting is open until/);

    await passTime(GOV.votingPeriod + 1);
    expect((await getProposal(as(small), { proposalId: proposed.proposalId })).state).toBe('Succeeded');
    const { eta } = await queueProposal(as(small), { proposalId: proposed.proposalId });
    expect((await getProposal(as(small), { proposalId: proposed.proposalId })).eta).toBe(eta);

    const locked = await refusal(executeProposal(as(small), { proposalId: proposed.proposalId }));
    expect(locked.meta).toMatchObject({ errorName: 'TimelockUnexpectedOperationState', state: 'Queued', eta: Number(eta) });
    expect(locked.message).toMatch(/waits in the timelock until/);

    await passTime(GOV.timelockDelay + 1);
    await executeProposal(as(small), { proposalId: proposed.proposalId });
    expect((await getProposal(as(small), { proposalId: proposed.proposalId })).state).toBe('Executed');
    expect((await getProtocolParams(as(small))).feeBps).toBe(250);
  });

  it('says so when a proposal id is unknown', async () => {
    const err = await queueProposal(as(small), { proposalId: 42n }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'NOT_FOUND' });
    expect((err as Error).message).toMatch(/No proposal 42 on the governor/);
  });
});
