/**
 * Property tests: random sequences of ledger operations — deposits, batches, availability reward
 * batches, emission releases, claims (honest, repeated, by strangers, by a registered device whose
 * income goes to its owner), closing, challenges, dispute resolutions, voids, fee sweeps, stake,
 * delegation, unbonding, withdrawals, slashes and waits — keep the ledger's invariants after
 * every step:
 * - the supply changes only by the schedule: total supply == initial supply + emitted;
 * - the escrow holds exactly Σ job balances + Σ over batches not voided of (payoutTotal −
 *   claimedTotal) + the fees not yet swept of batches not voided + emission not yet allocated
 *   to a reward batch;
 * - every balance is accounted for: Σ balances of every holder == total supply;
 * - the staking contract holds exactly Σ over providers of (bonded + unbonding pool tokens), and
 *   no pool promises its stakers more than it holds;
 * - no (batch, provider) is ever paid twice, a stranger is never paid, a batch never pays more
 *   than its payout total, and a claim pays exactly the proven amounts.
 * Runs: LEDGER_PROPERTY_RUNS (default 20) sequences of 20–40 steps; LEDGER_PROPERTY_SEED replays one.
 */
import fc from 'fast-check';
import { keccak256, maxUint256, parseEther, toHex, type Address, type Hex } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchStatus } from '../../src/contracts.js';
import { registerDevice } from '../support/devices.js';
import {
  ACTOR_NAMES,
  DELEGATORS,
  PROVIDERS,
  REQUESTERS,
  accounts,
  createLedgerFixture,
  decodeRevert,
  jobId,
  payoutTree,
  type ActorName,
  type LedgerFixture,
  type PayoutTree,
} from '../support/ledger.js';

const RUNS = Number(process.env.LEDGER_PROPERTY_RUNS ?? 20);
const SEED = process.env.LEDGER_PROPERTY_SEED === undefined ? undefined : Number(process.env.LEDGER_PROPERTY_SEED);
const JOBS = 5;
const STAKERS = [...PROVIDERS, ...DELEGATORS] as const;
const E = (n: number | string) => parseEther(String(n));

const amountArb = fc.oneof(
  { weight: 1, arbitrary: fc.bigInt({ min: 1n, max: 1000n }) }, // dust: rounding paths
  { weight: 4, arbitrary: fc.bigInt({ min: 1n, max: E(500) }) },
);
const pick = <T>(xs: readonly T[]) => fc.integer({ min: 0, max: xs.length - 1 }).map((i) => xs[i]!);
const subset = (n: number) => fc.uniqueArray(fc.integer({ min: 0, max: n - 1 }), { minLength: 1, maxLength: n });

const actionArb = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('deposit' as const),
      who: pick([...REQUESTERS, 'mallory'] as const),
      job: fc.nat(JOBS - 1),
      amount: amountArb,
      ttl: fc.integer({ min: 5, max: 120 }),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('post' as const),
      jobs: fc.uniqueArray(fc.nat(20), { minLength: 1, maxLength: 3 }),
      unknownJob: fc.nat(9).map((n) => n === 0),
      percent: fc.integer({ min: 1, max: 110 }),
      providers: subset(PROVIDERS.length),
      dishonest: fc.nat(7).map((n) => n === 0),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('claim' as const),
      who: pick(PROVIDERS),
      batches: fc.uniqueArray(fc.nat(40), { minLength: 1, maxLength: 2 }),
      anyBatch: fc.nat(4).map((n) => n === 0),
      restake: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('reward' as const),
      epochsAgo: fc.nat(3),
      providers: subset(PROVIDERS.length),
      percent: fc.integer({ min: 1, max: 120 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('release' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('steal' as const), batch: fc.nat(40) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('close' as const), by: pick(['gateway', 'requester', 'mallory'] as const), job: fc.nat(20) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('challenge' as const), who: pick(REQUESTERS), batch: fc.nat(40) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('resolve' as const), batch: fc.nat(40), upheld: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('void' as const), batch: fc.nat(40) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('sweep' as const), batches: fc.uniqueArray(fc.nat(40), { minLength: 1, maxLength: 3 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('stake' as const), who: pick(PROVIDERS), amount: amountArb }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('delegate' as const), who: pick(DELEGATORS), provider: pick(PROVIDERS), amount: amountArb }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('unbond' as const), position: fc.nat(20), amount: fc.option(amountArb, { nil: maxUint256 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('withdraw' as const), who: fc.nat(20) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('slash' as const), provider: pick(PROVIDERS), huge: fc.boolean(), reuseEvidence: fc.boolean() }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('wait' as const), seconds: fc.integer({ min: 1, max: 30 }) }) },
);
type Action = typeof actionArb extends fc.Arbitrary<infer T> ? T : never;

interface ModelBatch {
  id: bigint;
  jobIds: Hex[];
  debits: bigint[];
  tree: PayoutTree;
}

describe('ledger invariants under random operation sequences', () => {
  let f: LedgerFixture;
  let initialSupply: bigint;
  beforeAll(async () => {
    // Short periods, so that waits of seconds make batches final and unbonding finish.
    f = await createLedgerFixture({ deploy: 'core', params: { challengeWindow: 5, unbondingPeriod: 15, epochLength: 20, availabilityPool: E(25) } });
    initialSupply = await f.token('alice').read.totalSupply();
  });
  afterAll(() => f.close());

  const A = (n: ActorName): Address => accounts[n].address;
  const holders = [...ACTOR_NAMES.map(A)];

  /** Outcomes per action kind over all runs ("claim ok", "claim BatchNotFinal", …), printed at the end. */
  const outcomes = new Map<string, number>();
  let current = '';
  afterAll(() => {
    console.log(
      [...outcomes]
        .sort()
        .map(([k, n]) => `${k}: ${n}`)
        .join('\n'),
    );
  });

  /** Runs a write; returns undefined on success or the custom error's name on a revert. */
  async function attempt(write: () => Promise<Hex>): Promise<string | undefined> {
    let hash: Hex;
    try {
      hash = await write();
    } catch (error) {
      const decoded = decodeRevert(error);
      if (decoded === undefined) throw error;
      const key = `${current} ${decoded.errorName}`;
      outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
      return decoded.errorName;
    }
    outcomes.set(`${current} ok`, (outcomes.get(`${current} ok`) ?? 0) + 1);
    const receipt = await f.pub.waitForTransactionReceipt({ hash });
    expect(receipt.status).toBe('success');
    return undefined;
  }

  function expectOneOf(result: string | undefined, allowed: readonly string[], action: Action) {
    if (result !== undefined && !allowed.includes(result)) {
      throw new Error(`${action.kind} reverted with ${result}, which it never should: ${stringify(action)}`);
    }
  }

  /** Cheap checks run after every step; `full` adds the per-staker and per-holder sums. */
  async function checkInvariants(batches: ModelBatch[], full: boolean) {
    const token = f.token('alice').read;
    const escrow = f.escrow('alice').read;
    const staking = f.staking('alice').read;
    const emitted = await token.emitted();
    expect(await token.totalSupply()).toBe(initialSupply + emitted);

    let jobs = 0n;
    for (let j = 0; j < JOBS; j++) jobs += (await escrow.escrowOf([jobId(j)]))[1];
    let owed = 0n;
    for (const b of batches) {
      const s = await escrow.batchOf([b.id]);
      expect(s.claimedTotal).toBeLessThanOrEqual(s.payoutTotal);
      if (s.status !== BatchStatus.Voided) owed += s.payoutTotal - s.claimedTotal + (s.feeSwept ? 0n : s.fee);
    }
    const unallocated = await escrow.rewardsUnallocated();
    expect(unallocated).toBe(emitted - (await escrow.rewardsAllocated()));
    expect(await token.balanceOf([f.addresses.escrow])).toBe(jobs + owed + unallocated);

    let pools = 0n;
    for (const p of PROVIDERS) {
      const [bonded, , unbonding] = await staking.poolOf([A(p)]);
      pools += bonded + unbonding;
      if (!full) continue;
      let promised = 0n;
      for (const s of STAKERS) promised += await staking.delegationOf([A(p), A(s)]);
      expect(promised).toBeLessThanOrEqual(bonded);
    }
    expect(await token.balanceOf([f.addresses.staking])).toBe(pools);
    if (!full) return;

    let held = 0n;
    for (const h of [...holders, f.addresses.escrow, f.addresses.staking]) held += await token.balanceOf([h]);
    expect(held).toBe(initialSupply + emitted);
  }

  it(
    'keeps supply, escrow and staking balances, and claims exact and unique',
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(actionArb, { minLength: 20, maxLength: 40 }), async (actions) => {
          await f.reset();
          // p4 is a registered device owned by carol: its claims pay carol, never p4.
          await registerDevice(f, 'p4', 'carol');
          const batches: ModelBatch[] = [];
          const claimed = new Set<string>();
          const known: Hex[] = [];
          const positions: Array<[ActorName, ActorName]> = [];
          const unbonders: ActorName[] = [];
          const usedEvidence: Hex[] = [];
          const batchAt = (i: number) => batches[i % Math.max(batches.length, 1)];

          for (const action of actions) {
            const escrow = f.escrow;
            const staking = f.staking;
            current = action.kind;
            switch (action.kind) {
              case 'deposit': {
                const id = jobId(action.job);
                const [requester] = await escrow('alice').read.escrowOf([id]);
                if (action.who === 'mallory' && requester === '0x0000000000000000000000000000000000000000') break;
                const expiresAt = (await f.now()) + BigInt(action.ttl);
                const r = await attempt(() => escrow(action.who).write.deposit([id, action.amount, expiresAt]));
                expectOneOf(r, ['NotRequester', 'JobClosed', 'InvalidExpiry'], action);
                if (action.who === 'mallory') expect(r).toBe('NotRequester');
                if (r === undefined && !known.includes(id)) known.push(id);
                break;
              }
              case 'post': {
                // Debit jobs that exist (a closed one is refused with JobClosed), now and then an unknown one.
                if (known.length === 0) break;
                const jobIds = [...new Set(action.jobs.map((j) => known[j % known.length]!))];
                if (action.unknownJob) jobIds.push(jobId('never-deposited'));
                const debits: bigint[] = [];
                for (const id of jobIds) {
                  const [, balance] = await escrow('gateway').read.escrowOf([id]);
                  const d = (balance * BigInt(action.percent)) / 100n;
                  debits.push(d > 0n ? d : 1n);
                }
                const total = debits.reduce((a, b) => a + b, 0n);
                const feeBps = BigInt(await f.config('gateway').read.feeBps());
                const payout = total - (total * feeBps) / 10_000n;
                const providers = action.providers.map((i) => A(PROVIDERS[i]!));
                const share = payout / BigInt(providers.length);
                const amounts = providers.map((_, i) => (i === 0 ? payout - share * BigInt(providers.length - 1) : share));
                // A dishonest gateway promises 10 % more than the batch holds.
                const tree = payoutTree(providers.map((p, i) => [p, action.dishonest ? amounts[i]! + amounts[i]! / 10n + 1n : amounts[i]!] as const));
                const r = await attempt(() => escrow('gateway').write.postBatch([tree.root, jobIds, debits]));
                expectOneOf(r, ['InsufficientEscrow', 'UnknownJob', 'JobClosed'], action);
                if (r === undefined) {
                  const id = await escrow('gateway').read.batchCount();
                  batches.push({ id, jobIds, debits, tree });
                  const stored = await escrow('gateway').read.batchOf([id]);
                  expect(stored.payoutTotal + stored.fee).toBe(total);
                }
                break;
              }
              case 'claim': {
                // Mostly batches that pay this provider, now and then any (no leaf: an empty proof).
                const who = A(action.who);
                const paying = batches.filter((b) => b.tree.payouts.some(([p]) => p === who));
                const from = action.anyBatch ? batches : paying;
                if (from.length === 0) break;
                const chosen = [...new Set(action.batches.map((i) => from[i % from.length]!))];
                const amounts = chosen.map((b) => (b.tree.payouts.some(([p]) => p === who) ? b.tree.amount(who) : 0n));
                const proofs = chosen.map((b) => (b.tree.payouts.some(([p]) => p === who) ? b.tree.proof(who) : []));
                const balanceBefore = await f.token(action.who).read.balanceOf([who]);
                const poolBefore = await staking(action.who).read.totalStakeOf([who]);
                const device = action.who === 'p4';
                const payee = device ? A('carol') : who;
                const payeeBefore = await f.token('carol').read.balanceOf([payee]);
                const r = await attempt(() => escrow(action.who).write.claim([chosen.map((b) => b.id), amounts, proofs, action.restake]));
                expectOneOf(r, ['BatchNotFinal', 'AlreadyClaimed', 'InvalidProof', 'ClaimExceedsPayout', 'DeviceIncomeNotRestakable'], action);
                if (device && action.restake) expect(r).toBeDefined();
                const keys = chosen.map((b) => `${b.id}:${who}`);
                if (r === undefined) {
                  for (const k of keys) expect(claimed.has(k), `double claim ${k}`).toBe(false);
                  for (const k of keys) claimed.add(k);
                  for (const b of chosen) expect(await escrow('alice').read.isFinal([b.id])).toBe(true);
                  const sum = amounts.reduce((a, b) => a + b, 0n);
                  if (device) {
                    expect(await f.token('carol').read.balanceOf([payee])).toBe(payeeBefore + sum);
                    expect(await f.token('p4').read.balanceOf([who])).toBe(balanceBefore);
                  } else if (action.restake) {
                    expect(await staking(action.who).read.totalStakeOf([who])).toBe(poolBefore + sum);
                  } else {
                    expect(await f.token(action.who).read.balanceOf([who])).toBe(balanceBefore + sum);
                  }
                } else if (r === 'AlreadyClaimed') {
                  expect(keys.some((k) => claimed.has(k))).toBe(true);
                }
                break;
              }
              case 'reward': {
                // An epoch that has ended (or the current one, refused); now and then above the pool.
                const epochLength = await f.config('gateway').read.epochLength();
                const nowEpoch = (await f.now()) / epochLength;
                const epoch = nowEpoch - BigInt(action.epochsAgo) + 1n;
                if (epoch < 0n) break;
                const pool = await f.config('gateway').read.availabilityPool();
                const total = (pool * BigInt(action.percent)) / 100n;
                const providers = action.providers.map((i) => A(PROVIDERS[i]!));
                const share = total / BigInt(providers.length);
                const tree = payoutTree(providers.map((p, i) => [p, i === 0 ? total - share * BigInt(providers.length - 1) : share] as const));
                const r = await attempt(() => escrow('gateway').write.postRewardBatch([epoch, tree.root, total]));
                expectOneOf(r, ['EpochNotOver', 'EpochAlreadySettled', 'RewardAboveBudget'], action);
                if (action.percent > 100) expect(r).toBeDefined();
                if (r === undefined) batches.push({ id: await escrow('gateway').read.batchCount(), jobIds: [], debits: [], tree });
                break;
              }
              case 'release': {
                const r = await attempt(() => f.token('bob').write.releaseEmission());
                expectOneOf(r, ['NothingToRelease'], action);
                break;
              }
              case 'steal': {
                const b = batchAt(action.batch);
                if (b === undefined) break;
                const [victim, amount] = b.tree.payouts[0]!;
                const r = await attempt(() => escrow('mallory').write.claim([[b.id], [amount], [b.tree.proof(victim)], false]));
                expect(r, 'a stranger was paid').toBeDefined();
                expectOneOf(r, ['BatchNotFinal', 'InvalidProof'], action);
                break;
              }
              case 'close': {
                const id = known.length > 0 ? known[action.job % known.length]! : jobId('never-deposited');
                const [requester] = await escrow('alice').read.escrowOf([id]);
                const by: ActorName = action.by === 'requester' ? (REQUESTERS.find((n) => A(n) === requester) ?? 'alice') : action.by;
                const r = await attempt(() => escrow(by).write.closeJob([id]));
                expectOneOf(r, ['UnknownJob', 'JobClosed', 'NotRequester', 'JobNotExpired'], action);
                if (by === 'mallory') expect(r).toBeDefined();
                break;
              }
              case 'challenge': {
                const b = batchAt(action.batch);
                if (b === undefined) break;
                const r = await attempt(() => escrow(action.who).write.challenge([b.id, b.jobIds, b.debits]));
                expectOneOf(r, ['InvalidBatchStatus', 'ChallengeWindowClosed', 'NotBatchRequester'], action);
                break;
              }
              case 'resolve': {
                const b = batchAt(action.batch);
                if (b === undefined) break;
                const r = await attempt(() => escrow('gov').write.resolveDispute([b.id, action.upheld, b.jobIds, b.debits]));
                expectOneOf(r, ['InvalidBatchStatus'], action);
                break;
              }
              case 'void': {
                const b = batchAt(action.batch);
                if (b === undefined) break;
                const r = await attempt(() => escrow('gateway').write.voidBatch([b.id, b.jobIds, b.debits]));
                expectOneOf(r, ['InvalidBatchStatus', 'ChallengeWindowClosed'], action);
                break;
              }
              case 'sweep': {
                if (batches.length === 0) break;
                const ids = [...new Set(action.batches.map((i) => batchAt(i)!.id))];
                const r = await attempt(() => escrow('bob').write.sweepFees([ids]));
                expectOneOf(r, ['BatchNotFinal', 'FeesAlreadySwept'], action);
                break;
              }
              case 'stake': {
                const r = await attempt(() => staking(action.who).write.stake([action.amount]));
                expectOneOf(r, ['AmountTooSmall'], action);
                if (r === undefined) positions.push([action.who, action.who]);
                break;
              }
              case 'delegate': {
                const r = await attempt(() => staking(action.who).write.delegate([A(action.provider), action.amount]));
                expectOneOf(r, ['AmountTooSmall'], action);
                if (r === undefined) positions.push([action.who, action.provider]);
                break;
              }
              case 'unbond': {
                // From a position some earlier step opened (it may have been slashed or unbonded since).
                if (positions.length === 0) break;
                const [who, provider] = positions[action.position % positions.length]!;
                const r = await attempt(() => staking(who).write.unbond([A(provider), action.amount]));
                expectOneOf(r, ['InsufficientStake', 'AmountTooSmall', 'TooManyUnbondingRequests'], action);
                if (r === undefined && !unbonders.includes(who)) unbonders.push(who);
                break;
              }
              case 'withdraw': {
                // Mostly a staker who has unbonded; otherwise anyone.
                if (unbonders.length === 0 && action.who % 4 !== 0) break;
                const who = action.who % 4 !== 0 ? unbonders[action.who % unbonders.length]! : STAKERS[action.who % STAKERS.length]!;
                const r = await attempt(() => staking(who).write.withdraw());
                expectOneOf(r, ['NothingToWithdraw', 'UnbondingNotFinished'], action);
                if (r !== 'UnbondingNotFinished' && (await staking(who).read.unbondingRequestsOf([A(who)])).length === 0) {
                  unbonders.splice(unbonders.indexOf(who) >>> 0, unbonders.includes(who) ? 1 : 0);
                }
                break;
              }
              case 'slash': {
                const amount = action.huge ? E(1_000_000_000) : await staking('gateway').read.slashAmountFor([A(action.provider)]);
                const evidence =
                  action.reuseEvidence && usedEvidence.length > 0
                    ? usedEvidence[usedEvidence.length - 1]!
                    : keccak256(toHex(`evidence-${usedEvidence.length}`));
                const r = await attempt(() => staking('gateway').write.slash([A(action.provider), amount, evidence]));
                expectOneOf(r, ['NothingToSlash', 'ZeroAmount', 'EvidenceAlreadyUsed'], action);
                if (r === undefined) usedEvidence.push(evidence);
                break;
              }
              case 'wait':
                await f.increaseTime(action.seconds);
                break;
            }
            await checkInvariants(batches, false);
            // The in-memory chain answers through promises alone; let the event loop breathe so that
            // vitest's worker messages are not starved during a long run.
            await new Promise((resolve) => setImmediate(resolve));
          }
          await checkInvariants(batches, true);
        }),
        { numRuns: RUNS, seed: SEED, endOnFailure: true, verbose: 1 },
      );
    },
    30 * 60_000,
  );
});

function stringify(x: unknown): string {
  return JSON.stringify(x, (_, v) => (typeof v === 'bigint' ? v.toString() : v));
}
