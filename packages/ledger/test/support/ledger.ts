/**
 * Shared setup for the contract tests: an in-memory embedded chain, the ledger deployed on it,
 * named actors funded with ETH and LODE (with approvals in place), and helpers for time,
 * snapshots, transactions and custom-error assertions.
 *
 * @example
 * const f = await createLedgerFixture();
 * await f.tx(f.escrow('alice').write.deposit([jobId, 10n ** 18n, await f.now() + 3600n]));
 * await f.expectRevert(f.escrow('mallory').write.closeJob([jobId]), 'NotRequester');
 */
import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import {
  BaseError,
  ContractFunctionRevertedError,
  createPublicClient,
  createWalletClient,
  custom,
  decodeErrorResult,
  defineChain,
  getAddress,
  getContract,
  getContractAddress,
  maxUint256,
  zeroAddress,
  parseEther,
  type Abi,
  type Account,
  type Address,
  type Chain,
  type Hex,
  type PublicClient,
  type TransactionReceipt,
  type Transport,
  type WalletClient,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { expect } from 'vitest';
import { createEmbeddedChain, LODE_CHAIN_ID, type EmbeddedChain } from '../../src/chain/index.js';
import {
  deviceRegistryAbi,
  deviceSharesAbi,
  governorAbi,
  jobEscrowAbi,
  lodeTokenAbi,
  protocolConfigAbi,
  stakingAbi,
  timelockAbi,
} from '../../src/contracts.js';
import { ledgerArtifacts } from '../../src/contracts.js';
import { DEFAULT_LEDGER_PARAMETERS, ROLES, deployLedger, type DeployLedgerParameters, type LedgerAddresses } from '../../src/deploy.js';

/** The embedded chain as viem sees it (fees fixed so that no fee RPCs are needed per write). */
export const lodeChain = defineChain({
  id: LODE_CHAIN_ID,
  name: 'Lode (embedded)',
  nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
  rpcUrls: { default: { http: [] } },
  fees: { maxPriorityFeePerGas: 0n, baseFeeMultiplier: 2 },
});

/** Test actors, each with its own key. */
export const ACTOR_NAMES = ['deployer', 'gateway', 'alice', 'bob', 'carol', 'p1', 'p2', 'p3', 'p4', 'd1', 'd2', 'mallory', 'gov', 'treasury'] as const;
export type ActorName = (typeof ACTOR_NAMES)[number];
export const REQUESTERS = ['alice', 'bob', 'carol'] as const satisfies readonly ActorName[];
export const PROVIDERS = ['p1', 'p2', 'p3', 'p4'] as const satisfies readonly ActorName[];
export const DELEGATORS = ['d1', 'd2'] as const satisfies readonly ActorName[];

export const accounts: Record<ActorName, Account> = Object.fromEntries(
  ACTOR_NAMES.map((name, i) => [name, privateKeyToAccount(`0x${(i + 1).toString(16).padStart(2, '0').repeat(32)}` as Hex)]),
) as Record<ActorName, Account>;

/** LODE each requester, provider and delegator gets from the deployer. */
export const ACTOR_LODE = parseEther('1000000');

export interface LedgerFixtureOptions {
  /** Overrides of the deployment defaults (gateway is always the 'gateway' actor). */
  params?: Partial<DeployLedgerParameters>;
  /**
   * 'full' (default): deployLedger, governed by the governor and timelock. 'core': token,
   * config, staking and escrow only, with the 'gov' actor as ProtocolConfig's owner (so that
   * property tests can resolve disputes in one transaction) and 'treasury' as the treasury;
   * `addresses.timelock` and `addresses.governor` are then the zero address.
   */
  deploy?: 'full' | 'core';
}

export type LedgerFixture = Awaited<ReturnType<typeof createLedgerFixture>>;

/**
 * Creates a chain, deploys the ledger with the 'gateway' actor as settler and slasher, gives
 * every requester/provider/delegator ACTOR_LODE with unlimited approvals to the escrow and the
 * staking contract, and takes a snapshot that `reset()` returns to.
 */
export async function createLedgerFixture(options: LedgerFixtureOptions = {}) {
  const chain: EmbeddedChain = await createEmbeddedChain({
    accounts: ACTOR_NAMES.map((name) => ({ address: accounts[name].address, balance: parseEther('1000') })),
  });
  // No retries: a revert is an answer, not a transient failure (viem would otherwise retry the
  // chain's code-3 errors with backoff, about a second per expected revert).
  const transport = custom(chain, { retryCount: 0 });
  const pub = createPublicClient({ chain: lodeChain, transport, pollingInterval: 10 }) as PublicClient;
  const wallets = Object.fromEntries(ACTOR_NAMES.map((name) => [name, createWalletClient({ account: accounts[name], chain: lodeChain, transport })])) as Record<
    ActorName,
    ReturnType<typeof createWalletClient<typeof transport, typeof lodeChain, Account>>
  >;

  const addresses: LedgerAddresses =
    options.deploy === 'core'
      ? await deployCore(wallets.deployer, pub, options.params)
      : await deployLedger(wallets.deployer, pub, { gateway: accounts.gateway.address, ...options.params });

  const contract =
    <const abi extends readonly unknown[]>(abi: abi, address: Address) =>
    (actor: ActorName) =>
      getContract({ abi, address, client: { public: pub, wallet: wallets[actor] } });
  const token = contract(lodeTokenAbi, addresses.token);
  const config = contract(protocolConfigAbi, addresses.config);
  const staking = contract(stakingAbi, addresses.staking);
  const escrow = contract(jobEscrowAbi, addresses.escrow);
  const governor = contract(governorAbi, addresses.governor);
  const timelock = contract(timelockAbi, addresses.timelock);
  const registry = contract(deviceRegistryAbi, addresses.registry);
  /** A device's share contract (DeviceShares clone) as `actor`. */
  const shares = (address: Address) => contract(deviceSharesAbi, address);

  /** Waits for a transaction and asserts it succeeded. */
  const tx = async (hash: Promise<Hex> | Hex): Promise<TransactionReceipt> => {
    const receipt = await pub.waitForTransactionReceipt({ hash: await hash });
    expect(receipt.status).toBe('success');
    return receipt;
  };

  for (const name of [...REQUESTERS, ...PROVIDERS, ...DELEGATORS]) {
    await tx(token('deployer').write.transfer([accounts[name].address, ACTOR_LODE]));
    await tx(token(name).write.approve([addresses.escrow, maxUint256]));
    await tx(token(name).write.approve([addresses.staking, maxUint256]));
  }

  let snapshotId = (await chain.request({ method: 'evm_snapshot' })) as Hex;

  return {
    chain,
    pub,
    wallets,
    accounts,
    addresses,
    token,
    config,
    staking,
    escrow,
    governor,
    timelock,
    registry,
    shares,
    tx,
    /** Address of an actor. */
    addr: (name: ActorName): Address => accounts[name].address,
    /** Timestamp of the latest block. */
    now: async (): Promise<bigint> => (await pub.getBlock()).timestamp,
    /** Moves the clock of later blocks forward and mines one block. */
    increaseTime: async (seconds: number | bigint): Promise<void> => {
      await chain.request({ method: 'evm_increaseTime', params: [Number(seconds)] });
      await chain.request({ method: 'evm_mine' });
    },
    /**
     * Back to the state right after setup (every test starts there), plus one empty block so that
     * the latest timestamp catches up with the clock (earlier tests may have moved it forward).
     */
    reset: async (): Promise<void> => {
      expect(await chain.request({ method: 'evm_revert', params: [snapshotId] })).toBe(true);
      await chain.request({ method: 'evm_mine' });
      snapshotId = (await chain.request({ method: 'evm_snapshot' })) as Hex;
    },
    /** Takes an ad-hoc snapshot (valid until an earlier one is reverted to). */
    snapshot: async (): Promise<Hex> => (await chain.request({ method: 'evm_snapshot' })) as Hex,
    revertTo: async (id: Hex): Promise<void> => {
      expect(await chain.request({ method: 'evm_revert', params: [id] })).toBe(true);
    },
    expectRevert,
    close: () => chain.close(),
  };
}

/**
 * Asserts that `promise` (a write, simulate or read) fails with the contract's custom error
 * `errorName`, decoded by viem (never by message text), optionally with exactly `args`.
 */
export async function expectRevert(promise: Promise<unknown>, errorName: string, args?: readonly unknown[]): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `expected a revert with ${errorName}, but the call succeeded`).toBeInstanceOf(BaseError);
  const decoded = decodeRevert(error);
  expect(decoded, `expected ${errorName}, got: ${(error as Error).message}`).toBeDefined();
  expect(decoded?.errorName).toBe(errorName);
  if (args !== undefined) expect(decoded?.args).toEqual(args);
}

/**
 * The custom error behind a failed viem call, decoded with the called contract's ABI or, for an
 * error bubbled up from another contract (the token under the escrow), with every ledger ABI.
 * Undefined when the failure is not a contract revert.
 */
export function decodeRevert(error: unknown): { errorName: string; args: readonly unknown[] | undefined } | undefined {
  if (!(error instanceof BaseError)) return undefined;
  const reverted = error.walk((e) => e instanceof ContractFunctionRevertedError) as ContractFunctionRevertedError | null;
  if (reverted === null) return undefined;
  const { data, raw } = reverted;
  if (data?.errorName !== undefined) return { errorName: data.errorName, args: data.args };
  if (raw === undefined) return undefined;
  const decoded = decodeErrorResult({ abi: ALL_ERRORS, data: raw });
  return { errorName: decoded.errorName, args: decoded.args };
}

/**
 * Token, config (owned by 'gov'), staking, the device registry and escrow, wired as deployLedger
 * wires them (the escrow is the token's reward pool).
 */
async function deployCore(
  wallet: WalletClient<Transport, Chain, Account>,
  pub: PublicClient,
  overrides: Partial<DeployLedgerParameters> = {},
): Promise<LedgerAddresses> {
  const p = { ...DEFAULT_LEDGER_PARAMETERS, ...overrides };
  const deploy = async (name: keyof typeof ledgerArtifacts, args: readonly unknown[]) => {
    const { abi, bytecode } = ledgerArtifacts[name];
    const hash = await wallet.deployContract({ abi: abi as Abi, bytecode, args } as never);
    const receipt = await pub.waitForTransactionReceipt({ hash });
    return getAddress(receipt.contractAddress!);
  };
  const first = await pub.getBlockNumber();
  const nonce = await pub.getTransactionCount({ address: accounts.deployer.address, blockTag: 'pending' });
  const token = await deploy('LodeToken', [
    [{ holder: accounts.deployer.address, amount: p.initialSupply, delegatee: zeroAddress }],
    getContractAddress({ from: accounts.deployer.address, nonce: BigInt(nonce + 5) }),
    p.emissionRate,
    p.emissionCap,
  ]);
  const config = await deploy('ProtocolConfig', [
    accounts.gov.address,
    {
      feeBps: p.feeBps,
      slashBps: p.slashBps,
      unbondingPeriod: BigInt(p.unbondingPeriod),
      settlementPeriod: BigInt(p.settlementPeriod),
      challengeWindow: BigInt(p.challengeWindow),
      minStake: p.minStake,
      treasury: accounts.treasury.address,
      epochLength: BigInt(p.epochLength),
      availabilityPool: p.availabilityPool,
      challengeRate: p.challengeRate,
    },
  ]);
  const staking = await deploy('Staking', [token, config, accounts.deployer.address]);
  const registry = await deploy('DeviceRegistry', [token, await deploy('DeviceShares', [])]);
  const escrow = await deploy('JobEscrow', [token, config, staking, registry, accounts.deployer.address]);
  const grant = async (abi: Abi, address: Address, role: Hex) => {
    const hash = await wallet.writeContract({ abi, address, functionName: 'grantRole', args: [role, accounts.gateway.address] } as never);
    await pub.waitForTransactionReceipt({ hash });
  };
  await grant(jobEscrowAbi as Abi, escrow, ROLES.SETTLER);
  await grant(stakingAbi as Abi, staking, ROLES.SLASHER);
  return { chainId: LODE_CHAIN_ID, token, config, staking, escrow, registry, timelock: zeroAddress, governor: zeroAddress, deployBlock: Number(first + 1n) };
}

const ALL_ERRORS: Abi = Object.values(ledgerArtifacts).flatMap((a) => (a.abi as Abi).filter((item) => item.type === 'error'));

/** A settlement batch's payout tree (OpenZeppelin StandardMerkleTree over (address, uint256)). */
export interface PayoutTree {
  root: Hex;
  /** The proof for `provider`'s leaf (throws if it has none). */
  proof(provider: Address): Hex[];
  /** The amount of `provider`'s leaf. */
  amount(provider: Address): bigint;
  /** Leaves in tree order. */
  payouts: ReadonlyArray<readonly [Address, bigint]>;
}

/** Builds a payout tree the way the gateway does. Providers must be distinct. */
export function payoutTree(payouts: ReadonlyArray<readonly [Address, bigint]>): PayoutTree {
  const tree = StandardMerkleTree.of(
    payouts.map(([a, v]) => [a, v.toString()]),
    ['address', 'uint256'],
  );
  const find = (provider: Address) => {
    for (const [i, [a, v]] of tree.entries()) {
      if ((a as string).toLowerCase() === provider.toLowerCase()) return { i, v: BigInt(v as string) };
    }
    throw new Error(`${provider} has no leaf in this tree`);
  };
  return {
    root: tree.root as Hex,
    proof: (provider) => tree.getProof(find(provider).i) as Hex[],
    amount: (provider) => find(provider).v,
    payouts,
  };
}

/** A job id as the gateway would derive it (any 32 bytes; tests use readable ones). */
export function jobId(label: string | number): Hex {
  const hex = Buffer.from(String(label)).toString('hex').slice(0, 64);
  return `0x${hex.padEnd(64, '0')}` as Hex;
}
