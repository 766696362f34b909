/**
 * Auto-claim: the node collects what it earned. Every `intervalMs` it asks the gateway for its
 * payouts (the SDK's `getPayouts`), and claims every final, unclaimed one in a single
 * JobEscrow transaction signed with the node's own key (the contract pays only the provider
 * named in the Merkle leaf, so nobody else can claim for it).
 *
 * Guarantees: rounds never overlap; a gateway without a ledger (LEDGER_DISABLED) turns the
 * claimer off for the session; any other failure is reported as an `error` event and retried
 * next round — a payout never expires, so nothing is lost by waiting.
 */
import type { Logger } from 'pino';
import type { Hex, LocalAccount } from 'viem';
import { claimablePayouts, LedgerDisabledError } from '@lode/protocol';
import { Emitter, type Clock } from '@lode/provider';
import { createLodeClient, getLedgerInfo, getPayouts } from '@lode/sdk';

export interface ClaimerOptions {
  /** The gateway's HTTP origin. */
  /** The gateway's HTTP origin (for a node of a cluster: the one it is connected to now). */
  gatewayHttp: string | (() => string);
  account: LocalAccount;
  log: Logger;
  clock: Clock;
  /** @default 30 s */
  intervalMs?: number;
  /** Stake the claimed amount instead of receiving it. @default false */
  restake?: boolean;
}

export interface ClaimerEvents extends Record<string, unknown> {
  claimed: { amount: bigint; batches: number; txHash: Hex };
  error: Error;
}

export interface Claimer {
  start(): void;
  stop(): Promise<void>;
  /** One round now; resolves with what was claimed (null: nothing claimable, or no ledger). */
  runOnce(): Promise<ClaimerEvents['claimed'] | null>;
  on<K extends keyof ClaimerEvents>(event: K, fn: (payload: ClaimerEvents[K]) => void): () => void;
}

export const DEFAULT_CLAIM_INTERVAL_MS = 30_000;

export function createClaimer(o: ClaimerOptions): Claimer {
  const events = new Emitter<ClaimerEvents>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let round: Promise<unknown> = Promise.resolve();
  let disabled = false;
  let stopped = false;
  /** Cleared once the chain says this node is a registered device (its income is not the node's to restake). */
  let restake = true;

  async function claimOnce(): Promise<ClaimerEvents['claimed'] | null> {
    if (disabled) return null;
    const client = createLodeClient({ gateway: typeof o.gatewayHttp === 'function' ? o.gatewayHttp() : o.gatewayHttp, timeoutMs: 20_000 });
    let ledgerInfo: Awaited<ReturnType<typeof getLedgerInfo>>;
    try {
      ledgerInfo = await getLedgerInfo(client);
    } catch (err) {
      if (!(err instanceof LedgerDisabledError)) throw err;
      disabled = true;
      o.log.info('the gateway runs without a ledger; nothing to claim');
      return null;
    }
    const now = o.clock.now();
    const due = claimablePayouts((await getPayouts(client, { address: o.account.address })).payouts, now);
    if (due.length === 0) return null;
    const { createLedgerClient, claimPayouts, ledgerAddressesSchema } = await import('@lode/ledger/client');
    const ledger = createLedgerClient({
      rpcUrl: ledgerInfo.resolvedRpcUrl,
      addresses: ledgerAddressesSchema.parse({ ...ledgerInfo.contracts, chainId: ledgerInfo.chainId }),
      account: o.account,
    });
    const payouts = due.map((p) => ({ batchId: BigInt(p.chainBatchId!), amount: BigInt(p.amount), proof: p.proof as Hex[] }));
    let result: Awaited<ReturnType<typeof claimPayouts>>;
    try {
      result = await claimPayouts(ledger, { payouts, restake: restake && o.restake });
    } catch (err) {
      // A registered device's income belongs to its token's holder(s): it is paid to them, and
      // the node cannot restake it. Claim it for them instead, and stop asking to restake.
      if (!(restake && o.restake && (err as { meta?: { errorName?: string } }).meta?.errorName === 'DeviceIncomeNotRestakable')) throw err;
      restake = false;
      o.log.warn('this node is a registered device: its income goes to the device token’s holder and cannot be restaked; claiming without --restake');
      result = await claimPayouts(ledger, { payouts, restake: false });
    }
    if (!result.txHash) return null;
    const claimed = { amount: result.amount, batches: result.batches, txHash: result.txHash };
    o.log.info({ amount: claimed.amount.toString(), batches: claimed.batches, tx: claimed.txHash }, 'claimed payouts');
    events.emit('claimed', claimed);
    return claimed;
  }

  const runOnce = () => {
    const next = round.then(claimOnce);
    round = next.catch(() => undefined);
    return next;
  };

  const schedule = () => {
    if (stopped || disabled) return;
    timer = setTimeout(() => {
      runOnce()
        .catch((err: unknown) => {
          o.log.warn({ err }, 'claiming payouts failed; will retry');
          events.emit('error', err instanceof Error ? err : new Error(String(err)));
        })
        .finally(schedule);
    }, o.intervalMs ?? DEFAULT_CLAIM_INTERVAL_MS);
    timer.unref();
  };

  return {
    start: schedule,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await round;
    },
    runOnce,
    on: (event, fn) => events.on(event, fn),
  };
}
