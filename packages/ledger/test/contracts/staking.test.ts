import { keccak256, maxUint256, parseEther, toHex, zeroHash, type Address } from 'viem';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { accounts, createLedgerFixture, type ActorName, type LedgerFixture } from '../support/ledger.js';

const E = (n: number | string) => parseEther(String(n));
const UNBONDING = 60; // unbondingPeriod default, seconds
const evidence = (label: string) => keccak256(toHex(label));

describe('Staking', () => {
  let f: LedgerFixture;
  beforeAll(async () => {
    f = await createLedgerFixture();
  });
  afterAll(() => f.close());
  beforeEach(() => f.reset());

  const A = (n: ActorName): Address => accounts[n].address;
  const s = (n: ActorName) => f.staking(n);

  it('makes a provider eligible once its own stake reaches minStake', async () => {
    expect(await s('p1').read.isEligible([A('p1')])).toBe(false);
    await f.tx(s('p1').write.stake([E(99)]));
    expect(await s('p1').read.isEligible([A('p1')])).toBe(false);
    await f.tx(s('p1').write.stake([E(1)]));
    expect(await s('p1').read.stakeOf([A('p1')])).toBe(E(100));
    expect(await s('p1').read.isEligible([A('p1')])).toBe(true);
    expect(await f.token('p1').read.balanceOf([f.addresses.staking])).toBe(E(100));
  });

  it("counts delegations in the total stake but not in the provider's own", async () => {
    await f.tx(s('p1').write.stake([E(50)]));
    await f.tx(s('d1').write.delegate([A('p1'), E(200)]));
    expect(await s('p1').read.stakeOf([A('p1')])).toBe(E(50));
    expect(await s('p1').read.delegationOf([A('p1'), A('d1')])).toBe(E(200));
    expect(await s('p1').read.totalStakeOf([A('p1')])).toBe(E(250));
    expect(await s('p1').read.isEligible([A('p1')])).toBe(false);
  });

  it("lets anyone add to a provider's own stake with stakeFor", async () => {
    await f.tx(s('d1').write.stakeFor([A('p2'), E(150)]));
    expect(await s('p2').read.stakeOf([A('p2')])).toBe(E(150));
    expect(await s('p2').read.delegationOf([A('p2'), A('d1')])).toBe(0n);
  });

  it('refuses zero amounts and the zero provider', async () => {
    await f.expectRevert(s('p1').write.stake([0n]), 'ZeroAmount');
    await f.expectRevert(s('d1').write.delegate(['0x0000000000000000000000000000000000000000', E(1)]), 'ZeroAddress');
  });

  describe('slashing', () => {
    it('is the slasher role only', async () => {
      await f.tx(s('p1').write.stake([E(100)]));
      await f.expectRevert(s('mallory').write.slash([A('p1'), E(1), evidence('x')]), 'AccessControlUnauthorizedAccount');
      await f.expectRevert(s('p1').write.slash([A('p1'), E(1), evidence('x')]), 'AccessControlUnauthorizedAccount');
    });

    it('lowers the provider and every delegator in proportion and pays the treasury', async () => {
      await f.tx(s('p1').write.stake([E(100)]));
      await f.tx(s('d1').write.delegate([A('p1'), E(300)]));
      const amount = await s('p1').read.slashAmountFor([A('p1')]);
      expect(amount).toBe(E(40)); // 10 % of 400
      const treasury = await f.config('p1').read.treasury();
      const before = await f.token('p1').read.balanceOf([treasury]);
      const receipt = await f.tx(s('gateway').write.slash([A('p1'), amount, evidence('lie-1')]));
      expect(await s('p1').read.stakeOf([A('p1')])).toBe(E(90));
      expect(await s('p1').read.delegationOf([A('p1'), A('d1')])).toBe(E(270));
      expect(await s('p1').read.totalStakeOf([A('p1')])).toBe(E(360));
      expect(await f.token('p1').read.balanceOf([treasury])).toBe(before + E(40));
      const [event] = await s('p1').getEvents.Slashed({}, { fromBlock: receipt.blockNumber });
      expect(event!.args).toMatchObject({ provider: A('p1'), amount: E(40), evidenceHash: evidence('lie-1') });
    });

    it('slashes each (provider, evidence) pair once and needs evidence', async () => {
      await f.tx(s('p1').write.stake([E(100)]));
      await f.tx(s('p2').write.stake([E(100)]));
      await f.tx(s('gateway').write.slash([A('p1'), E(1), evidence('e')]));
      await f.expectRevert(s('gateway').write.slash([A('p1'), E(1), evidence('e')]), 'EvidenceAlreadyUsed', [A('p1'), evidence('e')]);
      await f.tx(s('gateway').write.slash([A('p2'), E(1), evidence('e')])); // another provider, same evidence
      await f.expectRevert(s('gateway').write.slash([A('p1'), E(1), zeroHash]), 'MissingEvidence');
      await f.expectRevert(s('gateway').write.slash([A('p3'), E(1), evidence('f')]), 'NothingToSlash', [A('p3')]);
    });

    it('caps a slash at the stake and lets the provider start afresh', async () => {
      await f.tx(s('p1').write.stake([E(100)]));
      await f.tx(s('d1').write.delegate([A('p1'), E(100)]));
      await f.tx(s('gateway').write.slash([A('p1'), E(1_000_000), evidence('wipe')]));
      expect(await s('p1').read.totalStakeOf([A('p1')])).toBe(0n);
      expect(await s('p1').read.delegationOf([A('p1'), A('d1')])).toBe(0n);
      await f.tx(s('p1').write.stake([E(120)]));
      expect(await s('p1').read.stakeOf([A('p1')])).toBe(E(120));
      expect(await s('p1').read.delegationOf([A('p1'), A('d1')])).toBe(0n); // old shares stay void
      expect(await s('p1').read.poolOf([A('p1')])).toEqual([E(120), E(120), 0n, 0n]);
      await f.expectRevert(s('d1').write.unbond([A('p1'), E(1)]), 'InsufficientStake');
    });
  });

  describe('unbonding', () => {
    it('takes the funds out of the pool at once and pays them after the unbonding period', async () => {
      await f.tx(s('p1').write.stake([E(300)]));
      const receipt = await f.tx(s('p1').write.unbond([A('p1'), E(100)]));
      const block = await f.pub.getBlock({ blockNumber: receipt.blockNumber });
      expect(await s('p1').read.stakeOf([A('p1')])).toBe(E(200));
      expect(await s('p1').read.unbondingStakeOf([A('p1')])).toBe(E(100));
      expect(await s('p1').read.unbondingRequestsOf([A('p1')])).toEqual([
        { provider: A('p1'), amount: E(100), releaseAt: block.timestamp + BigInt(UNBONDING) },
      ]);
      await f.expectRevert(s('p1').write.withdraw(), 'UnbondingNotFinished', [block.timestamp + BigInt(UNBONDING)]);
      await f.increaseTime(UNBONDING);
      expect(await s('p1').read.withdrawableOf([A('p1')])).toBe(E(100));
      const before = await f.token('p1').read.balanceOf([A('p1')]);
      await f.tx(s('p1').write.withdraw());
      expect(await f.token('p1').read.balanceOf([A('p1')])).toBe(before + E(100));
      expect(await s('p1').read.unbondingRequestsOf([A('p1')])).toEqual([]);
      await f.expectRevert(s('p1').write.withdraw(), 'NothingToWithdraw');
    });

    it('pays released requests and keeps the others', async () => {
      await f.tx(s('d1').write.delegate([A('p1'), E(10)]));
      await f.tx(s('d1').write.delegate([A('p2'), E(10)]));
      await f.tx(s('d1').write.unbond([A('p1'), E(4)]));
      await f.increaseTime(UNBONDING);
      await f.tx(s('d1').write.unbond([A('p2'), E(6)]));
      const before = await f.token('d1').read.balanceOf([A('d1')]);
      await f.tx(s('d1').write.withdraw());
      expect(await f.token('d1').read.balanceOf([A('d1')])).toBe(before + E(4));
      expect((await s('d1').read.unbondingRequestsOf([A('d1')])).map((r) => r.provider)).toEqual([A('p2')]);
    });

    it('keeps unbonding funds slashable', async () => {
      await f.tx(s('p1').write.stake([E(100)]));
      await f.tx(s('d1').write.delegate([A('p1'), E(100)]));
      await f.tx(s('d1').write.unbond([A('p1'), E(100)]));
      // 20 slashed of 200: 10 from the bonded pool, 10 from the unbonding one.
      await f.tx(s('gateway').write.slash([A('p1'), E(20), evidence('late')]));
      expect(await s('p1').read.stakeOf([A('p1')])).toBe(E(90));
      expect(await s('p1').read.unbondingStakeOf([A('p1')])).toBe(E(90));
      await f.increaseTime(UNBONDING);
      const before = await f.token('d1').read.balanceOf([A('d1')]);
      await f.tx(s('d1').write.withdraw());
      expect(await f.token('d1').read.balanceOf([A('d1')])).toBe(before + E(90));
    });

    it('unbonds a whole position with the max amount, and refuses more than the stake', async () => {
      await f.tx(s('d1').write.delegate([A('p1'), E(7)]));
      await f.expectRevert(s('d1').write.unbond([A('p1'), E(8)]), 'InsufficientStake', [A('p1'), E(7), E(8)]);
      await f.expectRevert(s('d1').write.unbond([A('p1'), 0n]), 'ZeroAmount');
      await f.tx(s('d1').write.unbond([A('p1'), maxUint256]));
      expect(await s('d1').read.delegationOf([A('p1'), A('d1')])).toBe(0n);
      expect(await s('d1').read.unbondingStakeOf([A('p1')])).toBe(E(7));
      await f.expectRevert(s('d1').write.unbond([A('p1'), maxUint256]), 'InsufficientStake');
    });

    it('bounds the number of open requests', async () => {
      await f.tx(s('d1').write.delegate([A('p1'), E(100)]));
      const max = Number(await s('d1').read.MAX_UNBONDING_REQUESTS());
      for (let i = 0; i < max; i++) await f.tx(s('d1').write.unbond([A('p1'), E(1)]));
      await f.expectRevert(s('d1').write.unbond([A('p1'), E(1)]), 'TooManyUnbondingRequests');
    });
  });
});
