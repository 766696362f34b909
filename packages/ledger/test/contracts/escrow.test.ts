import { parseEther, zeroHash, type Address, type Hex } from 'viem';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BatchStatus } from '../../src/contracts.js';
import { accounts, createLedgerFixture, jobId, payoutTree, type ActorName, type LedgerFixture, type PayoutTree } from '../support/ledger.js';

const E = (n: number | string) => parseEther(String(n));
const FEE_BPS = 100n; // the fixture's default (1 %)
const WINDOW = 5; // challengeWindow default, seconds

describe('JobEscrow', () => {
  let f: LedgerFixture;
  beforeAll(async () => {
    f = await createLedgerFixture();
  });
  afterAll(() => f.close());
  beforeEach(() => f.reset());

  const A = (n: ActorName): Address => accounts[n].address;

  async function deposit(requester: ActorName, id: Hex, amount: bigint, ttl = 3600n) {
    return f.tx(f.escrow(requester).write.deposit([id, amount, (await f.now()) + ttl]));
  }

  /** Posts a batch debiting `debits` and paying `payouts` (which must sum to debits − fee). */
  async function post(jobs: Hex[], debits: bigint[], payouts: Array<[ActorName, bigint]>) {
    const tree = payoutTree(payouts.map(([n, v]) => [A(n), v] as const));
    const receipt = await f.tx(f.escrow('gateway').write.postBatch([tree.root, jobs, debits]));
    const batchId = await f.escrow('gateway').read.batchCount();
    return { batchId, tree, receipt };
  }

  /** One job of `amount` from alice, one batch debiting `debit` and paying p1/p2 the rest. */
  async function simpleBatch(debit = E(100), amount = E(1000)) {
    const id = jobId('job-1');
    await deposit('alice', id, amount);
    const payout = debit - (debit * FEE_BPS) / 10_000n;
    const p1 = payout / 4n;
    const batch = await post(
      [id],
      [debit],
      [
        ['p1', p1],
        ['p2', payout - p1],
      ],
    );
    return { id, debit, payout, p1, p2: payout - p1, ...batch };
  }

  const claim = (who: ActorName, batchIds: bigint[], tree: PayoutTree | PayoutTree[], restake = false) => {
    const trees = Array.isArray(tree) ? tree : batchIds.map(() => tree);
    return f.escrow(who).write.claim([batchIds, trees.map((t) => t.amount(A(who))), trees.map((t) => t.proof(A(who))), restake]);
  };

  describe('deposits', () => {
    it('makes the first depositor the requester and holds the tokens', async () => {
      const id = jobId('d1');
      const expiresAt = (await f.now()) + 600n;
      const before = await f.token('alice').read.balanceOf([A('alice')]);
      await f.tx(f.escrow('alice').write.deposit([id, E(5), expiresAt]));
      expect(await f.escrow('alice').read.escrowOf([id])).toEqual([A('alice'), E(5), expiresAt, false]);
      expect(await f.token('alice').read.balanceOf([A('alice')])).toBe(before - E(5));
      expect(await f.token('alice').read.balanceOf([f.addresses.escrow])).toBe(E(5));
    });

    it('lets the requester top up and only extend the expiry', async () => {
      const id = jobId('d2');
      const t = await f.now();
      await f.tx(f.escrow('alice').write.deposit([id, E(5), t + 600n]));
      await f.tx(f.escrow('alice').write.deposit([id, E(1), t + 100n]));
      expect(await f.escrow('alice').read.escrowOf([id])).toEqual([A('alice'), E(6), t + 600n, false]);
      await f.tx(f.escrow('alice').write.deposit([id, E(1), t + 900n]));
      expect((await f.escrow('alice').read.escrowOf([id]))[2]).toBe(t + 900n);
    });

    it('refuses a top-up by a stranger', async () => {
      const id = jobId('d3');
      await deposit('alice', id, E(5));
      await f.expectRevert(f.escrow('mallory').write.deposit([id, E(1), (await f.now()) + 600n]), 'NotRequester', [id, A('mallory')]);
    });

    it('refuses zero amounts, past expiries and deposits into a closed job', async () => {
      const id = jobId('d4');
      await f.expectRevert(f.escrow('alice').write.deposit([id, 0n, (await f.now()) + 600n]), 'ZeroAmount');
      await f.expectRevert(f.escrow('alice').write.deposit([id, E(1), (await f.now()) - 1n]), 'InvalidExpiry');
      await deposit('alice', id, E(1));
      await f.tx(f.escrow('gateway').write.closeJob([id]));
      await f.expectRevert(f.escrow('alice').write.deposit([id, E(1), (await f.now()) + 600n]), 'JobClosed', [id]);
    });

    it('accepts an EIP-2612 permit instead of an approval', async () => {
      const { addresses, pub } = f;
      // carol revokes her standing approval so the permit is what makes the deposit work.
      await f.tx(f.token('carol').write.approve([addresses.escrow, 0n]));
      const id = jobId('permit');
      const amount = E(7);
      const deadline = (await f.now()) + 3600n;
      const nonce = await f.token('carol').read.nonces([A('carol')]);
      const signature = await accounts.carol.signTypedData!({
        domain: { name: 'Lode', version: '1', chainId: await pub.getChainId(), verifyingContract: addresses.token },
        types: {
          Permit: [
            { name: 'owner', type: 'address' },
            { name: 'spender', type: 'address' },
            { name: 'value', type: 'uint256' },
            { name: 'nonce', type: 'uint256' },
            { name: 'deadline', type: 'uint256' },
          ],
        },
        primaryType: 'Permit',
        message: { owner: A('carol'), spender: addresses.escrow, value: amount, nonce, deadline },
      });
      const r = `0x${signature.slice(2, 66)}` as Hex;
      const s = `0x${signature.slice(66, 130)}` as Hex;
      const v = Number.parseInt(signature.slice(130, 132), 16);
      await f.tx(f.escrow('carol').write.depositWithPermit([id, amount, deadline, deadline, v, r, s]));
      expect((await f.escrow('carol').read.escrowOf([id]))[1]).toBe(amount);
      // The permit was used up: replaying it is ignored and, without allowance, the deposit fails.
      await f.expectRevert(f.escrow('carol').write.depositWithPermit([id, amount, deadline, deadline, v, r, s]), 'ERC20InsufficientAllowance');
    });
  });

  describe('posting batches', () => {
    it('debits the jobs, fixes the fee and the challenge deadline, and emits the lists', async () => {
      const a = jobId('a');
      const b = jobId('b');
      await deposit('alice', a, E(10));
      await deposit('bob', b, E(10));
      const { batchId, tree, receipt } = await post([a, b, a], [E(1), E(3), E(2)], [['p1', E('5.94')]]);
      expect(batchId).toBe(1n);
      expect((await f.escrow('alice').read.escrowOf([a]))[1]).toBe(E(7));
      expect((await f.escrow('alice').read.escrowOf([b]))[1]).toBe(E(7));
      const batch = await f.escrow('alice').read.batchOf([batchId]);
      const block = await f.pub.getBlock({ blockNumber: receipt.blockNumber });
      expect(batch).toMatchObject({
        payoutRoot: tree.root,
        payoutTotal: E('5.94'),
        fee: E('0.06'),
        claimedTotal: 0n,
        postedAt: Number(block.timestamp),
        finalAt: Number(block.timestamp) + WINDOW,
        status: BatchStatus.Pending,
        feeSwept: false,
      });
      expect(batch.listsHash).toBe(
        await f.escrow('alice').read.hashLists([
          [a, b, a],
          [E(1), E(3), E(2)],
        ]),
      );
      const [event] = await f.escrow('alice').getEvents.BatchPosted({}, { fromBlock: receipt.blockNumber });
      expect(event!.args).toMatchObject({ batchId, jobIds: [a, b, a], debits: [E(1), E(3), E(2)], fee: E('0.06') });
    });

    it('rounds the fee down', async () => {
      const id = jobId('round');
      await deposit('alice', id, 1000n);
      await post([id], [199n], [['p1', 198n]]); // 199 × 1 % = 1.99 → 1
      expect(await f.escrow('alice').read.batchOf([1n])).toMatchObject({ fee: 1n, payoutTotal: 198n });
    });

    it('refuses bad batches', async () => {
      const id = jobId('bad');
      await deposit('alice', id, E(1));
      const root = payoutTree([[A('p1'), 1n]]).root;
      const gw = f.escrow('gateway').write;
      await f.expectRevert(gw.postBatch([root, [], []]), 'EmptyBatch');
      await f.expectRevert(gw.postBatch([root, [id], [1n, 2n]]), 'LengthMismatch', [1n, 2n]);
      await f.expectRevert(gw.postBatch([zeroHash, [id], [1n]]), 'ZeroRoot');
      await f.expectRevert(gw.postBatch([root, [id], [0n]]), 'ZeroAmount');
      await f.expectRevert(gw.postBatch([root, [id], [E(2)]]), 'InsufficientEscrow', [id, E(1), E(2)]);
      await f.expectRevert(gw.postBatch([root, [id, id], [E(1), 1n]]), 'InsufficientEscrow', [id, 0n, 1n]);
      await f.expectRevert(gw.postBatch([root, [jobId('nope')], [1n]]), 'UnknownJob', [jobId('nope')]);
      await f.tx(f.escrow('gateway').write.closeJob([id]));
      await f.expectRevert(gw.postBatch([root, [id], [1n]]), 'JobClosed', [id]);
    });

    it('is the settler role only', async () => {
      const id = jobId('role');
      await deposit('alice', id, E(1));
      await f.expectRevert(f.escrow('mallory').write.postBatch([payoutTree([[A('mallory'), 1n]]).root, [id], [E(1)]]), 'AccessControlUnauthorizedAccount');
    });
  });

  describe('claims', () => {
    it('pays each provider its leaf once the batch is final, and at most once', async () => {
      const { batchId, tree, p1, p2 } = await simpleBatch();
      await f.increaseTime(WINDOW);
      expect(await f.escrow('p1').read.isFinal([batchId])).toBe(true);
      const before = await f.token('p1').read.balanceOf([A('p1')]);
      const receipt = await f.tx(claim('p1', [batchId], tree));
      expect(await f.token('p1').read.balanceOf([A('p1')])).toBe(before + p1);
      const [event] = await f.escrow('p1').getEvents.Claimed({}, { fromBlock: receipt.blockNumber });
      expect(event!.args).toMatchObject({ batchId, provider: A('p1'), amount: p1, restaked: false });
      await f.expectRevert(claim('p1', [batchId], tree), 'AlreadyClaimed', [batchId, A('p1')]);
      await f.tx(claim('p2', [batchId], tree));
      expect((await f.escrow('p2').read.batchOf([batchId])).claimedTotal).toBe(p1 + p2);
      expect(await f.escrow('p2').read.isClaimed([batchId, A('p2')])).toBe(true);
    });

    it('refuses a claim before the batch is final', async () => {
      const { batchId, tree } = await simpleBatch();
      await f.expectRevert(claim('p1', [batchId], tree), 'BatchNotFinal', [batchId]);
    });

    it('refuses a wrong proof and a wrong amount', async () => {
      const { batchId, tree, p1 } = await simpleBatch();
      await f.increaseTime(WINDOW);
      await f.expectRevert(f.escrow('p1').write.claim([[batchId], [p1], [tree.proof(A('p2'))], false]), 'InvalidProof', [batchId]);
      await f.expectRevert(f.escrow('p1').write.claim([[batchId], [p1 + 1n], [tree.proof(A('p1'))], false]), 'InvalidProof', [batchId]);
    });

    it('refuses a claim by a stranger holding a real proof', async () => {
      const { batchId, tree, p1 } = await simpleBatch();
      await f.increaseTime(WINDOW);
      await f.expectRevert(f.escrow('mallory').write.claim([[batchId], [p1], [tree.proof(A('p1'))], false]), 'InvalidProof');
    });

    it('refuses a claim from the same batch twice in one call', async () => {
      const { batchId, tree } = await simpleBatch();
      await f.increaseTime(WINDOW);
      await f.expectRevert(claim('p1', [batchId, batchId], tree), 'AlreadyClaimed');
    });

    it('never pays out more than the batch total, even under a dishonest root', async () => {
      const id = jobId('over');
      await deposit('alice', id, E(100));
      // The tree promises 2 × 9.9 against a payout of 9.9 (debit 10, fee 0.1).
      const { batchId, tree } = await post(
        [id],
        [E(10)],
        [
          ['p1', E('9.9')],
          ['p2', E('9.9')],
        ],
      );
      await f.increaseTime(WINDOW);
      await f.tx(claim('p1', [batchId], tree));
      await f.expectRevert(claim('p2', [batchId], tree), 'ClaimExceedsPayout', [batchId, E('9.9'), E('9.9')]);
    });

    it('claims several batches in one transfer, or restakes the sum', async () => {
      const id = jobId('multi');
      await deposit('alice', id, E(100));
      const b1 = await post([id], [E(10)], [['p1', E('9.9')]]);
      const b2 = await post([id], [E(20)], [['p1', E('19.8')]]);
      await f.increaseTime(WINDOW);
      const stakeBefore = await f.staking('p1').read.stakeOf([A('p1')]);
      const balanceBefore = await f.token('p1').read.balanceOf([A('p1')]);
      await f.tx(claim('p1', [b1.batchId, b2.batchId], [b1.tree, b2.tree], true));
      expect(await f.staking('p1').read.stakeOf([A('p1')])).toBe(stakeBefore + E('29.7'));
      expect(await f.token('p1').read.balanceOf([A('p1')])).toBe(balanceBefore);
      expect(await f.token('p1').read.allowance([f.addresses.escrow, f.addresses.staking])).toBe(0n);
    });

    it('keeps claims apart across claimed-bitmap words (batch ids 255, 256, 257)', async () => {
      const id = jobId('words');
      await deposit('alice', id, E(1000));
      const tree = payoutTree([[A('p1'), E('0.99')]]);
      // 257 batches, sent with gas, fees and nonce given so that each is one signature and one block.
      let nonce = await f.pub.getTransactionCount({ address: A('gateway') });
      const fees = { gas: 300_000n, maxFeePerGas: 10n ** 11n, maxPriorityFeePerGas: 0n };
      for (let i = 0; i < 257; i++) {
        await f.escrow('gateway').write.postBatch([tree.root, [id], [E(1)]], { ...fees, nonce: nonce++ });
      }
      expect(await f.escrow('p1').read.batchCount()).toBe(257n);
      await f.increaseTime(WINDOW);
      await f.tx(claim('p1', [255n, 257n], tree));
      expect(await f.escrow('p1').read.isClaimed([256n, A('p1')])).toBe(false);
      await f.tx(claim('p1', [256n, 1n], tree));
      for (const b of [1n, 255n, 256n, 257n]) expect(await f.escrow('p1').read.isClaimed([b, A('p1')])).toBe(true);
      expect(await f.escrow('p1').read.isClaimed([2n, A('p1')])).toBe(false);
      await f.expectRevert(claim('p1', [2n, 256n], tree), 'AlreadyClaimed', [256n, A('p1')]);
    });

    it('refuses unknown batches and mismatched arrays', async () => {
      const { batchId, tree } = await simpleBatch();
      await f.increaseTime(WINDOW);
      await f.expectRevert(claim('p1', [99n], tree), 'UnknownBatch', [99n]);
      await f.expectRevert(f.escrow('p1').write.claim([[batchId], [], [], false]), 'LengthMismatch');
      await f.expectRevert(f.escrow('p1').write.claim([[], [], [], false]), 'EmptyBatch');
    });
  });

  describe('challenges, disputes and voids', () => {
    it('lets a requester of a debited job challenge within the window', async () => {
      const { batchId, id, debit } = await simpleBatch();
      await f.expectRevert(f.escrow('bob').write.challenge([batchId, [id], [debit]]), 'NotBatchRequester', [batchId, A('bob')]);
      await f.expectRevert(f.escrow('alice').write.challenge([batchId, [id], [debit + 1n]]), 'BatchListsMismatch', [batchId]);
      await f.tx(f.escrow('alice').write.challenge([batchId, [id], [debit]]));
      expect((await f.escrow('alice').read.batchOf([batchId])).status).toBe(BatchStatus.Disputed);
      await f.expectRevert(f.escrow('alice').write.challenge([batchId, [id], [debit]]), 'InvalidBatchStatus');
      // A disputed batch is not final, however long it waits.
      await f.increaseTime(WINDOW * 10);
      expect(await f.escrow('alice').read.isFinal([batchId])).toBe(false);
    });

    it('refuses a challenge after the window', async () => {
      const { batchId, id, debit } = await simpleBatch();
      await f.increaseTime(WINDOW);
      await f.expectRevert(f.escrow('alice').write.challenge([batchId, [id], [debit]]), 'ChallengeWindowClosed');
    });

    it('lets only governance resolve a dispute', async () => {
      const { batchId, id, debit } = await simpleBatch();
      await f.tx(f.escrow('alice').write.challenge([batchId, [id], [debit]]));
      await f.expectRevert(f.escrow('gateway').write.resolveDispute([batchId, true, [id], [debit]]), 'NotGovernance', [A('gateway')]);
    });

    it("voids a batch on the gateway's word within the window, returning every debit", async () => {
      const { batchId, id, debit, tree } = await simpleBatch(E(100), E(1000));
      await f.expectRevert(f.escrow('mallory').write.voidBatch([batchId, [id], [debit]]), 'AccessControlUnauthorizedAccount');
      await f.tx(f.escrow('gateway').write.voidBatch([batchId, [id], [debit]]));
      expect((await f.escrow('alice').read.escrowOf([id]))[1]).toBe(E(1000));
      expect((await f.escrow('alice').read.batchOf([batchId])).status).toBe(BatchStatus.Voided);
      await f.increaseTime(WINDOW);
      await f.expectRevert(claim('p1', [batchId], tree), 'BatchNotFinal');
      await f.expectRevert(f.escrow('bob').write.sweepFees([[batchId]]), 'BatchNotFinal');
    });

    it('refuses a void after the window', async () => {
      const { batchId, id, debit } = await simpleBatch();
      await f.increaseTime(WINDOW);
      await f.expectRevert(f.escrow('gateway').write.voidBatch([batchId, [id], [debit]]), 'ChallengeWindowClosed');
    });

    it('returns a voided debit straight to the requester when the job was closed meanwhile', async () => {
      const { batchId, id, debit } = await simpleBatch(E(100), E(1000));
      const before = await f.token('alice').read.balanceOf([A('alice')]);
      await f.tx(f.escrow('gateway').write.closeJob([id])); // refunds 900
      await f.tx(f.escrow('gateway').write.voidBatch([batchId, [id], [debit]])); // returns 100
      expect(await f.token('alice').read.balanceOf([A('alice')])).toBe(before + E(1000));
      expect(await f.token('alice').read.balanceOf([f.addresses.escrow])).toBe(0n);
    });
  });

  describe('fees', () => {
    it('sweeps fees of final batches to the treasury, once', async () => {
      const { batchId } = await simpleBatch(E(100));
      await f.expectRevert(f.escrow('bob').write.sweepFees([[batchId]]), 'BatchNotFinal', [batchId]);
      await f.increaseTime(WINDOW);
      const treasury = await f.config('bob').read.treasury();
      const before = await f.token('bob').read.balanceOf([treasury]);
      await f.tx(f.escrow('bob').write.sweepFees([[batchId]]));
      expect(await f.token('bob').read.balanceOf([treasury])).toBe(before + E(1));
      await f.expectRevert(f.escrow('bob').write.sweepFees([[batchId]]), 'FeesAlreadySwept', [batchId]);
    });
  });

  describe('closing jobs', () => {
    it('lets the gateway close an ended job and refunds the requester', async () => {
      const { id } = await simpleBatch(E(100), E(1000));
      const before = await f.token('alice').read.balanceOf([A('alice')]);
      const receipt = await f.tx(f.escrow('gateway').write.closeJob([id]));
      expect(await f.token('alice').read.balanceOf([A('alice')])).toBe(before + E(900));
      expect(await f.escrow('alice').read.escrowOf([id])).toMatchObject([A('alice'), 0n, expect.any(BigInt), true]);
      const [event] = await f.escrow('alice').getEvents.EscrowClosed({}, { fromBlock: receipt.blockNumber });
      expect(event!.args).toMatchObject({ jobId: id, requester: A('alice'), refund: E(900), closedBy: A('gateway') });
      await f.expectRevert(f.escrow('gateway').write.closeJob([id]), 'JobClosed', [id]);
    });

    it('lets the requester close only after expiry, and strangers never', async () => {
      const id = jobId('expiry');
      await deposit('alice', id, E(3), 60n);
      await f.expectRevert(f.escrow('mallory').write.closeJob([id]), 'NotRequester', [id, A('mallory')]);
      await f.expectRevert(f.escrow('alice').write.closeJob([id]), 'JobNotExpired');
      await f.increaseTime(61);
      await f.expectRevert(f.escrow('mallory').write.closeJob([id]), 'NotRequester', [id, A('mallory')]);
      await f.tx(f.escrow('alice').write.closeJob([id]));
      expect((await f.escrow('alice').read.escrowOf([id]))[3]).toBe(true);
      await f.expectRevert(f.escrow('gateway').write.closeJob([jobId('never')]), 'UnknownJob');
    });
  });
});
