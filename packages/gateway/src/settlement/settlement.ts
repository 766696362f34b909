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
import { escrowJobId, jobIdOfEscrow } from '@lode/protocol';
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

/** The longest wait between settlement rounds after failures. @default 60 s */
export const MAX_BACKOFF_MS = 60_000;

export class Settlement {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private round: Promise<void> = Promise.resolve();
  private stopped = false;
  /** Which `start` the running loop belongs to: a loop of an earlier start ends by itself. */
  private generation = 0;

  constructor(private readonly o: SettlementOptions) {}

  /** Starts the rounds (again, after `stop`: a cluster's settler role may come back). */
  start(intervalMs: number): void {
    this.stopped = false;
    const generation = ++this.generation;
    let failures = 0;
    const loop = () => {
      if (this.stopped || generation !== this.generation) return;
      // After a failed round (the chain did not answer), wait longer each time, up to a minute.
      const delay = failures === 0 ? intervalMs : Math.min(intervalMs * 2 ** failures, Math.max(intervalMs, MAX_BACKOFF_MS));
      this.timer = setTimeout(() => {
        this.runOnce()
          .then(
            () => (failures = 0),
            () => (failures = Math.min(failures + 1, 16)), // logged by runOnce's own handler
          )
          .finally(loop);
      }, delay);
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
    // Until the receipts run out: a full batch leaves more behind, and a batch set aside put its
    // good receipts back (each set-aside holds at least one job, so this ends).
    for (;;) {
      const { feeBps } = await this.o.params();
      const batch = await store.ledger.createBatch(this.o.maxBatchReceipts, this.o.now(), (receipts) => planBatch(receipts, feeBps));
      if (!batch) break;
      const outcome = await this.post(batch);
      if (outcome === 'posted' && batch.receipts < this.o.maxBatchReceipts) break;
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

  /** Posts a prepared batch; 'set-aside' when jobs at fault were held and its other receipts released. */
  private async post(batch: SettlementBatch): Promise<'posted' | 'set-aside'> {
    if (batch.epoch !== null) return this.postReward(batch);
    const data = postBatchData(batch.root as Hex, batch.debits);
    let receipt: TransactionReceipt;
    try {
      receipt = await this.o.outbox.sendOnce('postBatch', String(batch.id), { to: this.o.escrow, data });
    } catch (err) {
      // Refused before it was sent (the gas estimate reverted): nothing is on chain.
      if (!(await this.setAsideOffenders(batch, 'its post would revert'))) throw err;
      return 'set-aside';
    }
    if (receipt.status !== 'success') {
      this.o.log.error({ batch: batch.id, tx: receipt.transactionHash }, 'settlement batch reverted on chain');
      if (await this.setAsideOffenders(batch, `its transaction ${receipt.transactionHash} reverted`)) return 'set-aside';
      // Nothing changed on chain and no job is at fault: its receipts go into a new batch, after a pause.
      await this.o.store.ledger.setAside(
        batch.id,
        [],
        '',
        `its transaction ${receipt.transactionHash} reverted; no job was at fault; its receipts go into the next batch`,
      );
      throw new Error(`settlement batch ${batch.id} reverted on chain (${receipt.transactionHash}) and no job was at fault`);
    }
    const posted = this.batchPosted(receipt);
    await this.o.store.ledger.updateBatch(batch.id, {
      status: 'posted',
      txHash: receipt.transactionHash,
      chainBatchId: posted.batchId,
      finalAt: Number(posted.finalAt),
    });
    this.o.log.info(
      { batch: batch.id, chainBatchId: posted.batchId.toString(), receipts: batch.receipts, total: batch.total.toString(), fee: batch.fee.toString() },
      'settlement batch posted',
    );
    return 'posted';
  }

  /**
   * Posts an availability epoch's reward batch (`postRewardBatch`, funded by emission). A refusal
   * leaves it prepared, tried again next round (EpochNotOver: the chain's clock is behind), or,
   * when it can never pass (EpochAlreadySettled, RewardAboveBudget), marks it failed, logged.
   */
  private async postReward(batch: SettlementBatch): Promise<'posted'> {
    const data = encodeFunctionData({ abi: jobEscrowAbi, functionName: 'postRewardBatch', args: [BigInt(batch.epoch!), batch.root as Hex, batch.total] });
    let receipt: TransactionReceipt;
    try {
      receipt = await this.o.outbox.sendOnce('postRewardBatch', String(batch.id), { to: this.o.escrow, data });
    } catch (err) {
      const refusal = revertErrorName(err) ?? (await this.revertReason(data));
      if (refusal === 'EpochAlreadySettled' || refusal === 'RewardAboveBudget') {
        await this.o.store.ledger.updateBatch(batch.id, { status: 'failed', error: `postRewardBatch refused: ${refusal}` });
        this.o.log.error({ batch: batch.id, epoch: batch.epoch, refusal }, 'availability reward batch refused for good');
        return 'posted';
      }
      throw err;
    }
    if (receipt.status !== 'success')
      throw new Error(`reward batch ${batch.id} reverted on chain (${receipt.transactionHash}): ${await this.revertReason(data)}`);
    const posted = this.batchPosted(receipt);
    await this.o.store.ledger.updateBatch(batch.id, {
      status: 'posted',
      txHash: receipt.transactionHash,
      chainBatchId: posted.batchId,
      finalAt: Number(posted.finalAt),
    });
    this.o.log.info(
      { batch: batch.id, epoch: batch.epoch, chainBatchId: posted.batchId.toString(), total: batch.total.toString() },
      'availability reward batch posted',
    );
    return 'posted';
  }

  /**
   * A batch that cannot be posted: finds the jobs whose escrow refuses their debit (the
   * contract names them: JobClosed, UnknownJob, InsufficientEscrow), simulating again without
   * each until the rest would post (at most one simulation per job), then sets the batch aside:
   * those jobs' receipts are held with the reason, the others go into the next batch. Returns
   * false when no job is at fault (the chain is unreachable, or the gateway lost its role):
   * the batch stays as it is and is tried again next round.
   */
  private async setAsideOffenders(batch: SettlementBatch, what: string): Promise<boolean> {
    const offenders = new Map<string, string>();
    let debits = batch.debits;
    for (let i = 0; i <= batch.debits.length && debits.length > 0; i++) {
      const refusal = await this.simulate(batch.root as Hex, debits);
      if (refusal === null) break;
      if (refusal === undefined || !refusal.jobId) {
        this.o.log.error(
          { batch: batch.id, error: refusal?.name ?? 'no answer' },
          'settlement batch cannot be posted and no job is at fault; trying again next round',
        );
        return false;
      }
      const jobId = jobIdOfEscrow(refusal.jobId);
      offenders.set(jobId, refusal.name);
      debits = debits.filter(([id]) => id !== jobId);
    }
    if (offenders.size === 0) return false;
    const reasons = [...offenders].map(([job, name]) => `${job}: ${name}`).join(', ');
    const { held, released } = await this.o.store.ledger.setAside(
      batch.id,
      [...offenders.keys()],
      `settlement refused by the job's escrow (${reasons})`,
      `${what}: set aside ${offenders.size} job(s) (${reasons}); its other receipts go into the next batch`,
    );
    this.o.log.warn(
      { batch: batch.id, jobs: Object.fromEntries(offenders), held, released },
      'settlement batch set aside: jobs whose escrow refused their debit are held, the rest settle next',
    );
    return true;
  }

  /**
   * Simulates `postBatch` (eth_call): null if it would succeed, the contract's refusal (with
   * the job it names, if any) if it would revert, undefined if the chain gave no usable answer.
   */
  private async simulate(root: Hex, debits: SettlementBatch['debits']): Promise<{ name: string; jobId?: Hex } | null | undefined> {
    try {
      await this.o.client.call({ account: this.o.outbox.address, to: this.o.escrow, data: postBatchData(root, debits) });
      return null;
    } catch (err) {
      const refusal = revertError(err);
      if (!refusal) return undefined;
      const jobId = JOB_ERRORS.has(refusal.name) ? (refusal.args[0] as Hex) : undefined;
      return { name: refusal.name, jobId };
    }
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

/** JobEscrow's errors whose first argument is the job (escrow key) at fault. */
const JOB_ERRORS = new Set(['JobClosed', 'UnknownJob', 'InsufficientEscrow']);

function postBatchData(root: Hex, debits: SettlementBatch['debits']): Hex {
  return encodeFunctionData({
    abi: jobEscrowAbi,
    functionName: 'postBatch',
    args: [root, debits.map(([jobId]) => escrowJobId(jobId)), debits.map(([, amount]) => amount)],
  });
}

/** The contract's custom error (name and arguments) inside a viem call error (JobEscrow's by default), if there is one. */
export function revertError(err: unknown, abi: Abi = jobEscrowAbi): { name: string; args: readonly unknown[] } | undefined {
  for (let e = err as { data?: unknown; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    const data = typeof e.data === 'string' ? e.data : (e.data as { data?: unknown } | undefined)?.data;
    if (typeof data === 'string' && data.startsWith('0x') && data.length >= 10) {
      try {
        const decoded = decodeErrorResult({ abi, data: data as Hex });
        return { name: decoded.errorName, args: decoded.args ?? [] };
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/** The contract's custom error name inside a viem call error (JobEscrow's by default), if there is one. */
export function revertErrorName(err: unknown, abi: Abi = jobEscrowAbi): string | undefined {
  return revertError(err, abi)?.name;
}
