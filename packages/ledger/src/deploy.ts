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
  timelock: address,
  governor: address,
  deployBlock: z.number().int().nonnegative(),
});

/** Deployment settings; every one except `gateway` has a default (see DEFAULT_LEDGER_PARAMETERS). */
export interface DeployLedgerParameters {
  /** The gateway's account: gets JobEscrow's SETTLER_ROLE and Staking's SLASHER_ROLE. */
  gateway: Address;
  /** Receives the initial supply. @default the deploying account */
  initialHolder?: Address;
  /** @default 1,000,000,000 LODE */
  initialSupply?: bigint;
  /** Receives scheduled emission. @default the timelock (the DAO treasury) */
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
  /** Seconds from proposing to the voting snapshot. @default 1 */
  votingDelay?: number;
  /** Seconds voting stays open. @default 30 */
  votingPeriod?: number;
  /** Votes (token wei) needed to propose. @default 0 */
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
 * votingPeriod 7 days, timelockDelay 2 days, proposalThreshold 100,000 LODE.
 */
export const DEFAULT_LEDGER_PARAMETERS = {
  initialSupply: parseEther('1000000000'),
  emissionRate: parseEther('1'),
  emissionCap: parseEther('100000000'),
  feeBps: 100,
  minStake: parseEther('100'),
  slashBps: 1_000,
  unbondingPeriod: 60,
  settlementPeriod: 10,
  challengeWindow: 5,
  votingDelay: 1,
  votingPeriod: 30,
  proposalThreshold: 0n,
  quorumPercent: 4,
  timelockDelay: 10,
} as const satisfies Omit<Required<DeployLedgerParameters>, 'gateway' | 'initialHolder' | 'rewardPool' | 'treasury'>;

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
 * Deploys TimelockController, LodeToken, ProtocolConfig, Staking, JobEscrow and LodeGovernor
 * from the wallet's account, then wires them: the gateway gets SETTLER_ROLE (escrow) and
 * SLASHER_ROLE (staking); the governor is the timelock's only proposer and canceller and anyone
 * may execute; the timelock owns ProtocolConfig and is the only admin of every role (the
 * deploying account keeps no power). Transactions are sent one after another, each waited for.
 *
 * @returns the addresses, the chain id and the first deployment block
 * @throws LedgerDeployError when a transaction reverts
 */
export async function deployLedger<chain extends Chain | undefined>(
  walletClient: WalletClient<Transport, chain, Account>,
  publicClient: PublicClient,
  params: DeployLedgerParameters,
): Promise<LedgerAddresses> {
  const p = { ...DEFAULT_LEDGER_PARAMETERS, ...stripUndefined(params) };
  const account = walletClient.account;
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
  const timelock = await deploy('TimelockController', [BigInt(p.timelockDelay), [], [zeroAddress], deployer]);
  const token = await deploy('LodeToken', [
    p.initialHolder ?? deployer,
    p.initialSupply,
    p.rewardPool ?? timelock,
    p.emissionRate,
    p.emissionCap,
  ]);
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
    },
  ]);
  const staking = await deploy('Staking', [token, config, deployer]);
  const escrow = await deploy('JobEscrow', [token, config, staking, deployer]);
  const governor = await deploy('LodeGovernor', [
    token,
    timelock,
    p.votingDelay,
    p.votingPeriod,
    p.proposalThreshold,
    BigInt(p.quorumPercent),
  ]);

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

  return { chainId, token, config, staking, escrow, timelock, governor, deployBlock: Number(deployBlock ?? 0n) };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
