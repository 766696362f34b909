/**
 * Settlement: every period, fold the receipts of accepted results into one batch, post its
 * Merkle root and per-job debits to JobEscrow in one transaction, refund the unspent escrow
 * of jobs that have ended, and send the protocol fee of final batches to the treasury.
 *
 * Guarantees (with the store's and the outbox's):
 * - A receipt is in exactly one batch, and a batch is posted by at most one transaction:
 *   no accepted task is paid twice. A crash between any two steps resumes where it stopped
 *   (prepared batches are posted at the next round; sent transactions are awaited, not re-made).
 * - A job's escrow is closed (refunded) only after it has ended and all its receipts are in
 *   posted batches: no accepted task goes unpaid because its escrow was refunded first.
 * - Rounds never overlap; `stop()` waits for the round in progress.
 */
import type { Logger } from 'pino';
import { decodeErrorResult, decodeEventLog, encodeFunctionData, type Abi, type Hex, type PublicClient, type TransactionReceipt } from 'viem';
import { jobEscrowAbi } from '@lode/ledger';
import { escrowJobId } from '@lode/protocol';
import type { SettlementBatch, Store } from '../store/types.js';
import type { TxOutbox } from './outbox.js';
import { planBatch } from './plan.js';

export interface SettlementOptions {
  store: Store;
  client: PublicClient;
  escrow: Hex;
  outbox: TxOutbox;
  log: Logger;
  now: () => number;
  maxBatchReceipts: number;
  params: () => Promise<{ feeBps: number }>;
}

export class Settlement {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private round: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(private readonly o: SettlementOptions) {}

  start(intervalMs: number): void {
    const loop = () => {
      if (this.stopped) return;
      this.timer = setTimeout(() => {
        void this.runOnce().finally(loop);
      }, intervalMs);
      this.timer.unref();
    };
    loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.round;
  }

  /** One round (posts prepared batches, makes new ones, closes ended jobs); rounds queue up. */
  runOnce(): Promise<void> {
    const next = this.round.then(() => this.settle());
    this.round = next.catch((err: unknown) => this.o.log.error({ err }, 'settlement round failed; retrying next round'));
    return next;
  }

  private async settle(): Promise<void> {
    const { store } = this.o;
    for (const batch of await store.ledger.listBatches('prepared')) await this.post(batch);
    for (;;) {
      const { feeBps } = await this.o.params();
      const batch = await store.ledger.createBatch(this.o.maxBatchReceipts, this.o.now(), (receipts) => planBatch(receipts, feeBps));
      if (!batch) break;
      await this.post(batch);
      if (batch.receipts < this.o.maxBatchReceipts) break;
    }
    for (const jobId of await store.ledger.jobsToClose(100)) await this.close(jobId);
    await this.sweepFees();
  }

  /**
   * Sends the protocol fee of final batches to the treasury (`JobEscrow.sweepFees`, callable by
   * anyone): up to 100 batches in one transaction per round, once each (the outbox's key and
   * the contract's FeesAlreadySwept both hold it).
   */
  private async sweepFees(): Promise<void> {
    const chainNow = Number((await this.o.client.getBlock()).timestamp);
    const due = await this.o.store.ledger.batchesToSweep(chainNow, 100);
    if (due.length === 0) return;
    const data = encodeFunctionData({ abi: jobEscrowAbi, functionName: 'sweepFees', args: [due.map((b) => b.chainBatchId)] });
    const receipt = await this.o.outbox.sendOnce('sweepFees', due.map((b) => b.id).join(','), { to: this.o.escrow, data });
    if (receipt.status === 'success') {
      await this.o.store.ledger.markFeesSwept(due.map((b) => b.id));
      this.o.log.info({ batches: due.length, tx: receipt.transactionHash }, 'protocol fees sent to the treasury');
      return;
    }
    const error = await this.revertReason(data);
    if (error === 'FeesAlreadySwept') {
      // Swept before (by anyone): find which, one at a time, next rounds.
      for (const b of due) {
        const one = encodeFunctionData({ abi: jobEscrowAbi, functionName: 'sweepFees', args: [[b.chainBatchId]] });
        if ((await this.revertReason(one)) === 'FeesAlreadySwept') await this.o.store.ledger.markFeesSwept([b.id]);
      }
      return;
    }
    this.o.log.error({ tx: receipt.transactionHash, error }, 'sweeping protocol fees reverted');
  }

  private async post(batch: SettlementBatch): Promise<void> {
    const args = [
      batch.root as Hex,
      batch.debits.map(([jobId]) => escrowJobId(jobId)),
      batch.debits.map(([, amount]) => amount),
    ] as const;
    const data = encodeFunctionData({ abi: jobEscrowAbi, functionName: 'postBatch', args });
    const receipt = await this.o.outbox.sendOnce('postBatch', String(batch.id), { to: this.o.escrow, data });
    if (receipt.status !== 'success') {
      const error = await this.revertReason(data);
      this.o.log.error({ batch: batch.id, tx: receipt.transactionHash, error }, 'settlement batch reverted; its receipts stay unpaid until resolved');
      await this.o.store.ledger.updateBatch(batch.id, { status: 'failed', txHash: receipt.transactionHash, error });
      return;
    }
    const posted = this.batchPosted(receipt);
    await this.o.store.ledger.updateBatch(batch.id, {
      status: 'posted',
      txHash: receipt.transactionHash,
      chainBatchId: posted.batchId,
      finalAt: Number(posted.finalAt),
    });
    this.o.log.info({ batch: batch.id, chainBatchId: posted.batchId.toString(), receipts: batch.receipts, total: batch.total.toString(), fee: batch.fee.toString() }, 'settlement batch posted');
  }

  private async close(jobId: string): Promise<void> {
    const data = encodeFunctionData({ abi: jobEscrowAbi, functionName: 'closeJob', args: [escrowJobId(jobId)] });
    const receipt = await this.o.outbox.sendOnce('closeJob', jobId, { to: this.o.escrow, data });
    if (receipt.status === 'success') {
      await this.o.store.ledger.setJobEscrow(jobId, 'closed');
      this.o.log.info({ jobId, tx: receipt.transactionHash }, 'job escrow closed; unspent escrow refunded');
      return;
    }
    const error = await this.revertReason(data);
    if (error === 'JobClosed') {
      // The requester closed it after it expired; nothing left to refund.
      await this.o.store.ledger.setJobEscrow(jobId, 'closed');
      return;
    }
    this.o.log.error({ jobId, tx: receipt.transactionHash, error }, 'closing a job escrow reverted');
  }

  private batchPosted(receipt: TransactionReceipt): { batchId: bigint; finalAt: number } {
    for (const log of receipt.logs) {
      if (log.address.toLowerCase() !== this.o.escrow.toLowerCase()) continue;
      try {
        const event = decodeEventLog({ abi: jobEscrowAbi, data: log.data, topics: log.topics });
        if (event.eventName === 'BatchPosted') return { batchId: event.args.batchId, finalAt: Number(event.args.finalAt) };
      } catch {
        // another event
      }
    }
    throw new Error(`postBatch transaction ${receipt.transactionHash} succeeded without a BatchPosted event`);
  }

  /** The custom error a call reverts with now (a reverted receipt carries no reason). */
  private async revertReason(data: Hex): Promise<string> {
    try {
      await this.o.client.call({ account: this.o.outbox.address, to: this.o.escrow, data });
      return 'reverted (it succeeds now)';
    } catch (err) {
      return revertErrorName(err) ?? (err as { shortMessage?: string }).shortMessage ?? String(err);
    }
  }
}

/** The contract's custom error name inside a viem call error (JobEscrow's by default), if there is one. */
export function revertErrorName(err: unknown, abi: Abi = jobEscrowAbi): string | undefined {
  for (let e = err as { data?: unknown; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    const data = typeof e.data === 'string' ? e.data : (e.data as { data?: unknown } | undefined)?.data;
    if (typeof data === 'string' && data.startsWith('0x') && data.length >= 10) {
      try {
        return decodeErrorResult({ abi, data: data as Hex }).errorName;
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}
