import { encodeFunctionData, keccak256, parseEther, toHex, type Address, type Hex } from 'viem';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BatchStatus, jobEscrowAbi, protocolConfigAbi } from '../../src/contracts.js';
import { DEFAULT_LEDGER_PARAMETERS, ROLES } from '../../src/deploy.js';
import { accounts, createLedgerFixture, jobId, payoutTree, type LedgerFixture } from '../support/ledger.js';

const E = (n: number | string) => parseEther(String(n));
const { votingDelay, votingPeriod, timelockDelay } = DEFAULT_LEDGER_PARAMETERS;
/** Governor.ProposalState */
const State = { Pending: 0, Active: 1, Canceled: 2, Defeated: 3, Succeeded: 4, Queued: 5, Expired: 6, Executed: 7 };

describe('governance', () => {
  let f: LedgerFixture;
  beforeAll(async () => {
    f = await createLedgerFixture();
  });
  afterAll(() => f.close());
  beforeEach(() => f.reset());

  /** Runs one proposal through the whole cycle with the deployer's votes (well above quorum). */
  async function pass(target: Address, data: Hex, description: string) {
    const gov = f.governor('deployer');
    await f.tx(f.token('deployer').write.delegate([accounts.deployer.address]));
    const descriptionHash = keccak256(toHex(description));
    await f.tx(gov.write.propose([[target], [0n], [data], description]));
    const proposalId = await gov.read.hashProposal([[target], [0n], [data], descriptionHash]);
    expect(await gov.read.state([proposalId])).toBe(State.Pending);
    await f.increaseTime(votingDelay + 1);
    expect(await gov.read.state([proposalId])).toBe(State.Active);
    await f.tx(gov.write.castVote([proposalId, 1])); // for
    await f.increaseTime(votingPeriod + 1);
    expect(await gov.read.state([proposalId])).toBe(State.Succeeded);
    await f.tx(gov.write.queue([[target], [0n], [data], descriptionHash]));
    expect(await gov.read.state([proposalId])).toBe(State.Queued);
    await f.expectRevert(f.governor('mallory').write.execute([[target], [0n], [data], descriptionHash]), 'TimelockUnexpectedOperationState');
    await f.increaseTime(timelockDelay + 1);
    await f.tx(f.governor('mallory').write.execute([[target], [0n], [data], descriptionHash]));
    expect(await gov.read.state([proposalId])).toBe(State.Executed);
  }

  it("wires the governor as the timelock's only proposer and leaves the deployer no power", async () => {
    const tl = f.timelock('alice').read;
    expect(await tl.hasRole([ROLES.PROPOSER, f.addresses.governor])).toBe(true);
    expect(await tl.hasRole([ROLES.CANCELLER, f.addresses.governor])).toBe(true);
    expect(await tl.hasRole([ROLES.EXECUTOR, '0x0000000000000000000000000000000000000000'])).toBe(true);
    expect(await tl.getMinDelay()).toBe(BigInt(timelockDelay));
    for (const read of [tl, f.escrow('alice').read, f.staking('alice').read]) {
      expect(await read.hasRole([ROLES.DEFAULT_ADMIN, accounts.deployer.address])).toBe(false);
    }
    expect(await tl.hasRole([ROLES.DEFAULT_ADMIN, f.addresses.timelock])).toBe(true);
    expect(await f.escrow('alice').read.hasRole([ROLES.DEFAULT_ADMIN, f.addresses.timelock])).toBe(true);
    expect(await f.escrow('alice').read.hasRole([ROLES.SETTLER, accounts.gateway.address])).toBe(true);
    expect(await f.staking('alice').read.hasRole([ROLES.SLASHER, accounts.gateway.address])).toBe(true);
    expect(await f.governor('alice').read.CLOCK_MODE()).toBe('mode=timestamp');
  });

  it('changes the fee through a proposal, a vote and the timelock', async () => {
    const data = encodeFunctionData({ abi: protocolConfigAbi, functionName: 'setFeeBps', args: [250] });
    await pass(f.addresses.config, data, 'Raise the protocol fee to 2.5 %');
    expect(await f.config('alice').read.feeBps()).toBe(250);

    // Batches posted from now on pay the new fee.
    const id = jobId('after-vote');
    await f.tx(f.escrow('alice').write.deposit([id, E(100), (await f.now()) + 3600n]));
    const root = payoutTree([[accounts.p1.address, E('97.5')]]).root;
    await f.tx(f.escrow('gateway').write.postBatch([root, [id], [E(100)]]));
    expect((await f.escrow('alice').read.batchOf([1n])).fee).toBe(E('2.5'));
  });

  it('refuses a proposal without quorum', async () => {
    const gov = f.governor('alice');
    await f.tx(f.token('alice').write.delegate([accounts.alice.address])); // 0.1 % of the supply
    await f.increaseTime(1); // the threshold counts votes of the second before the proposal
    const data = encodeFunctionData({ abi: protocolConfigAbi, functionName: 'setFeeBps', args: [0] });
    await f.tx(gov.write.propose([[f.addresses.config], [0n], [data], 'free']));
    const proposalId = await gov.read.hashProposal([[f.addresses.config], [0n], [data], keccak256(toHex('free'))]);
    await f.increaseTime(votingDelay + 1);
    await f.tx(gov.write.castVote([proposalId, 1]));
    await f.increaseTime(votingPeriod + 1);
    expect(await gov.read.state([proposalId])).toBe(State.Defeated);
  });

  describe('disputes', () => {
    async function disputedBatch() {
      const id = jobId('disputed');
      await f.tx(f.escrow('alice').write.deposit([id, E(100), (await f.now()) + 3600n]));
      const tree = payoutTree([[accounts.p1.address, E('9.9')]]);
      await f.tx(f.escrow('gateway').write.postBatch([tree.root, [id], [E(10)]]));
      await f.tx(f.escrow('alice').write.challenge([1n, [id], [E(10)]]));
      return { id, tree, batchId: 1n };
    }

    it('voids a disputed batch that governance rejects, returning the debit', async () => {
      const { id, batchId } = await disputedBatch();
      const data = encodeFunctionData({
        abi: jobEscrowAbi,
        functionName: 'resolveDispute',
        args: [batchId, false, [id], [E(10)]],
      });
      await pass(f.addresses.escrow, data, 'Reject batch 1');
      expect((await f.escrow('alice').read.batchOf([batchId])).status).toBe(BatchStatus.Voided);
      expect((await f.escrow('alice').read.escrowOf([id]))[1]).toBe(E(100));
    });

    it('makes a disputed batch that governance upholds final at once', async () => {
      const { id, batchId, tree } = await disputedBatch();
      const data = encodeFunctionData({
        abi: jobEscrowAbi,
        functionName: 'resolveDispute',
        args: [batchId, true, [id], [E(10)]],
      });
      await pass(f.addresses.escrow, data, 'Uphold batch 1');
      expect((await f.escrow('alice').read.batchOf([batchId])).status).toBe(BatchStatus.Upheld);
      await f.tx(f.escrow('p1').write.claim([[batchId], [E('9.9')], [tree.proof(accounts.p1.address)], false]));
      await f.expectRevert(f.escrow('alice').write.challenge([batchId, [id], [E(10)]]), 'InvalidBatchStatus');
    });
  });
});
