import { getContract, parseEther, stringToHex, zeroAddress, type Address } from 'viem';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ledgerArtifacts, lodeTokenAbi, protocolConfigAbi } from '../../src/contracts.js';
import { DEFAULT_LEDGER_PARAMETERS } from '../../src/deploy.js';
import { accounts, createLedgerFixture, type LedgerFixture } from '../support/ledger.js';

const E = (n: number | string) => parseEther(String(n));

describe('LodeToken', () => {
  let f: LedgerFixture;
  beforeAll(async () => {
    f = await createLedgerFixture();
  });
  afterAll(() => f.close());
  beforeEach(() => f.reset());

  it('mints the initial supply at deployment and has no other way to mint than emission', async () => {
    const t = f.token('alice').read;
    expect(await t.name()).toBe('Lode');
    expect(await t.symbol()).toBe('LODE');
    expect(await t.totalSupply()).toBe(DEFAULT_LEDGER_PARAMETERS.initialSupply);
    const fns = lodeTokenAbi.filter((i) => i.type === 'function').map((i) => i.name);
    expect(fns.filter((n) => /mint|burn|owner/i.test(n))).toEqual([]);
  });

  it('uses timestamps as the votes clock', async () => {
    const t = f.token('alice').read;
    expect(await t.CLOCK_MODE()).toBe('mode=timestamp');
    expect(BigInt(await t.clock())).toBeGreaterThanOrEqual(await f.now());
    await f.tx(f.token('alice').write.delegate([accounts.alice.address]));
    const at = await f.now();
    await f.increaseTime(2);
    expect(await t.getPastVotes([accounts.alice.address, at])).toBe(E(1_000_000));
  });

  it("releases emission at the fixed rate into the reward pool, to anyone's call, up to the cap", async () => {
    const t = f.token('mallory');
    const pool = await t.read.rewardPool();
    expect(pool).toBe(f.addresses.escrow); // JobEscrow pays it out as availability rewards
    const start = await t.read.emissionStart();
    const supply = await t.read.totalSupply();
    const pooled = await t.read.balanceOf([pool]); // the treasury's allocation
    await f.increaseTime(10);
    const receipt = await f.tx(t.write.releaseEmission());
    const { timestamp } = await f.pub.getBlock({ blockNumber: receipt.blockNumber });
    const expected = (timestamp - start) * DEFAULT_LEDGER_PARAMETERS.emissionRate;
    expect(await t.read.emitted()).toBe(expected);
    expect(await t.read.totalSupply()).toBe(supply + expected);
    expect(await t.read.balanceOf([pool])).toBe(pooled + expected);
    await f.expectRevert(t.write.releaseEmission(), 'NothingToRelease');
  });

  it('stops at the emission cap', async () => {
    const wallet = f.wallets.deployer;
    const hash = await wallet.deployContract({
      abi: lodeTokenAbi,
      bytecode: ledgerArtifacts.LodeToken.bytecode,
      args: [[{ holder: accounts.deployer.address, amount: E(1), delegatee: zeroAddress }], accounts.carol.address, E(1), E(5)],
    });
    const address = (await f.pub.waitForTransactionReceipt({ hash })).contractAddress as Address;
    const token = getContract({ abi: lodeTokenAbi, address, client: { public: f.pub, wallet } });
    await f.increaseTime(100);
    expect(await token.read.releasable()).toBe(E(5));
    await f.tx(token.write.releaseEmission());
    expect(await token.read.totalSupply()).toBe(E(6));
    await f.increaseTime(100);
    await f.expectRevert(token.write.releaseEmission(), 'NothingToRelease');
  });
});

describe('ProtocolConfig', () => {
  let f: LedgerFixture;
  let standalone: Address;
  beforeAll(async () => {
    f = await createLedgerFixture();
    // A config owned by an EOA, to exercise the setters without a governance round each.
    const hash = await f.wallets.deployer.deployContract({
      abi: protocolConfigAbi,
      bytecode: ledgerArtifacts.ProtocolConfig.bytecode,
      args: [
        accounts.deployer.address,
        {
          feeBps: 100,
          slashBps: 1000,
          unbondingPeriod: 60n,
          settlementPeriod: 10n,
          challengeWindow: 5n,
          minStake: E(100),
          treasury: accounts.carol.address,
          epochLength: 60n,
          availabilityPool: E(30),
          challengeRate: 3,
        },
      ],
    });
    standalone = (await f.pub.waitForTransactionReceipt({ hash })).contractAddress as Address;
  });
  afterAll(() => f.close());

  const cfg = (who: 'deployer' | 'mallory') => getContract({ abi: protocolConfigAbi, address: standalone, client: { public: f.pub, wallet: f.wallets[who] } });

  it('is owned by the timelock in a deployment, and by no one else', async () => {
    expect(await f.config('alice').read.owner()).toBe(f.addresses.timelock);
    await f.expectRevert(f.config('deployer').write.setFeeBps([200]), 'OwnableUnauthorizedAccount', [accounts.deployer.address]);
    await f.expectRevert(cfg('mallory').write.setMinStake([1n]), 'OwnableUnauthorizedAccount');
  });

  it('reads every parameter at once', async () => {
    expect(await f.config('alice').read.parameters()).toEqual({
      feeBps: DEFAULT_LEDGER_PARAMETERS.feeBps,
      slashBps: DEFAULT_LEDGER_PARAMETERS.slashBps,
      unbondingPeriod: BigInt(DEFAULT_LEDGER_PARAMETERS.unbondingPeriod),
      settlementPeriod: BigInt(DEFAULT_LEDGER_PARAMETERS.settlementPeriod),
      challengeWindow: BigInt(DEFAULT_LEDGER_PARAMETERS.challengeWindow),
      minStake: DEFAULT_LEDGER_PARAMETERS.minStake,
      treasury: f.addresses.timelock,
      epochLength: BigInt(DEFAULT_LEDGER_PARAMETERS.epochLength),
      availabilityPool: DEFAULT_LEDGER_PARAMETERS.availabilityPool,
      challengeRate: DEFAULT_LEDGER_PARAMETERS.challengeRate,
    });
  });

  it('changes parameters within bounds and says so in ParameterChanged', async () => {
    const c = cfg('deployer');
    const receipt = await f.tx(c.write.setFeeBps([250]));
    expect(await c.read.feeBps()).toBe(250);
    const [event] = await c.getEvents.ParameterChanged({}, { fromBlock: receipt.blockNumber });
    expect(event!.args).toEqual({ parameter: stringToHex('feeBps', { size: 32 }), oldValue: 100n, newValue: 250n });
    await f.tx(c.write.setSlashBps([10_000]));
    await f.tx(c.write.setMinStake([E(1)]));
    await f.tx(c.write.setSettlementPeriod([3600n]));
    await f.tx(c.write.setUnbondingPeriod([86_400n]));
    await f.tx(c.write.setChallengeWindow([86_400n]));
    await f.tx(c.write.setTreasury([accounts.bob.address]));
    await f.tx(c.write.setEpochLength([3600n]));
    await f.tx(c.write.setAvailabilityPool([0n]));
    await f.tx(c.write.setChallengeRate([1000]));
    expect(await c.read.parameters()).toMatchObject({
      slashBps: 10_000,
      minStake: E(1),
      settlementPeriod: 3600n,
      unbondingPeriod: 86_400n,
      challengeWindow: 86_400n,
      treasury: accounts.bob.address,
      epochLength: 3600n,
      availabilityPool: 0n,
      challengeRate: 1000,
    });
  });

  it('refuses values out of bounds', async () => {
    const w = cfg('deployer').write;
    await f.expectRevert(w.setFeeBps([2001]), 'FeeTooHigh', [2001n, 2000n]);
    await f.expectRevert(w.setSlashBps([0]), 'BpsOutOfRange');
    await f.expectRevert(w.setSlashBps([10_001]), 'BpsOutOfRange');
    await f.expectRevert(w.setMinStake([0n]), 'ZeroMinStake');
    await f.expectRevert(w.setSettlementPeriod([0n]), 'PeriodOutOfRange');
    await f.expectRevert(w.setSettlementPeriod([366n * 86_400n]), 'PeriodOutOfRange');
    await f.expectRevert(w.setChallengeWindow([0n]), 'PeriodOutOfRange');
    await f.expectRevert(w.setTreasury(['0x0000000000000000000000000000000000000000']), 'ZeroTreasury');
    await f.expectRevert(w.setEpochLength([0n]), 'PeriodOutOfRange');
    await f.expectRevert(w.setChallengeRate([1001]), 'ChallengeRateTooHigh', [1001n, 1000n]);
    const { unbondingPeriod, challengeWindow } = await cfg('deployer').read.parameters();
    await f.expectRevert(w.setChallengeWindow([unbondingPeriod + 1n]), 'UnbondingShorterThanChallengeWindow');
    await f.expectRevert(w.setUnbondingPeriod([challengeWindow - 1n]), 'UnbondingShorterThanChallengeWindow');
  });
});
