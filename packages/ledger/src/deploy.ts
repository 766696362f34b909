/**
 * Deploys Lode's contracts and wires their roles, with viem, on any EVM chain (the embedded one
 * or a JSON-RPC endpoint).
 *
 * @example
 * const ledger = await deployLedger(wallet, publicClient, { gateway: gatewayAccount.address });
 * ledgerAddressesSchema.parse(JSON.parse(JSON.stringify(ledger))); // round-trips as JSON
 */
import {
  encodeDeployData,
  encodeFunctionData,
  getAddress,
  getContractAddress,
  keccak256,
  parseEther,
  toHex,
  zeroAddress,
  type Abi,
  type Account,
  type Address,
  type Chain,
  type Hex,
  type PublicClient,
  type SendTransactionParameters,
  type TransactionReceipt,
  type Transport,
  type WalletClient,
} from 'viem';
import { z } from 'zod';
import { ledgerArtifacts } from './contracts.js';

/** Where the contracts of one deployment live. A plain JSON-safe object. */
export interface LedgerAddresses {
  chainId: number;
  token: Address;
  config: Address;
  staking: Address;
  escrow: Address;
  /** DeviceRegistry: device tokens, and where a registered device's payouts go. */
  registry: Address;
  timelock: Address;
  governor: Address;
  /** Block of the first deployment transaction: where indexers start reading events. */
  deployBlock: number;
}

const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'an 0x-prefixed 20-byte address') as unknown as z.ZodType<Address>;

/** Validates a `LedgerAddresses` read back from a file or the network. */
export const ledgerAddressesSchema = z.object({
  chainId: z.number().int().positive(),
  token: address,
  config: address,
  staking: address,
  escrow: address,
  registry: address,
  timelock: address,
  governor: address,
  deployBlock: z.number().int().nonnegative(),
});

/** One share of the initial supply beyond the treasury's, the operator's and the faucet's. */
export interface TokenAllocation {
  holder: Address;
  /** Token wei, more than zero. */
  amount: bigint;
  /** Receives the holder's votes from the first block; omit to leave them undelegated. */
  delegatee?: Address;
}

/**
 * Deployment settings; every one except `gateway` has a default (see DEFAULT_LEDGER_PARAMETERS).
 *
 * The initial supply is allocated on purpose: `operatorAllocation` to `operator` (delegated at
 * deployment, so that votes exist and the quorum is measured against them), `faucetReserve` to
 * `faucet` (the most a faucet can ever hand out: strictly below the quorum, checked before
 * anything is sent), any further `allocations`, and the rest to the timelock as the DAO's treasury.
 */
export interface DeployLedgerParameters {
  /** The gateway's account: gets JobEscrow's SETTLER_ROLE and Staking's SLASHER_ROLE. */
  gateway: Address;
  /** All tokens minted at deployment (the allocations below, the rest to the treasury). @default 1,000,000,000 LODE */
  initialSupply?: bigint;
  /** The network's operator: receives `operatorAllocation`. @default the deploying account */
  operator?: Address;
  /** Tokens for the operator, delegated at deployment. @default 200,000,000 LODE (20 %) */
  operatorAllocation?: bigint;
  /** Who votes with the operator's allocation from the first block. @default the operator itself */
  operatorDelegate?: Address;
  /** Holder of the faucet's reserve. @default the gateway (its faucet sends from its own account) */
  faucet?: Address;
  /**
   * Tokens a faucet can ever hand out: undelegated, held apart from the operator's allocation,
   * and strictly below the quorum at deployment (the supply only grows, so the quorum never falls
   * below it). The embedded chain's gateway asks for LOCAL_FAUCET_RESERVE.
   * @default 0 (no faucet)
   */
  faucetReserve?: bigint;
  /** Further allocations (a community pool, grants…), each optionally delegated. @default none */
  allocations?: readonly TokenAllocation[];
  /**
   * Receives scheduled emission. @default JobEscrow, which pays it out as availability rewards
   * (at most `availabilityPool` per epoch); the rest stays there unallocated.
   */
  rewardPool?: Address;
  /** Token wei emitted per second into the reward pool. @default 1 LODE */
  emissionRate?: bigint;
  /** The most emission can ever mint. @default 100,000,000 LODE */
  emissionCap?: bigint;
  /** Receives protocol fees and slashed stake. @default the timelock */
  treasury?: Address;
  /** Protocol fee in basis points of settled debits (max 2,000). @default 100 (1 %) */
  feeBps?: number;
  /** Own stake a provider needs to serve. @default 100 LODE */
  minStake?: bigint;
  /** Fraction of stake slashed per proven offence, basis points. @default 1,000 (10 %) */
  slashBps?: number;
  /** Seconds before unbonded stake can be withdrawn (>= challengeWindow). @default 60 */
  unbondingPeriod?: number;
  /** Seconds between the gateway's settlement batches (advisory). @default 10 */
  settlementPeriod?: number;
  /** Seconds a posted batch can be challenged or voided before it is final. @default 5 */
  challengeWindow?: number;
  /**
   * Seconds per availability epoch. @default 300 (3 challenges of ~0.5 s per slot: 0.5 % of a
   * device's time; a public network would use hours)
   */
  epochLength?: number;
  /** The most emission one epoch's availability rewards may use (token wei). @default 30 LODE */
  availabilityPool?: bigint;
  /** Availability challenges per registered device per epoch (0..1,000). @default 3 */
  challengeRate?: number;
  /** Seconds from proposing to the voting snapshot. @default 1 */
  votingDelay?: number;
  /** Seconds voting stays open. @default 30 */
  votingPeriod?: number;
  /** Votes (token wei) needed to propose; more than zero. @default 100,000 LODE */
  proposalThreshold?: bigint;
  /** Quorum, percent of total supply at the snapshot. @default 4 */
  quorumPercent?: number;
  /** Seconds a passed proposal waits in the timelock. @default 10 */
  timelockDelay?: number;
}

/**
 * Defaults for a local network (`lode up`, tests): windows of seconds, so a whole settlement and
 * governance cycle runs in about a minute. A public deployment should use days: for instance
 * challengeWindow 1 day, unbondingPeriod 14 days, settlementPeriod 1 hour, votingDelay 1 day,
 * votingPeriod 7 days, timelockDelay 2 days, proposalThreshold 1,000,000 LODE, and faucetReserve 0
 * (no faucet) — see docs/CONTRACTS.md.
 */
export const DEFAULT_LEDGER_PARAMETERS = {
  initialSupply: parseEther('1000000000'),
  operatorAllocation: parseEther('200000000'),
  faucetReserve: 0n,
  emissionRate: parseEther('1'),
  emissionCap: parseEther('100000000'),
  feeBps: 100,
  minStake: parseEther('100'),
  slashBps: 1_000,
  unbondingPeriod: 60,
  settlementPeriod: 10,
  challengeWindow: 5,
  epochLength: 300,
  availabilityPool: parseEther('30'),
  challengeRate: 3,
  votingDelay: 1,
  votingPeriod: 30,
  proposalThreshold: parseEther('100000'),
  quorumPercent: 4,
  timelockDelay: 10,
} as const satisfies Omit<Required<DeployLedgerParameters>, 'gateway' | 'operator' | 'operatorDelegate' | 'faucet' | 'allocations' | 'rewardPool' | 'treasury'>;

/** Role ids, as the contracts compute them. */
export const ROLES = {
  DEFAULT_ADMIN: `0x${'00'.repeat(32)}` as Hex,
  SETTLER: keccak256(toHex('SETTLER_ROLE')),
  SLASHER: keccak256(toHex('SLASHER_ROLE')),
  PROPOSER: keccak256(toHex('PROPOSER_ROLE')),
  EXECUTOR: keccak256(toHex('EXECUTOR_ROLE')),
  CANCELLER: keccak256(toHex('CANCELLER_ROLE')),
} as const;

/** A deployment transaction that did not succeed. */
export class LedgerDeployError extends Error {
  constructor(
    readonly step: string,
    readonly receipt?: TransactionReceipt,
    options?: { cause?: unknown },
  ) {
    super(`ledger deployment failed at "${step}"${receipt ? ` (transaction ${receipt.transactionHash} reverted)` : ''}`, options);
    this.name = 'LedgerDeployError';
  }
}

/**
 * The faucet reserve of a local network (the embedded chain): 10,000,000 LODE, 1 % of the default
 * supply — a quarter of the default quorum (4 %), 1,000 grants of the gateway's default 10,000 LODE.
 */
export const LOCAL_FAUCET_RESERVE = parseEther('10000000');

/** Deployment parameters that cannot make a safe ledger; nothing was sent. */
export class LedgerParametersError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LedgerParametersError';
  }
}

/** The quorum (token wei) right after deployment: quorumPercent of the initial supply. */
export function initialQuorum(p: { initialSupply: bigint; quorumPercent: number }): bigint {
  return (p.initialSupply * BigInt(p.quorumPercent)) / 100n;
}

/**
 * The initial supply, holder by holder, as LodeToken's constructor takes it (the timelock last,
 * with what the others leave). Throws LedgerParametersError when the parameters are unsafe: a
 * faucet reserve at or above the quorum (free money could then buy governance), a proposal
 * threshold of zero, allocations beyond the supply, a quorum outside 1–100 %.
 */
export function planAllocations(
  params: DeployLedgerParameters & { deployer: Address; timelock: Address },
): Array<{ holder: Address; amount: bigint; delegatee: Address }> {
  const p = { ...DEFAULT_LEDGER_PARAMETERS, ...stripUndefined(params) };
  if (!Number.isInteger(p.quorumPercent) || p.quorumPercent < 1 || p.quorumPercent > 100) {
    throw new LedgerParametersError(`quorumPercent must be a whole number from 1 to 100, got ${p.quorumPercent}.`);
  }
  if (p.proposalThreshold <= 0n) {
    throw new LedgerParametersError(
      'proposalThreshold must be more than zero: with no threshold anyone holding a single token wei can put proposals to a vote.',
    );
  }
  const quorum = initialQuorum(p);
  if (p.faucetReserve >= quorum) {
    throw new LedgerParametersError(
      `faucetReserve (${p.faucetReserve} wei) must be strictly below the quorum (${p.quorumPercent} % of ${p.initialSupply} = ${quorum} wei): otherwise the faucet's free tokens could pass a proposal alone.`,
    );
  }
  const operator = p.operator ?? params.deployer;
  const faucet = p.faucet ?? params.gateway;
  if (p.faucetReserve > 0n && faucet.toLowerCase() === operator.toLowerCase()) {
    throw new LedgerParametersError(
      `the faucet's reserve and the operator's allocation would both go to ${faucet}: a faucet sends from its holder's whole balance, so the reserve would no longer bound it. Name another operator (or faucet holder).`,
    );
  }
  const shares: Array<{ holder: Address; amount: bigint; delegatee: Address }> = [];
  if (p.operatorAllocation > 0n) shares.push({ holder: operator, amount: p.operatorAllocation, delegatee: p.operatorDelegate ?? operator });
  if (p.faucetReserve > 0n) shares.push({ holder: faucet, amount: p.faucetReserve, delegatee: zeroAddress });
  for (const a of p.allocations ?? []) {
    if (a.amount <= 0n) throw new LedgerParametersError(`the allocation to ${a.holder} must be more than zero.`);
    shares.push({ holder: a.holder, amount: a.amount, delegatee: a.delegatee ?? zeroAddress });
  }
  const allocated = shares.reduce((sum, a) => sum + a.amount, 0n);
  if (allocated > p.initialSupply) {
    throw new LedgerParametersError(`the allocations (${allocated} wei) exceed initialSupply (${p.initialSupply} wei).`);
  }
  if (allocated < p.initialSupply) shares.push({ holder: params.timelock, amount: p.initialSupply - allocated, delegatee: zeroAddress });
  return shares;
}

/**
 * Deploys TimelockController, LodeToken, ProtocolConfig, Staking, DeviceShares (the clone
 * template), DeviceRegistry, JobEscrow and LodeGovernor
 * from the wallet's account, then wires them: the gateway gets SETTLER_ROLE (escrow) and
 * SLASHER_ROLE (staking); the governor is the timelock's only proposer and canceller and anyone
 * may execute; the timelock owns ProtocolConfig and is the only admin of every role (the
 * deploying account keeps no power). The supply is allocated as `planAllocations` says, checked
 * before the first transaction. Transactions are sent one after another, each waited for.
 *
 * @returns the addresses, the chain id and the first deployment block
 * @throws LedgerParametersError (before sending anything) for unsafe parameters
 * @throws LedgerDeployError when a transaction reverts
 */
export async function deployLedger<chain extends Chain | undefined>(
  walletClient: WalletClient<Transport, chain, Account>,
  publicClient: PublicClient,
  params: DeployLedgerParameters,
): Promise<LedgerAddresses> {
  const p = { ...DEFAULT_LEDGER_PARAMETERS, ...stripUndefined(params) };
  const account = walletClient.account;
  // Checked before any gas is spent (the timelock's address is not known yet: a placeholder).
  planAllocations({ ...params, deployer: account.address, timelock: zeroAddress });
  const chainId = await publicClient.getChainId();
  let deployBlock: bigint | undefined;

  const send = async (step: string, to: Address | undefined, data: Hex): Promise<TransactionReceipt> => {
    let receipt: TransactionReceipt;
    try {
      const hash = await walletClient.sendTransaction({ account, chain: walletClient.chain, to, data } as SendTransactionParameters);
      receipt = await publicClient.waitForTransactionReceipt({ hash });
    } catch (error) {
      throw new LedgerDeployError(step, undefined, { cause: error });
    }
    if (receipt.status !== 'success') throw new LedgerDeployError(step, receipt);
    deployBlock ??= receipt.blockNumber;
    return receipt;
  };
  const deploy = async (name: keyof typeof ledgerArtifacts, args: readonly unknown[]): Promise<Address> => {
    const { abi, bytecode } = ledgerArtifacts[name];
    const receipt = await send(`deploy ${name}`, undefined, encodeDeployData({ abi: abi as Abi, bytecode, args }));
    if (!receipt.contractAddress) throw new LedgerDeployError(`deploy ${name}`, receipt);
    return getAddress(receipt.contractAddress);
  };
  const call = (step: string, to: Address, abi: Abi, functionName: string, args: readonly unknown[]) =>
    send(step, to, encodeFunctionData({ abi, functionName, args }));

  const deployer = account.address;
  // JobEscrow is the default reward pool, but LodeToken fixes its pool at construction, before
  // the escrow exists: the escrow's address is known from the deployer's nonce (six transactions
  // on), and checked once it is deployed.
  const nonce = await publicClient.getTransactionCount({ address: deployer, blockTag: 'pending' });
  const plannedEscrow = getContractAddress({ from: deployer, nonce: BigInt(nonce + 6) });
  const timelock = await deploy('TimelockController', [BigInt(p.timelockDelay), [], [zeroAddress], deployer]);
  const token = await deploy('LodeToken', [planAllocations({ ...params, deployer, timelock }), p.rewardPool ?? plannedEscrow, p.emissionRate, p.emissionCap]);
  const config = await deploy('ProtocolConfig', [
    timelock,
    {
      feeBps: p.feeBps,
      slashBps: p.slashBps,
      unbondingPeriod: BigInt(p.unbondingPeriod),
      settlementPeriod: BigInt(p.settlementPeriod),
      challengeWindow: BigInt(p.challengeWindow),
      minStake: p.minStake,
      treasury: p.treasury ?? timelock,
      epochLength: BigInt(p.epochLength),
      availabilityPool: p.availabilityPool,
      challengeRate: p.challengeRate,
    },
  ]);
  const staking = await deploy('Staking', [token, config, deployer]);
  const sharesImplementation = await deploy('DeviceShares', []);
  const registry = await deploy('DeviceRegistry', [token, sharesImplementation]);
  const escrow = await deploy('JobEscrow', [token, config, staking, registry, deployer]);
  if (escrow !== plannedEscrow && p.rewardPool === undefined) {
    throw new LedgerDeployError(
      `deploy JobEscrow: it landed at ${escrow}, not at ${plannedEscrow} where LodeToken sends emission (did another transaction from ${deployer} run meanwhile?)`,
    );
  }
  const governor = await deploy('LodeGovernor', [token, timelock, p.votingDelay, p.votingPeriod, p.proposalThreshold, BigInt(p.quorumPercent)]);

  const timelockAbi = ledgerArtifacts.TimelockController.abi as Abi;
  await call('timelock: governor proposes', timelock, timelockAbi, 'grantRole', [ROLES.PROPOSER, governor]);
  await call('timelock: governor cancels', timelock, timelockAbi, 'grantRole', [ROLES.CANCELLER, governor]);
  await call('timelock: deployer renounces admin', timelock, timelockAbi, 'renounceRole', [ROLES.DEFAULT_ADMIN, deployer]);

  const escrowAbi = ledgerArtifacts.JobEscrow.abi as Abi;
  await call('escrow: gateway settles', escrow, escrowAbi, 'grantRole', [ROLES.SETTLER, params.gateway]);
  await call('escrow: timelock administers', escrow, escrowAbi, 'grantRole', [ROLES.DEFAULT_ADMIN, timelock]);
  await call('escrow: deployer renounces admin', escrow, escrowAbi, 'renounceRole', [ROLES.DEFAULT_ADMIN, deployer]);

  const stakingAbi = ledgerArtifacts.Staking.abi as Abi;
  await call('staking: gateway slashes', staking, stakingAbi, 'grantRole', [ROLES.SLASHER, params.gateway]);
  await call('staking: timelock administers', staking, stakingAbi, 'grantRole', [ROLES.DEFAULT_ADMIN, timelock]);
  await call('staking: deployer renounces admin', staking, stakingAbi, 'renounceRole', [ROLES.DEFAULT_ADMIN, deployer]);

  return { chainId, token, config, staking, escrow, registry, timelock, governor, deployBlock: Number(deployBlock ?? 0n) };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
