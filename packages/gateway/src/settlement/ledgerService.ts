/**
 * Long because it is the gateway's one facade over the chain (open, escrow, stake, slash, faucet,
 * payouts, batches, info); each concern below is short.
 *
 * The gateway's ledger: the chain it settles on (embedded or JSON-RPC), the deployed contracts,
 * the gateway's settlement account, and what the rest of the gateway asks of them — is this job's
 * escrow enough, may this node serve, pay out the receipts, refund ended jobs.
 *
 * Lifecycle: `openLedger()` connects (and on an empty embedded chain deploys the contracts),
 * `start()` resumes unfinished chain transactions and starts settlement, `stop()` finishes the
 * settlement round in progress and closes the embedded chain.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import {
  createPublicClient,
  createWalletClient,
  custom,
  decodeEventLog,
  encodeFunctionData,
  http,
  parseEther,
  type Hex,
  type LocalAccount,
  type PublicClient,
  type Transport,
} from 'viem';
import {
  ChainWorker,
  LOCAL_FAUCET_RESERVE,
  deployLedger,
  jobEscrowAbi,
  ledgerAddressesSchema,
  protocolConfigAbi,
  protocolParamsOf,
  stakingAbi,
  type LedgerAddresses,
  type ProtocolParams,
} from '@lode/ledger';
import {
  InsufficientEscrowError,
  LedgerUnavailableError,
  StakeRequiredError,
  ESCROW_MIN_MARGIN_MS,
  escrowCoversDeadline,
  escrowJobId,
  maxJobCost,
  type BatchesView,
  type FaucetView,
  type JobSpec,
  type LedgerInfoView,
  type PayoutsView,
} from '@lode/protocol';
import { loadOrCreateAccount } from '@lode/keystore';
import type { GatewayConfig } from '../config.js';
import type { Clock } from '../clock.js';
import type { EscrowState, SenderFence, Store } from '../store/types.js';
import { NotSenderError } from '../store/errors.js';
import { Faucet, type FaucetSettings } from './faucet.js';
import { TxOutbox } from './outbox.js';
import { MAX_BACKOFF_MS, Settlement, revertErrorName } from './settlement.js';
import { proofFor } from './plan.js';

/** How often a gateway asks an external chain whether it answers (`probe`), and how long it waits. */
export const CHAIN_PROBE_EVERY_MS = 5000;
const CHAIN_PROBE_TIMEOUT_MS = 4000;

/** The fence of a cluster gateway that is not the settler: it records (and sends) nothing. */
const NOT_SENDER: SenderFence = async () => false;

/** Gas money the embedded chain gives the gateway's account at genesis (it funds the faucet). */
const GENESIS_ETH = parseEther('1000000000');
/** Gas money the embedded chain gives the operator's account at genesis (to vote and propose). */
const OPERATOR_GENESIS_ETH = parseEther('1000');

export interface LedgerDeps {
  config: GatewayConfig;
  store: Store;
  log: Logger;
  clock: Clock;
}

export class GatewayLedger {
  private readonly settlement: Settlement;
  private readonly outbox: TxOutbox;
  private readonly faucetService: Faucet;
  private clustered = false;
  /** Why the chain cannot be used now (its last probe failed: `/healthz` answers 503), or undefined. */
  problem: string | undefined;
  private prober: PublicClient | undefined;

  private constructor(
    private readonly d: LedgerDeps,
    readonly mode: 'embedded' | 'rpc',
    readonly client: PublicClient,
    readonly account: LocalAccount,
    readonly addresses: LedgerAddresses,
    readonly chainId: number,
    private readonly chain: ChainWorker | undefined,
  ) {
    this.outbox = new TxOutbox({ store: d.store.ledger, client, account, chainId, log: d.log, now: () => d.clock.now() });
    this.settlement = new Settlement({
      store: d.store,
      client,
      escrow: addresses.escrow,
      outbox: this.outbox,
      log: d.log,
      now: () => d.clock.now(),
      maxBatchReceipts: d.config.maxBatchReceipts,
      params: () => this.params(),
    });
    const limits = d.config.faucetLimits;
    this.faucetService = new Faucet(
      { store: d.store.ledger, client, account, addresses, log: d.log, now: () => d.clock.now(), withAccount: (fn) => this.outbox.withAccount(fn) },
      { perAddress: limits.perAddress, perIp: limits.perIp, total: limits.total, grantLode: BigInt(limits.grantLode), grantEth: BigInt(limits.grantEth) },
    );
  }

  /** Connects to the configured chain; on an empty embedded chain, deploys the contracts first. */
  static async open(d: LedgerDeps): Promise<GatewayLedger> {
    const { config, log } = d;
    const { account } = await loadOrCreateAccount(join(config.dataDir, 'gateway'), { create: true, log });
    let chain: ChainWorker | undefined;
    let transport: Transport;
    let operator: Hex | undefined;
    if (config.ledger === 'embedded') {
      const chainDir = join(config.dataDir, 'chain');
      // A new chain: the operator (the data dir's own account unless named) gets gas at genesis
      // and the operator's allocation of LODE, delegated, when the contracts are deployed.
      if (!existsSync(join(chainDir, 'chain.log')))
        operator = (config.ledgerParams.operator as Hex | undefined) ?? (await loadOrCreateAccount(config.dataDir, { create: true, log })).address;
      // In a worker thread: EVM execution never holds this process's HTTP and WebSocket work.
      chain = await ChainWorker.open({
        dataDir: chainDir,
        publicBudgetMs: config.rpcBudgetMs,
        onError: (err, restarted) =>
          log.error({ err, restarted }, restarted ? 'the chain worker failed; started again from its log' : 'the chain worker failed'),
        accounts: [
          { address: account.address, balance: GENESIS_ETH },
          ...(operator !== undefined && operator.toLowerCase() !== account.address.toLowerCase() ? [{ address: operator, balance: OPERATOR_GENESIS_ETH }] : []),
        ],
      });
      // No retries: a revert is an answer, not a transport failure (viem would retry it with backoff).
      transport = custom(chain, { retryCount: 0 });
    } else {
      if (!config.rpcUrl) throw new Error('ledger "rpc" needs rpcUrl (--rpc-url URL)');
      transport = http(config.rpcUrl, { retryCount: 2, timeout: 20_000 });
    }
    const client = createPublicClient({ transport, pollingInterval: 250 }) as PublicClient;
    try {
      const chainId = await client.getChainId();
      const addresses = await resolveAddresses(d, client, account, transport, chainId, chain, operator);
      const ledger = new GatewayLedger(d, config.ledger === 'embedded' ? 'embedded' : 'rpc', client, account, addresses, chainId, chain);
      log.info({ mode: ledger.mode, chainId, escrow: addresses.escrow, gateway: account.address }, 'ledger ready');
      return ledger;
    } catch (err) {
      await chain?.close();
      throw err;
    }
  }

  /**
   * Asks an external chain for its block number, with a short timeout of its own: a chain that
   * does not answer makes `problem` say so (logged once, when it starts) until one answers again.
   * The embedded chain runs in this process: nothing to probe.
   */
  async probe(): Promise<void> {
    const url = this.d.config.rpcUrl;
    if (this.mode !== 'rpc' || !url) return;
    // Its own client: the ledger's retries and 20 s timeout suit transactions, not a liveness check.
    this.prober ??= createPublicClient({ transport: http(url, { timeout: CHAIN_PROBE_TIMEOUT_MS, retryCount: 0 }) });
    try {
      await this.prober.getBlockNumber({ cacheTime: 0 });
      if (this.problem) this.d.log.info({ rpcUrl: url }, 'the chain answers again');
      this.problem = undefined;
    } catch (err) {
      const why = (err as { shortMessage?: string }).shortMessage ?? (err as Error).message;
      if (!this.problem) this.d.log.error({ rpcUrl: url, err }, 'the chain does not answer: no settlement, stake checks or faucet until it does');
      this.problem = `the chain at ${url} does not answer (${why}); settlement waits, and this gateway asks again every ${CHAIN_PROBE_EVERY_MS / 1000} s`;
    }
  }

  async start(): Promise<void> {
    if (this.clustered) return; // the cluster's settler role starts settlement (lead)
    await this.outbox.resume();
    this.settlement.start(await this.intervalMs());
  }

  async stop(): Promise<void> {
    await this.settlement.stop();
    await this.chain?.close();
  }

  /**
   * This gateway is one of a cluster on one database and one account: it sends chain
   * transactions (settlement, slashes, the faucet) only while it holds the settler role
   * (`lead`), never from `start`. Call before `start`.
   */
  joinCluster(): void {
    this.clustered = true;
    this.outbox.fence = NOT_SENDER;
  }

  /** Whether this gateway sends the chain transactions now (always, outside a cluster). */
  get leading(): boolean {
    return !this.clustered || this.outbox.fence !== NOT_SENDER;
  }

  /**
   * This gateway became the cluster's settler: `fence` says, inside each recording transaction,
   * whether it still is. Sends what the previous settler left pending, then settles every period.
   */
  async lead(fence: SenderFence): Promise<void> {
    this.outbox.fence = fence;
    // A chain that does not answer now: the rounds send what is pending (sendOnce awaits it) and retry.
    await this.outbox.resume().catch((err: unknown) => this.d.log.error({ err }, 'could not resend pending chain transactions; settlement rounds will'));
    this.settlement.start(await this.intervalMs().catch(() => MAX_BACKOFF_MS));
  }

  /** This gateway is no longer the settler: nothing more is recorded or sent; the round in progress ends. */
  async follow(): Promise<void> {
    this.outbox.fence = NOT_SENDER;
    await this.settlement.stop();
  }

  /** Runs one settlement round now (tests, `lode up` shutdown); nothing on a gateway that does not settle. */
  settleNow(): Promise<void> {
    return this.leading ? this.settlement.runOnce() : Promise.resolve();
  }

  private async intervalMs(): Promise<number> {
    return this.d.config.settlementIntervalMs ?? (await this.params()).settlementPeriod * 1000;
  }

  /**
   * JSON-RPC for the embedded chain (`POST /rpc`) from a client (an IP, or an IPv6 /64); its
   * calls take turns with other clients' behind the gateway's own. Undefined with an external chain.
   */
  get rpc(): ((body: unknown, from: { client: string }) => Promise<unknown>) | undefined {
    const chain = this.chain;
    return chain ? (body, from) => chain.handleJsonRpc(body, from) : undefined;
  }

  /** `POST /rpc` requests per client per minute. */
  get rpcPerMinute(): number {
    return this.d.config.rpcPerMinute;
  }

  get faucetEnabled(): boolean {
    return this.d.config.faucet ?? this.mode === 'embedded';
  }

  async params(): Promise<ProtocolParams> {
    return protocolParamsOf(
      await this.read(() => this.client.readContract({ address: this.addresses.config, abi: protocolConfigAbi, functionName: 'parameters' })),
    );
  }

  /**
   * The escrow state a new job starts in: 'none' for a free job, 'open' when JobEscrow holds
   * enough for it. Throws InsufficientEscrowError saying what to deposit otherwise.
   */
  async checkEscrow(jobId: string, spec: JobSpec): Promise<EscrowState> {
    const cost = maxJobCost(spec);
    if (cost === 0n) return 'none';
    const key = escrowJobId(jobId);
    const [requester, balance, expiresAt, closed] = await this.read(() =>
      this.client.readContract({ address: this.addresses.escrow, abi: jobEscrowAbi, functionName: 'escrowOf', args: [key] }),
    );
    const how = `Deposit with \`lode run\` (it escrows for you), or JobEscrow.deposit(${key}, amount, expiresAt) at ${this.addresses.escrow} on chain ${this.chainId}.`;
    const meta = { jobId, escrowKey: key, required: cost.toString(), balance: balance.toString() };
    if (requester.toLowerCase() !== spec.requester.toLowerCase()) {
      throw new InsufficientEscrowError(
        requester === '0x0000000000000000000000000000000000000000'
          ? `Job ${jobId} can cost up to ${cost} (tasks × executions its verification allows × the most one execution costs) but has no escrow. ${how}`
          : `The escrow for job ${jobId} belongs to ${requester}, not to the requester ${spec.requester}.`,
        { meta },
      );
    }
    if (closed) throw new InsufficientEscrowError(`The escrow for job ${jobId} is closed (refunded). Submit a new job.`, { meta });
    if (balance < cost) {
      throw new InsufficientEscrowError(`Job ${jobId} can cost up to ${cost} but its escrow holds ${balance}: deposit ${cost - balance} more. ${how}`, {
        meta,
      });
    }
    if (!escrowCoversDeadline(expiresAt, spec.deadline)) {
      throw new InsufficientEscrowError(
        `The escrow for job ${jobId} expires before the job's deadline plus ${ESCROW_MIN_MARGIN_MS / 60_000} minutes for settlement. Deposit again with a later expiresAt.`,
        { meta: { ...meta, expiresAt: Number(expiresAt) } },
      );
    }
    return 'open';
  }

  /** Throws StakeRequiredError unless `provider` has the minimum stake. */
  async checkStake(provider: string): Promise<void> {
    const eligible = await this.read(() =>
      this.client.readContract({ address: this.addresses.staking, abi: stakingAbi, functionName: 'isEligible', args: [provider as Hex] }),
    );
    if (eligible) return;
    const { minStake } = await this.params();
    throw new StakeRequiredError(
      `Node ${provider} has less than the minimum stake of ${minStake} (${Number(minStake) / 1e18} LODE). Stake with \`lode stake add <amount>\` from the node's account, then reconnect.`,
      { meta: { provider, minStake: minStake.toString() } },
    );
  }

  /**
   * Slashes `provider` for one proven offence: `Staking.slashAmountFor` (its bonded and
   * unbonding stake × slashBps), sent once per evidence hash through the outbox (a restart
   * re-sends the same transaction; the contract refuses a second slash for the same evidence).
   * Resolves to what was taken, or throws `SlashRefusedError` with the contract's reason
   * (`NothingToSlash` for a node without stake).
   */
  async slash(provider: string, evidenceHash: Hex): Promise<{ slashed: bigint; txHash: Hex }> {
    const amount = await this.read(() =>
      this.client.readContract({ address: this.addresses.staking, abi: stakingAbi, functionName: 'slashAmountFor', args: [provider as Hex] }),
    );
    if (amount === 0n) throw new SlashRefusedError('NothingToSlash');
    const data = encodeFunctionData({ abi: stakingAbi, functionName: 'slash', args: [provider as Hex, amount, evidenceHash] });
    const receipt = await this.outbox.sendOnce('slash', `${provider.toLowerCase()}:${evidenceHash}`, { to: this.addresses.staking, data });
    if (receipt.status !== 'success') {
      let reason = 'reverted';
      try {
        await this.client.call({ account: this.outbox.address, to: this.addresses.staking, data });
      } catch (err) {
        reason = revertErrorName(err, stakingAbi) ?? reason;
      }
      throw new SlashRefusedError(reason, receipt.transactionHash);
    }
    for (const log of receipt.logs) {
      if (log.address.toLowerCase() !== this.addresses.staking.toLowerCase()) continue;
      try {
        const event = decodeEventLog({ abi: stakingAbi, data: log.data, topics: log.topics });
        if (event.eventName === 'Slashed') return { slashed: event.args.amount, txHash: receipt.transactionHash };
      } catch {
        // another event
      }
    }
    return { slashed: 0n, txHash: receipt.transactionHash };
  }

  /**
   * Sends one faucet grant (test gas and LODE) to `address` from the gateway's account, for a
   * request from `from.ip`; throws FaucetLimitError past a limit (see settlement/faucet.ts). Whether
   * the faucet is served at all is `faucetEnabled` (the routes check it).
   */
  faucet(address: Hex, from: { ip: string }): Promise<FaucetView> {
    if (!this.leading) return Promise.reject(new NotSenderError());
    return this.faucetService.grant(address, from.ip);
  }

  /** The faucet's grant and limits, for GET /v1/ledger and the docs. */
  get faucetSettings(): FaucetSettings {
    return this.faucetService.settings;
  }

  /** A provider's payouts, with proofs and whether each is claimed yet. */
  async payouts(provider: Hex, range: { from?: number; to?: number } = {}): Promise<PayoutsView> {
    const rows = await this.d.store.ledger.payoutsOf(provider, range);
    const totals = { gross: 0n, fee: 0n, net: 0n, claimed: 0n, tasks: 0 };
    const payouts = await Promise.all(
      rows.map(async ({ payout, batch }) => {
        const claimed =
          batch.chainBatchId !== null && payout.amount > 0n
            ? await this.read(() =>
                this.client.readContract({
                  address: this.addresses.escrow,
                  abi: jobEscrowAbi,
                  functionName: 'isClaimed',
                  args: [batch.chainBatchId!, provider],
                }),
              )
            : false;
        totals.gross += payout.gross;
        totals.fee += payout.gross - payout.amount;
        totals.net += payout.amount;
        totals.tasks += payout.tasks;
        if (claimed) totals.claimed += payout.amount;
        return {
          batch: batch.id,
          chainBatchId: batch.chainBatchId?.toString() ?? null,
          status: batch.status,
          tasks: payout.tasks,
          gross: payout.gross.toString(),
          fee: (payout.gross - payout.amount).toString(),
          amount: payout.amount.toString(),
          createdAt: batch.createdAt,
          claimableAt: batch.finalAt === null ? null : batch.finalAt * 1000,
          claimed,
          proof: proofFor(batch.tree, provider)?.proof ?? [],
          txHash: batch.txHash,
        };
      }),
    );
    return {
      provider,
      payouts,
      totals: {
        gross: totals.gross.toString(),
        fee: totals.fee.toString(),
        net: totals.net.toString(),
        claimed: totals.claimed.toString(),
        tasks: totals.tasks,
      },
    };
  }

  /**
   * The latest settlement batches, newest first, at most `limit` (what the dashboard lists):
   * amounts as decimal strings, `finalAt` in ms (the chain's seconds × 1000) like `createdAt`.
   * The Merkle tree and the per-job debits stay on the gateway.
   */
  async batches(limit: number): Promise<BatchesView> {
    const all = await this.d.store.ledger.listBatches();
    return {
      batches: all
        .slice(-Math.max(0, limit))
        .reverse()
        .map((b) => ({
          id: b.id,
          status: b.status,
          receipts: b.receipts,
          total: b.total.toString(),
          fee: b.fee.toString(),
          jobs: b.debits.length,
          createdAt: b.createdAt,
          txHash: b.txHash,
          chainBatchId: b.chainBatchId?.toString() ?? null,
          finalAt: b.finalAt === null ? null : b.finalAt * 1000,
          error: b.error,
        })),
      count: all.length,
    };
  }

  async info(): Promise<LedgerInfoView> {
    const [p, unsettled, batches] = await Promise.all([this.params(), this.d.store.ledger.unsettled(), this.d.store.ledger.listBatches()]);
    const count = (s: string) => batches.filter((b) => b.status === s).length;
    return {
      mode: this.mode,
      chainId: this.chainId,
      rpcUrl: this.mode === 'rpc' ? (this.d.config.rpcUrl ?? null) : null,
      gateway: this.account.address,
      contracts: this.addresses,
      params: { ...p, minStake: p.minStake.toString(), availabilityPool: p.availabilityPool.toString() },
      faucet: this.faucetEnabled,
      settlement: {
        unsettledReceipts: unsettled.receipts,
        unsettledAmount: unsettled.amount.toString(),
        batches: { prepared: count('prepared'), posted: count('posted'), failed: count('failed') },
      },
    };
  }

  /** A chain read; a transport failure becomes LedgerUnavailableError (HTTP 503, retryable). */
  private async read<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw new LedgerUnavailableError(`The chain did not answer (${(err as Error).message.split('\n')[0]}). Try again shortly.`, { cause: err });
    }
  }

  /** Calldata helper for tests and tools. */
  static encodeClose(jobId: string): Hex {
    return encodeFunctionData({ abi: jobEscrowAbi, functionName: 'closeJob', args: [escrowJobId(jobId)] });
  }
}

/**
 * The contracts to use: a file from `lode ledger deploy` (rpc), or the embedded chain's own
 * deployment (`<dataDir>/ledger.json`), deploying on a fresh chain. Checks that code is there.
 */
async function resolveAddresses(
  d: LedgerDeps,
  client: PublicClient,
  account: LocalAccount,
  transport: Transport,
  chainId: number,
  chain: ChainWorker | undefined,
  operator: Hex | undefined,
): Promise<LedgerAddresses> {
  const { config, log } = d;
  const file = config.ledgerAddressesFile ?? join(config.dataDir, 'ledger.json');
  let addresses: LedgerAddresses | undefined;
  if (existsSync(file)) {
    addresses = ledgerAddressesSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
    if (addresses.chainId !== chainId) throw new Error(`${file} is for chain ${addresses.chainId}, but the chain is ${chainId}`);
  } else if (chain && (await client.getBlockNumber()) === 0n) {
    const wallet = createWalletClient({ account, transport });
    const p = config.ledgerParams;
    log.info('deploying the ledger contracts on the embedded chain');
    addresses = await deployLedger(wallet, client, {
      gateway: account.address,
      // The gateway's account holds only the faucet's reserve (below the quorum); the operator
      // holds votes; the timelock holds the treasury.
      operator: operator ?? (p.operator as Hex | undefined) ?? (await loadOrCreateAccount(config.dataDir, { create: true, log })).address,
      faucetReserve: LOCAL_FAUCET_RESERVE,
      votingDelay: p.votingDelay,
      votingPeriod: p.votingPeriod,
      timelockDelay: p.timelockDelay,
      proposalThreshold: p.proposalThreshold === undefined ? undefined : BigInt(p.proposalThreshold),
      feeBps: p.feeBps,
      minStake: p.minStake === undefined ? undefined : BigInt(p.minStake),
      challengeWindow: p.challengeWindow,
      unbondingPeriod: p.unbondingPeriod,
      settlementPeriod: p.settlementPeriod,
      epochLength: p.epochLength,
      availabilityPool: p.availabilityPool === undefined ? undefined : BigInt(p.availabilityPool),
      challengeRate: p.challengeRate,
    });
    writeFileSync(file, `${JSON.stringify(addresses, null, 2)}\n`);
  } else {
    throw new Error(
      chain
        ? `the embedded chain in ${join(config.dataDir, 'chain')} has blocks but ${file} is missing; restore it or remove the chain directory`
        : `no contract addresses: deploy with \`lode ledger deploy --rpc-url ${config.rpcUrl}\` and pass --ledger-addresses <file>`,
    );
  }
  const code = await client.getCode({ address: addresses.escrow });
  if (!code || code === '0x') throw new Error(`no JobEscrow contract at ${addresses.escrow} on chain ${chainId} (from ${file})`);
  return addresses;
}

/** The chain refused a slash; `reason` is Staking's custom error name when it has one. */
export class SlashRefusedError extends Error {
  constructor(
    readonly reason: string,
    readonly txHash?: Hex,
  ) {
    super(`slash refused: ${reason}`);
    this.name = 'SlashRefusedError';
  }
}
