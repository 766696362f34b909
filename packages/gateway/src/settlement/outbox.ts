/**
 * The gateway's own chain transactions (post a settlement batch, close a job's escrow), sent
 * exactly once across crashes and restarts.
 *
 * Guarantees:
 * - A transaction is signed, then recorded in the store, then sent. After a crash the recorded
 *   bytes (same nonce) are sent again, so it can be mined at most once; a second, different
 *   transaction for the same purpose is never created while one is pending or mined.
 * - `sendOnce(kind, ref, call)` is idempotent per (kind, ref): it returns the receipt of the
 *   transaction already mined for it, waits for one still pending, or sends a new one.
 *   A reverted transaction changed nothing on chain, so a later `sendOnce` may try again.
 * - One transaction of the account is in flight at a time, its own or one another sender of the
 *   account (the faucet) sends inside `withAccount`: nonces never collide.
 * - In a cluster of gateways (one account, one database), only the settler sends: with a `fence`
 *   set, a transaction is recorded — and so sent — only while the fence holds, checked in the
 *   recording transaction ({@link NotSenderError} otherwise); and the database keeps one live
 *   transaction per (kind, ref), so two senders never both send one for the same purpose.
 */
import type { Logger } from 'pino';
import { keccak256, type Hex, type LocalAccount, type PublicClient, type TransactionReceipt } from 'viem';
import type { ChainTx, LedgerStore, SenderFence } from '../store/types.js';

export interface ChainCall {
  to: Hex;
  data: Hex;
}

export interface TxOutboxOptions {
  store: LedgerStore;
  client: PublicClient;
  account: LocalAccount;
  chainId: number;
  log: Logger;
  now: () => number;
}

export class TxOutbox {
  private queue: Promise<unknown> = Promise.resolve();
  /** While set, what lets this outbox record (and so send) a transaction (a cluster's settler role). */
  fence: SenderFence | undefined;

  constructor(private readonly o: TxOutboxOptions) {}

  /** The sending account. */
  get address(): Hex {
    return this.o.account.address;
  }

  /** Re-sends and awaits every transaction recorded as sent but not seen mined (call at start). */
  resume(): Promise<void> {
    return this.exclusive(async () => {
      for (const tx of await this.o.store.pendingChainTxs(this.o.account.address)) await this.settle(tx);
    });
  }

  sendOnce(kind: string, ref: string, call: ChainCall): Promise<TransactionReceipt> {
    return this.exclusive(async () => {
      const live = await this.live(kind, ref);
      if (live) return live;
      const tx = await this.sign(kind, ref, call);
      if ((await this.o.store.insertChainTx(tx, this.fence)) === 'recorded') return this.settle(tx);
      // Another sender recorded one for this purpose between our read and our write: await that one.
      return (await this.live(kind, ref)) ?? Promise.reject(new Error(`${kind} ${ref}: the transaction recorded by another sender is gone`));
    });
  }

  /** The receipt of the transaction mined for (kind, ref), or of the one pending (awaited); undefined when there is none. */
  private async live(kind: string, ref: string): Promise<TransactionReceipt | undefined> {
    const earlier = await this.o.store.chainTxsOf(kind, ref);
    const done = earlier.find((t) => t.status === 'mined');
    if (done) return this.o.client.getTransactionReceipt({ hash: done.hash as Hex });
    const pending = earlier.find((t) => t.status === 'sent');
    return pending ? this.settle(pending) : undefined;
  }

  private async sign(kind: string, ref: string, call: ChainCall): Promise<ChainTx> {
    const { account, client } = this.o;
    const request = await client.prepareTransactionRequest({
      account,
      chain: null,
      to: call.to,
      data: call.data,
      nonce: await client.getTransactionCount({ address: account.address, blockTag: 'pending' }),
    });
    const raw = await account.signTransaction({ ...request, chainId: this.o.chainId } as never);
    return {
      hash: keccak256(raw),
      kind,
      ref,
      sender: account.address.toLowerCase(),
      nonce: Number(request.nonce),
      raw,
      status: 'sent',
      createdAt: this.o.now(),
      block: null,
    };
  }

  /**
   * Sends (again) and waits for the receipt; records mined or reverted. A transaction whose
   * nonce was used by another one can never be mined: it is recorded as reverted (nothing
   * happened on chain) and the error says so.
   */
  private async settle(tx: ChainTx): Promise<TransactionReceipt> {
    const hash = tx.hash as Hex;
    const { client } = this.o;
    let receipt = await client.getTransactionReceipt({ hash }).catch(() => undefined);
    if (!receipt) {
      try {
        await client.sendRawTransaction({ serializedTransaction: tx.raw as Hex });
      } catch (err) {
        // "already known" means it is pending; "nonce too low" that it or another one was mined.
        receipt = await client.getTransactionReceipt({ hash }).catch(() => undefined);
        const next = await client.getTransactionCount({ address: this.o.account.address, blockTag: 'latest' });
        if (!receipt && next > tx.nonce) {
          await this.o.store.updateChainTx(tx.hash, { status: 'reverted', block: null });
          throw new Error(`transaction ${hash} (${tx.kind} ${tx.ref}) was replaced: its nonce ${tx.nonce} is used`, { cause: err });
        }
        if (!receipt) this.o.log.debug({ err, hash, kind: tx.kind }, 'raw transaction not accepted now; waiting for its receipt');
      }
      receipt ??= await client.waitForTransactionReceipt({ hash, timeout: 120_000, pollingInterval: 250 });
    }
    await this.o.store.updateChainTx(tx.hash, {
      status: receipt.status === 'success' ? 'mined' : 'reverted',
      block: Number(receipt.blockNumber),
    });
    return receipt;
  }

  /**
   * Runs `fn` while no other transaction of this account is signed or awaited. Whatever else sends
   * from the gateway's account must send inside it: two senders reading the same pending nonce
   * make one of them fail ("nonce too low"), as the faucet did beside settlement.
   */
  withAccount<T>(fn: () => Promise<T>): Promise<T> {
    return this.exclusive(fn);
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn);
    this.queue = run.catch(() => undefined);
    return run;
  }
}
