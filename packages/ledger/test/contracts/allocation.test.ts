/**
 * The initial supply is allocated on purpose and governance cannot be bought with free money:
 * the treasury under the timelock, the operator's allocation delegated from the first block, the
 * faucet's reserve undelegated and strictly below the quorum (checked before anything is sent),
 * a proposal threshold above zero — and an attacker holding the whole faucet reserve cannot pass
 * a proposal that grants it the settler or slasher role.
 */
import { encodeDeployData, encodeFunctionData, getContract, keccak256, parseEther, toHex, zeroAddress, type Address, type Hex } from 'viem';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RpcError } from '../../src/chain/index.js';
import { governorAbi, jobEscrowAbi, ledgerArtifacts, lodeTokenAbi, stakingAbi } from '../../src/contracts.js';
import {
  DEFAULT_LEDGER_PARAMETERS,
  LOCAL_FAUCET_RESERVE,
  LedgerParametersError,
  ROLES,
  deployLedger,
  initialQuorum,
  type DeployLedgerParameters,
} from '../../src/deploy.js';
import { accounts, createLedgerFixture, type LedgerFixture } from '../support/ledger.js';

const E = (n: number | string) => parseEther(String(n));
const { votingDelay, votingPeriod, initialSupply, operatorAllocation, quorumPercent } = DEFAULT_LEDGER_PARAMETERS;
/** Governor.ProposalState */
const State = { Defeated: 3 };

describe('the initial supply', () => {
  let f: LedgerFixture;
  beforeAll(async () => {
    f = await createLedgerFixture();
  });
  afterAll(() => f.close());
  beforeEach(() => f.reset());

  /** A second deployment on the fixture's chain, read back through viem. */
  async function deploy(params: Partial<DeployLedgerParameters>) {
    const addresses = await deployLedger(f.wallets.deployer, f.pub, { gateway: accounts.gateway.address, ...params });
    const token = getContract({ abi: lodeTokenAbi, address: addresses.token, client: f.pub });
    const governor = getContract({ abi: governorAbi, address: addresses.governor, client: f.pub });
    return { addresses, token: token.read, governor: governor.read };
  }

  it('goes to the treasury, the operator (delegated), the faucet reserve (undelegated) and further allocations, exactly; the deployer keeps nothing', async () => {
    const extra = { holder: accounts.p4.address, amount: E(5_000_000), delegatee: accounts.d2.address };
    const before = { p4: await f.token('alice').read.balanceOf([accounts.p4.address]) };
    const { addresses, token } = await deploy({ operator: accounts.carol.address, faucetReserve: LOCAL_FAUCET_RESERVE, allocations: [extra] });

    expect(await token.totalSupply()).toBe(initialSupply);
    expect(await token.balanceOf([addresses.timelock])).toBe(initialSupply - operatorAllocation - LOCAL_FAUCET_RESERVE - extra.amount);
    expect(await token.balanceOf([accounts.carol.address])).toBe(operatorAllocation);
    expect(await token.delegates([accounts.carol.address])).toBe(accounts.carol.address);
    expect(await token.getVotes([accounts.carol.address])).toBe(operatorAllocation);
    expect(await token.balanceOf([accounts.gateway.address])).toBe(LOCAL_FAUCET_RESERVE);
    expect(await token.delegates([accounts.gateway.address])).toBe(zeroAddress);
    expect(await token.getVotes([accounts.gateway.address])).toBe(0n);
    expect(await token.balanceOf([accounts.p4.address])).toBe(extra.amount);
    expect(await token.getVotes([accounts.d2.address])).toBe(extra.amount);
    expect(await token.delegates([addresses.timelock])).toBe(zeroAddress);
    expect(await token.balanceOf([accounts.deployer.address])).toBe(0n);
    expect(before.p4).toBeGreaterThan(0n); // the fixture's token, a different contract: untouched
  });

  it("sets a proposal threshold above zero and a quorum above the faucet reserve, met by the operator's delegated votes", async () => {
    const { token, governor } = await deploy({ operator: accounts.carol.address, faucetReserve: LOCAL_FAUCET_RESERVE });
    await f.increaseTime(1);
    const quorum = await governor.quorum([(await f.now()) - 1n]);
    expect(quorum).toBe(initialQuorum({ initialSupply, quorumPercent }));
    expect(await governor.proposalThreshold()).toBeGreaterThan(0n);
    expect(LOCAL_FAUCET_RESERVE).toBeLessThan(quorum);
    expect(await token.getVotes([accounts.carol.address])).toBeGreaterThanOrEqual(quorum);
  });

  it('refuses unsafe parameters before sending a single transaction', async () => {
    const quorum = initialQuorum({ initialSupply, quorumPercent });
    const nonce = await f.pub.getTransactionCount({ address: accounts.deployer.address });
    const unsafe: Array<[Partial<DeployLedgerParameters>, RegExp]> = [
      [{ faucetReserve: quorum }, /faucetReserve .* must be strictly below the quorum/],
      [{ faucetReserve: quorum + 1n, quorumPercent }, /strictly below the quorum/],
      [{ faucetReserve: E(1_000), quorumPercent: 0 }, /quorumPercent must be a whole number from 1 to 100/],
      [{ proposalThreshold: 0n }, /proposalThreshold must be more than zero/],
      [{ operatorAllocation: initialSupply, faucetReserve: E(1) }, /allocations .* exceed initialSupply/],
      [{ allocations: [{ holder: accounts.p4.address, amount: 0n }] }, /must be more than zero/],
      // The faucet would send from the operator's whole balance.
      [{ operator: accounts.gateway.address, faucetReserve: E(1_000) }, /both go to .*: a faucet sends from its holder's whole balance/],
    ];
    for (const [params, words] of unsafe) {
      const err = await deploy(params).catch((e: unknown) => e);
      expect(
        err,
        JSON.stringify(params, (_, v) => (typeof v === 'bigint' ? v.toString() : v)),
      ).toBeInstanceOf(LedgerParametersError);
      expect((err as Error).message).toMatch(words);
    }
    expect(await f.pub.getTransactionCount({ address: accounts.deployer.address })).toBe(nonce);
  });

  it('LodeToken refuses no allocation, an allocation of zero and the zero address as holder', async () => {
    const { abi, bytecode } = ledgerArtifacts.LodeToken;
    const refusal = async (allocations: Array<{ holder: Address; amount: bigint; delegatee: Address }>) => {
      const data = encodeDeployData({ abi, bytecode, args: [allocations, accounts.carol.address, E(1), E(5)] });
      const err = await f.chain.request({ method: 'eth_call', params: [{ from: accounts.deployer.address, data }] }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RpcError);
      return (err as RpcError).data;
    };
    const selector = (signature: string): Hex => keccak256(toHex(signature)).slice(0, 10) as Hex;
    expect(await refusal([])).toBe(selector('EmptyAllocation()'));
    expect(await refusal([{ holder: accounts.carol.address, amount: 0n, delegatee: zeroAddress }])).toBe(selector('EmptyAllocation()'));
    expect(await refusal([{ holder: zeroAddress, amount: E(1), delegatee: zeroAddress }])).toBe(selector('ZeroAddress()'));
  });
});

describe('governance against the faucet', () => {
  let f: LedgerFixture;
  beforeAll(async () => {
    // The gateway actor holds the faucet reserve, as the embedded chain's gateway does.
    f = await createLedgerFixture({ params: { faucetReserve: LOCAL_FAUCET_RESERVE } });
  });
  afterAll(() => f.close());

  it('an attacker holding the whole faucet reserve, delegated, cannot pass a proposal granting itself the settler and slasher roles', async () => {
    const mallory = accounts.mallory.address;
    // Everything the faucet could ever give, in one hand.
    await f.tx(f.token('gateway').write.transfer([mallory, LOCAL_FAUCET_RESERVE]));
    await f.tx(f.token('mallory').write.delegate([mallory]));
    await f.increaseTime(1); // the threshold counts votes of the second before the proposal
    const targets: Address[] = [f.addresses.escrow, f.addresses.staking];
    const calldatas: Hex[] = [
      encodeFunctionData({ abi: jobEscrowAbi, functionName: 'grantRole', args: [ROLES.SETTLER, mallory] }),
      encodeFunctionData({ abi: stakingAbi, functionName: 'grantRole', args: [ROLES.SLASHER, mallory] }),
    ];
    const description = 'Make mallory a settler and a slasher';
    const gov = f.governor('mallory');
    await f.tx(gov.write.propose([targets, [0n, 0n], calldatas, description]));
    const id = await gov.read.hashProposal([targets, [0n, 0n], calldatas, keccak256(toHex(description))]);
    await f.increaseTime(votingDelay + 1);
    await f.tx(gov.write.castVote([id, 1]));
    await f.increaseTime(votingPeriod + 1);

    const [, forVotes] = await gov.read.proposalVotes([id]);
    expect(forVotes).toBe(LOCAL_FAUCET_RESERVE);
    expect(forVotes).toBeLessThan(await gov.read.quorum([await gov.read.proposalSnapshot([id])]));
    expect(await gov.read.state([id])).toBe(State.Defeated);
    await f.expectRevert(gov.write.queue([targets, [0n, 0n], calldatas, keccak256(toHex(description))]), 'GovernorUnexpectedProposalState');
    expect(await f.escrow('alice').read.hasRole([ROLES.SETTLER, mallory])).toBe(false);
    expect(await f.staking('alice').read.hasRole([ROLES.SLASHER, mallory])).toBe(false);
  });
});
