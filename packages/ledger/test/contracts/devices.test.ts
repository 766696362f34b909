/**
 * DeviceRegistry, DeviceShares and how JobEscrow pays devices: registration by both keys, payouts
 * to the token's holder (so selling the token sells the income), fractional shares paid pro rata
 * to the wei, unsplitting, availability reward batches — and every refusal by its custom error.
 * The shares' accounting is also checked by a property test against an independent replay.
 */
import fc from 'fast-check';
import { keccak256, parseEther, toHex, zeroAddress, type Address, type LocalAccount } from 'viem';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { accounts, createLedgerFixture, jobId, payoutTree, type ActorName, type LedgerFixture } from '../support/ledger.js';
import { registerDevice, signConsent, type Consent } from '../support/devices.js';

const E = (n: number | string) => parseEther(String(n));
const CHALLENGE = 5; // challengeWindow default, seconds

describe('devices as assets', () => {
  let f: LedgerFixture;
  beforeAll(async () => {
    f = await createLedgerFixture();
  });
  afterAll(() => f.close());
  beforeEach(() => f.reset());

  const A = (n: ActorName): Address => accounts[n].address;
  const balance = (n: ActorName | Address) => f.token('alice').read.balanceOf([n.startsWith('0x') ? (n as Address) : A(n as ActorName)]);

  /** A final job batch paying `payouts` (debited from a job alice funds). */
  async function paidBatch(payouts: ReadonlyArray<readonly [Address, bigint]>) {
    const sum = payouts.reduce((a, [, v]) => a + v, 0n);
    const debit = (sum * 10_000n + 9_899n) / 9_900n; // fee 1 %: payout total >= sum
    const id = jobId(`job-${Math.random()}`);
    await f.tx(f.escrow('alice').write.deposit([id, debit, (await f.now()) + 3600n]));
    const tree = payoutTree(payouts);
    await f.tx(f.escrow('gateway').write.postBatch([tree.root, [id], [debit]]));
    const batchId = await f.escrow('gateway').read.batchCount();
    await f.increaseTime(CHALLENGE);
    return { batchId, tree };
  }

  async function consent(node: ActorName, owner: ActorName, overrides: Partial<Consent> = {}): Promise<Consent> {
    return { node: A(node), owner: A(owner), kind: 0, capabilitiesHash: keccak256(toHex('caps')), deadline: (await f.now()) + 600n, ...overrides };
  }

  describe('registration', () => {
    it('mints the token (id = the node address) to the owner, with kind, capabilities and join time', async () => {
      const id = await registerDevice(f, 'p1', 'alice', { kind: 'laptop', capabilities: '{"cores":8}' });
      expect(id).toBe(BigInt(A('p1')));
      expect(await f.registry('bob').read.ownerOf([id])).toBe(A('alice'));
      const [device, holder] = await f.registry('bob').read.deviceOf([id]);
      expect(holder).toBe(A('alice'));
      expect(device.kind).toBe(1);
      expect(device.capabilitiesHash).toBe(keccak256(toHex('{"cores":8}')));
      expect(device.joinedAt).toBeGreaterThan(0n);
      expect(device.shares).toBe(zeroAddress);
      expect(await f.registry('bob').read.payeeOf([A('p1')])).toEqual([A('alice'), true]);
      expect(await f.registry('bob').read.payeeOf([A('p2')])).toEqual([A('p2'), false]);
      expect(await f.registry('bob').read.tokenOfOwnerByIndex([A('alice'), 0n])).toBe(id);
    });

    it("refuses another's node key, a consent naming another owner, twice, expired, and an unknown kind", async () => {
      const r = (who: ActorName) => f.registry(who).write;
      // mallory signs "as" p1: the signature does not recover to p1.
      const c = await consent('p1', 'mallory');
      await f.expectRevert(
        r('mallory').register([c.node, c.kind, c.capabilitiesHash, c.deadline, await signConsent(f, accounts.mallory as LocalAccount, c)]),
        'InvalidNodeSignature',
        [A('p1')],
      );
      // p1 consented to alice; mallory replays it for herself.
      const forAlice = await consent('p1', 'alice');
      const sig = await signConsent(f, accounts.p1 as LocalAccount, forAlice);
      await f.expectRevert(r('mallory').register([forAlice.node, forAlice.kind, forAlice.capabilitiesHash, forAlice.deadline, sig]), 'InvalidNodeSignature');
      // Details changed under the signature.
      await f.expectRevert(r('alice').register([forAlice.node, 2, forAlice.capabilitiesHash, forAlice.deadline, sig]), 'InvalidNodeSignature');
      await f.tx(r('alice').register([forAlice.node, forAlice.kind, forAlice.capabilitiesHash, forAlice.deadline, sig]));
      await f.expectRevert(r('alice').register([forAlice.node, forAlice.kind, forAlice.capabilitiesHash, forAlice.deadline, sig]), 'DeviceAlreadyRegistered', [
        A('p1'),
      ]);
      const old = await consent('p2', 'bob', { deadline: (await f.now()) - 1n });
      await f.expectRevert(
        r('bob').register([old.node, old.kind, old.capabilitiesHash, old.deadline, await signConsent(f, accounts.p2 as LocalAccount, old)]),
        'SignatureExpired',
      );
      const odd = await consent('p2', 'bob', { kind: 5 });
      await f.expectRevert(
        r('bob').register([odd.node, odd.kind, odd.capabilitiesHash, odd.deadline, await signConsent(f, accounts.p2 as LocalAccount, odd)]),
        'InvalidKind',
        [5],
      );
      await f.expectRevert(f.registry('bob').read.deviceOf([BigInt(A('p3'))]), 'UnknownDevice');
    });
  });

  describe('payouts', () => {
    it("go to the token's holder whoever claims, and follow the token when it is sold", async () => {
      await registerDevice(f, 'p1', 'alice');
      const first = await paidBatch([[A('p1'), E(10)]]);
      const before = await balance('alice');
      const nodeBefore = await balance('p1');
      await f.tx(f.escrow('p1').write.claim([[first.batchId], [E(10)], [first.tree.proof(A('p1'))], false]));
      expect(await balance('alice')).toBe(before + E(10));
      expect(await balance('p1')).toBe(nodeBefore);

      // alice sells the device to bob: the next payout is bob's, claimed by bob without the node key.
      await f.tx(f.registry('alice').write.transferFrom([A('alice'), A('bob'), BigInt(A('p1'))]));
      const second = await paidBatch([[A('p1'), E(3)]]);
      const bobBefore = await balance('bob');
      await f.tx(f.escrow('bob').write.claimDevice([A('p1'), [second.batchId], [E(3)], [second.tree.proof(A('p1'))]]));
      expect(await balance('bob')).toBe(bobBefore + E(3));
      await f.expectRevert(f.escrow('p1').write.claim([[second.batchId], [E(3)], [second.tree.proof(A('p1'))], false]), 'AlreadyClaimed');
    });

    it('refuses to restake device income, and claimDevice for a node that is not a device', async () => {
      await registerDevice(f, 'p1', 'alice');
      const b = await paidBatch([
        [A('p1'), E(1)],
        [A('p2'), E(1)],
      ]);
      await f.expectRevert(f.escrow('p1').write.claim([[b.batchId], [E(1)], [b.tree.proof(A('p1'))], true]), 'DeviceIncomeNotRestakable', [A('p1')]);
      await f.expectRevert(f.escrow('mallory').write.claimDevice([A('p2'), [b.batchId], [E(1)], [b.tree.proof(A('p2'))]]), 'NotADevice', [A('p2')]);
    });
  });

  describe('shares', () => {
    it('pays each shareholder its part to the wei, after one share is sold', async () => {
      const id = await registerDevice(f, 'p1', 'alice');
      await f.tx(f.registry('alice').write.split([id, 100n]));
      const [device, holder] = await f.registry('bob').read.deviceOf([id]);
      expect(holder).toBe(f.addresses.registry);
      const s = f.shares(device.shares);
      expect(await s('alice').read.balanceOf([A('alice')])).toBe(100n);
      expect(await s('alice').read.decimals()).toBe(0);
      expect(await f.registry('bob').read.payeeOf([A('p1')])).toEqual([device.shares, true]);
      await f.tx(s('alice').write.transfer([A('bob'), 1n]));

      const income = E(7) + 13n; // not divisible by 100
      const b = await paidBatch([[A('p1'), income]]);
      await f.tx(f.escrow('mallory').write.claimDevice([A('p1'), [b.batchId], [income], [b.tree.proof(A('p1'))]]));
      expect(await s('bob').read.claimableOf([A('bob')])).toBe((income * 1n) / 100n);
      const aliceBefore = await balance('alice');
      const bobBefore = await balance('bob');
      await f.tx(s('mallory').write.claimFor([A('alice')])); // anyone may trigger; alice is paid
      await f.tx(s('bob').write.claim());
      expect((await balance('alice')) - aliceBefore).toBe((income * 99n) / 100n);
      expect((await balance('bob')) - bobBefore).toBe((income * 1n) / 100n);
      await f.expectRevert(s('bob').write.claim(), 'NothingToClaim', [A('bob')]);
      await f.expectRevert(s('carol').write.claim(), 'NothingToClaim', [A('carol')]);
      // The dust (income − the two floors) stays, below one wei per holder.
      expect(await balance(device.shares)).toBe(income - (income * 99n) / 100n - income / 100n);
    });

    it('lets only the holder split, once, into 2..1e12 shares; unsplits only with every share', async () => {
      const id = await registerDevice(f, 'p1', 'alice');
      await f.expectRevert(f.registry('mallory').write.split([id, 10n]), 'NotDeviceOwner', [id, A('mallory')]);
      await f.expectRevert(f.registry('alice').write.split([id, 1n]), 'InvalidShareCount');
      await f.expectRevert(f.registry('alice').write.split([id, 10n ** 12n + 1n]), 'InvalidShareCount');
      await f.tx(f.registry('alice').write.split([id, 10n]));
      await f.expectRevert(f.registry('alice').write.split([id, 10n]), 'AlreadySplit', [id]);
      const [{ shares }] = await f.registry('bob').read.deviceOf([id]);
      const s = f.shares(shares);
      await f.expectRevert(s('mallory').write.initialize([f.addresses.token, A('mallory'), A('mallory'), 5n]), 'InvalidInitialization');
      await f.expectRevert(s('mallory').write.close([A('mallory')]), 'NotRegistry');
      await f.tx(s('alice').write.transfer([A('bob'), 3n]));
      await f.expectRevert(f.registry('alice').write.unsplit([id]), 'NotAllShares', [A('alice'), 7n, 10n]);

      // Income while split, then bob sells his 3 back and alice unsplits: bob keeps what he earned.
      const b = await paidBatch([[A('p1'), E(10)]]);
      await f.tx(f.escrow('alice').write.claimDevice([A('p1'), [b.batchId], [E(10)], [b.tree.proof(A('p1'))]]));
      await f.tx(s('bob').write.transfer([A('alice'), 3n]));
      await f.tx(f.registry('alice').write.unsplit([id]));
      expect(await f.registry('bob').read.ownerOf([id])).toBe(A('alice'));
      expect(await f.registry('bob').read.payeeOf([A('p1')])).toEqual([A('alice'), true]);
      expect(await s('bob').read.totalSupply()).toBe(0n);
      const bobBefore = await balance('bob');
      await f.tx(s('bob').write.claim());
      expect((await balance('bob')) - bobBefore).toBe(E(3));
      await f.expectRevert(f.registry('alice').write.unsplit([id]), 'NotSplit', [id]);

      // Tokens sent to the closed share contract are stray: they go to the device's payee.
      await f.expectRevert(s('alice').write.recoverStray(), 'NoStray');
      await f.tx(f.token('carol').write.transfer([shares, 5n]));
      const aliceBefore = await balance('alice');
      await f.tx(s('mallory').write.recoverStray());
      expect((await balance('alice')) - aliceBefore).toBe(5n);
      await f.tx(s('alice').write.claim());
      expect(await balance(shares)).toBe(0n); // 10 LODE split 7/3 exactly: no dust here
    });
  });

  describe('availability reward batches', () => {
    it('are funded by emission, once per ended epoch, within the pool, and claimed like payouts', async () => {
      const epochLength = await f.config('alice').read.epochLength();
      const pool = await f.config('alice').read.availabilityPool();
      const epoch = (await f.now()) / epochLength;
      const tree = payoutTree([
        [A('p1'), E(20)],
        [A('p2'), E(5)],
      ]);
      const escrow = f.escrow('gateway').write;
      await f.expectRevert(escrow.postRewardBatch([epoch, tree.root, E(25)]), 'EpochNotOver');
      await f.expectRevert(f.escrow('mallory').write.postRewardBatch([epoch - 1n, tree.root, E(25)]), 'AccessControlUnauthorizedAccount');
      await f.increaseTime(epochLength);
      await f.expectRevert(escrow.postRewardBatch([epoch, tree.root, pool + 1n]), 'RewardAboveBudget', [pool + 1n, pool]);
      await f.tx(escrow.postRewardBatch([epoch, tree.root, E(25)]));
      const batchId = await f.escrow('gateway').read.batchCount();
      expect(await f.escrow('gateway').read.rewardBatchOf([epoch])).toBe(batchId);
      await f.expectRevert(escrow.postRewardBatch([epoch, tree.root, E(25)]), 'EpochAlreadySettled', [epoch, batchId]);
      // A requester cannot challenge a reward batch (no job of theirs is in it); the gateway may void it.
      await f.expectRevert(f.escrow('alice').write.challenge([batchId, [], []]), 'NotBatchRequester');
      const allocated = await f.escrow('gateway').read.rewardsAllocated();
      await f.tx(escrow.voidBatch([batchId, [], []]));
      expect(await f.escrow('gateway').read.rewardsAllocated()).toBe(allocated - E(25));
      await f.tx(escrow.postRewardBatch([epoch, tree.root, E(25)]));
      const reposted = await f.escrow('gateway').read.batchCount();
      await f.increaseTime(CHALLENGE);

      await registerDevice(f, 'p1', 'carol');
      const carolBefore = await balance('carol');
      const p2Before = await balance('p2');
      await f.tx(f.escrow('p1').write.claim([[reposted], [E(20)], [tree.proof(A('p1'))], false]));
      await f.tx(f.escrow('p2').write.claim([[reposted], [E(5)], [tree.proof(A('p2'))], false]));
      expect((await balance('carol')) - carolBefore).toBe(E(20));
      expect((await balance('p2')) - p2Before).toBe(E(5));
      // Supply changed only by the schedule.
      const token = f.token('alice').read;
      expect(await token.totalSupply()).toBe(parseEther('1000000000') + (await token.emitted()));
    });
  });
});

describe('DeviceShares accounting (property)', () => {
  const RUNS = Number(process.env.LEDGER_PROPERTY_RUNS ?? 20);
  const HOLDERS = ['alice', 'bob', 'carol', 'd1'] as const satisfies readonly ActorName[];
  let f: LedgerFixture;
  let shares: Address;
  beforeAll(async () => {
    f = await createLedgerFixture({ deploy: 'core' });
  });
  afterAll(() => f.close());

  const step = fc.oneof(
    fc.record({ kind: fc.constant('income' as const), amount: fc.oneof(fc.bigInt({ min: 1n, max: 1000n }), fc.bigInt({ min: 1n, max: E(50) })) }),
    fc.record({
      kind: fc.constant('transfer' as const),
      from: fc.nat(HOLDERS.length - 1),
      to: fc.nat(HOLDERS.length - 1),
      amount: fc.bigInt({ min: 0n, max: 40n }),
    }),
    fc.record({ kind: fc.constant('claim' as const), who: fc.nat(HOLDERS.length - 1) }),
  );

  it('pays every holder floor(Σ income × shares held when it arrived / total), never more than received, dust < one wei per holder', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 2, max: 37 }), fc.array(step, { minLength: 5, maxLength: 25 }), async (total, steps) => {
        await f.reset();
        await registerDevice(f, 'p1', 'alice');
        await f.tx(f.registry('alice').write.split([BigInt(accounts.p1.address), BigInt(total)]));
        shares = (await f.registry('alice').read.deviceOf([BigInt(accounts.p1.address)]))[0].shares;
        const s = f.shares(shares);
        // The independent model: exact rational credit per holder (income × balance), no accumulator.
        const held = new Map<string, bigint>(HOLDERS.map((h) => [h, h === 'alice' ? BigInt(total) : 0n]));
        const credit = new Map<string, bigint>(HOLDERS.map((h) => [h, 0n]));
        const paid = new Map<string, bigint>(HOLDERS.map((h) => [h, 0n]));
        let received = 0n;
        for (const st of steps) {
          if (st.kind === 'income') {
            await f.tx(f.token('deployer').write.transfer([shares, st.amount]));
            received += st.amount;
            for (const h of HOLDERS) credit.set(h, credit.get(h)! + st.amount * held.get(h)!);
          } else if (st.kind === 'transfer') {
            const from = HOLDERS[st.from]!;
            const to = HOLDERS[st.to]!;
            if (st.amount > held.get(from)!) {
              await f.expectRevert(s(from).write.transfer([accounts[to].address, st.amount]), 'ERC20InsufficientBalance');
              continue;
            }
            await f.tx(s(from).write.transfer([accounts[to].address, st.amount]));
            held.set(from, held.get(from)! - st.amount);
            held.set(to, held.get(to)! + st.amount);
          } else {
            const who = HOLDERS[st.who]!;
            const due = credit.get(who)! / BigInt(total) - paid.get(who)!;
            expect(await s(who).read.claimableOf([accounts[who].address])).toBe(due);
            if (due === 0n) {
              await f.expectRevert(s(who).write.claim(), 'NothingToClaim');
              continue;
            }
            const before = await f.token(who).read.balanceOf([accounts[who].address]);
            await f.tx(s(who).write.claim());
            expect((await f.token(who).read.balanceOf([accounts[who].address])) - before).toBe(due);
            paid.set(who, paid.get(who)! + due);
          }
          let sum = 0n;
          for (const h of HOLDERS) sum += await s(h).read.balanceOf([accounts[h].address]);
          expect(sum).toBe(BigInt(total));
        }
        let earned = 0n;
        for (const h of HOLDERS) {
          const due = credit.get(h)! / BigInt(total);
          expect(await s(h).read.claimableOf([accounts[h].address])).toBe(due - paid.get(h)!);
          earned += due;
        }
        const paidTotal = [...paid.values()].reduce((a, b) => a + b, 0n);
        expect(await f.token('alice').read.balanceOf([shares])).toBe(received - paidTotal);
        expect(received - earned).toBeGreaterThanOrEqual(0n);
        expect(received - earned).toBeLessThan(BigInt(HOLDERS.length));
      }),
      { numRuns: RUNS },
    );
  }, 600_000);
});
