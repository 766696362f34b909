/**
 * The gateway's faucet: test gas and LODE for local networks, bounded so that free money buys
 * neither governance nor stake at scale.
 *
 * Guarantees:
 * - Per rolling 24 hours: at most `perAddress` grants to one address, `perIp` to one client
 *   network (an IPv4 address; an IPv6 /64, since one host holds a whole /64) and `total` in all.
 *   The grants are rows in the store, so a restart (or a second gateway on the same database)
 *   keeps counting them. Loopback is a client like any other: `lode up` raises its limits
 *   explicitly for its own nodes.
 * - Over all time, what the faucet has handed out stays strictly below the governance quorum, and
 *   it sends only from the gateway account, which holds the reserve allocation and no other LODE
 *   (deployLedger checks reserve < quorum at deployment; this checks it again before each grant).
 * - A refusal is FaucetLimitError (HTTP 429) naming the limit and when to come back; nothing is
 *   sent. A grant whose transactions fail before any is sent does not count.
 * - Grants are sent one at a time (one account, one nonce sequence); at most FAUCET_MAX_WAITING
 *   requests wait their turn, more are refused at once (429).
 */
import { clientKey } from '../clientKey.js';
import type { Logger } from 'pino';
import { createWalletClient, custom, formatEther, type Hex, type LocalAccount, type PublicClient } from 'viem';
import { governorAbi, lodeTokenAbi, type LedgerAddresses } from '@lode/ledger';
import { FaucetLimitError, LedgerUnavailableError, type FaucetView } from '@lode/protocol';
import type { FaucetClaim, LedgerStore } from '../store/types.js';

/** The faucet's window: limits count grants of the last 24 hours. */
export const FAUCET_WINDOW_MS = 24 * 60 * 60 * 1000;
/** Faucet requests waiting for their turn, at most. */
export const FAUCET_MAX_WAITING = 64;
/** `POST /v1/ledger/faucet` requests per client per minute (refusals included). */
export const FAUCET_REQUESTS_PER_MINUTE = 30;

export interface FaucetSettings {
  /** LODE (wei) per grant. */
  grantLode: bigint;
  /** ETH (wei, for gas) per grant. */
  grantEth: bigint;
  /** Grants per address per window. */
  perAddress: number;
  /** Grants per client network per window. */
  perIp: number;
  /** Grants in all per window. */
  total: number;
}

export interface FaucetDeps {
  store: LedgerStore;
  client: PublicClient;
  account: LocalAccount;
  addresses: LedgerAddresses;
  log: Logger;
  now: () => number;
  /** Runs the grant's transactions alone among the account's senders (TxOutbox.withAccount). */
  withAccount: <T>(fn: () => Promise<T>) => Promise<T>;
}

export class Faucet {
  private queue: Promise<unknown> = Promise.resolve();
  private waiting = 0;

  constructor(
    private readonly d: FaucetDeps,
    readonly settings: FaucetSettings,
  ) {}

  /**
   * Sends one grant to `address` for a request from `ip`, or throws FaucetLimitError (a limit)
   * or LedgerUnavailableError (the chain failed; the grant does not count).
   */
  grant(address: Hex, ip: string): Promise<FaucetView> {
    if (this.waiting >= FAUCET_MAX_WAITING) {
      return Promise.reject(
        new FaucetLimitError(`The faucet is busy: ${FAUCET_MAX_WAITING} requests are waiting. Try again in a minute.`, {
          meta: { limit: 'busy', retryAt: this.d.now() + 60_000, retryAfterMs: 60_000 },
        }),
      );
    }
    this.waiting++;
    const run = this.queue.then(() => this.send(address, clientKey(ip))).finally(() => this.waiting--);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async send(address: Hex, client: string): Promise<FaucetView> {
    const { store, client: chain, account, addresses } = this.d;
    const { grantLode, grantEth } = this.settings;
    const [held, quorum] = await Promise.all([
      chain.readContract({ address: addresses.token, abi: lodeTokenAbi, functionName: 'balanceOf', args: [account.address] }),
      this.quorum(),
    ]);
    if (held < grantLode) {
      throw new FaucetLimitError(
        `The faucet's reserve is spent: it holds ${formatEther(held)} LODE and a grant is ${formatEther(grantLode)}. It is not refilled (its reserve was fixed at deployment, below the governance quorum); ask a LODE holder for a transfer (\`lode wallet transfer\`).`,
        { meta: { limit: 'reserve', held: held.toString(), grant: grantLode.toString() } },
      );
    }
    const now = this.d.now();
    const claim = await store.claimFaucetGrant(
      { address: address.toLowerCase(), client, lode: grantLode, eth: grantEth, now },
      {
        windowMs: FAUCET_WINDOW_MS,
        perAddress: this.settings.perAddress,
        perClient: this.settings.perIp,
        total: this.settings.total,
        maxTotalLode: quorum - 1n,
      },
    );
    if (!claim.granted) throw this.refusal(claim, address, client, now, quorum);

    const wallet = createWalletClient({ account, transport: custom(chain, { retryCount: 0 }) });
    const sent: Hex[] = [];
    try {
      // The gateway's account also posts settlement batches: its nonces are taken one sender at a time.
      await this.d.withAccount(async () => {
        const ethHash = await wallet.sendTransaction({ to: address, value: grantEth, chain: null });
        sent.push(ethHash);
        await chain.waitForTransactionReceipt({ hash: ethHash });
        const lodeHash = await wallet.writeContract({
          address: addresses.token,
          abi: lodeTokenAbi,
          functionName: 'transfer',
          args: [address, grantLode],
          chain: null,
        });
        sent.push(lodeHash);
        const receipt = await chain.waitForTransactionReceipt({ hash: lodeHash });
        if (receipt.status !== 'success') throw new LedgerUnavailableError(`The faucet's LODE transfer ${lodeHash} reverted.`);
      });
      await store.completeFaucetGrant(claim.id, sent);
      this.d.log.info({ address, client, lode: grantLode.toString() }, 'faucet grant');
      return { address, eth: grantEth.toString(), lode: grantLode.toString(), txHashes: sent };
    } catch (err) {
      // Nothing sent: the grant does not count. Something sent: it does (the address got gas).
      const settle = sent.length === 0 ? store.releaseFaucetGrant(claim.id) : store.completeFaucetGrant(claim.id, sent);
      await settle.catch((e: unknown) => this.d.log.error({ err: e, grant: claim.id }, 'faucet grant bookkeeping failed'));
      if (err instanceof FaucetLimitError || err instanceof LedgerUnavailableError) throw err;
      throw new LedgerUnavailableError(`The faucet could not send (${(err as Error).message.split('\n')[0]}). Try again shortly.`, { cause: err });
    }
  }

  /**
   * The quorum a proposal made now would face: the governor's fraction of today's supply (the
   * supply only grows, so no later snapshot has a smaller one).
   */
  private async quorum(): Promise<bigint> {
    const { client, addresses } = this.d;
    const [numerator, denominator, supply] = await Promise.all([
      client.readContract({ address: addresses.governor, abi: governorAbi, functionName: 'quorumNumerator' }),
      client.readContract({ address: addresses.governor, abi: governorAbi, functionName: 'quorumDenominator' }),
      client.readContract({ address: addresses.token, abi: lodeTokenAbi, functionName: 'totalSupply' }),
    ]);
    return (supply * numerator) / denominator;
  }

  private refusal(claim: Exclude<FaucetClaim, { granted: true }>, address: Hex, client: string, now: number, quorum: bigint): FaucetLimitError {
    const comeBack = claim.retryAt === null ? '' : ` Come back after ${new Date(claim.retryAt).toISOString()} (in ${inWords(claim.retryAt - now)}).`;
    const meta = {
      limit: claim.limit === 'client' ? 'ip' : claim.limit === 'lifetime' ? 'reserve' : claim.limit,
      count: claim.count,
      ...(claim.retryAt === null ? {} : { retryAt: claim.retryAt, retryAfterMs: Math.max(0, claim.retryAt - now) }),
    };
    switch (claim.limit) {
      case 'address':
        return new FaucetLimitError(
          `${address} has had its faucet grant${this.settings.perAddress === 1 ? '' : `s (${this.settings.perAddress})`} for the last 24 hours: the faucet gives each address ${this.settings.perAddress === 1 ? 'one grant' : `${this.settings.perAddress} grants`} a day.${comeBack}`,
          { meta },
        );
      case 'client':
        return new FaucetLimitError(
          `Your network (${client}) has had ${claim.count} faucet grants in the last 24 hours, the most the faucet gives one client (--faucet-per-ip-day ${this.settings.perIp}).${comeBack}`,
          { meta },
        );
      case 'total':
        return new FaucetLimitError(
          `The faucet has handed out its ${claim.count} grants for the last 24 hours, its daily cap (--faucet-per-day ${this.settings.total}).${comeBack} Or ask a LODE holder for a transfer.`,
          { meta },
        );
      case 'lifetime':
        return new FaucetLimitError(
          `The faucet has handed out all it ever will: another grant would bring its total to the governance quorum (${formatEther(quorum)} LODE), and free tokens must never be able to pass a vote. Ask a LODE holder for a transfer.`,
          { meta: { ...meta, quorum: quorum.toString() } },
        );
    }
  }
}

function inWords(ms: number): string {
  const minutes = Math.max(1, Math.ceil(ms / 60_000));
  return minutes < 60 ? `${minutes} min` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}
