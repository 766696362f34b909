/**
 * The outbox against a real embedded chain and a real (PGlite) store: a transaction is recorded
 * before it is sent, so a crash at any point leads to it being mined once — never twice, never
 * replaced by a second one for the same purpose.
 */
import { pino } from 'pino';
import { createPublicClient, createWalletClient, custom, parseEther, type PublicClient } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmbeddedChain, type EmbeddedChain } from '@lode/ledger';
import { openStore, type SqlStore } from '../store/index.js';
import { NotSenderError } from '../store/errors.js';
import type { ChainTx } from '../store/types.js';
import { TxOutbox } from './outbox.js';

const gateway = privateKeyToAccount(generatePrivateKey());
const payee = privateKeyToAccount(generatePrivateKey()).address;
let chain: EmbeddedChain;
let client: PublicClient;
let store: SqlStore;
const outbox = () => new TxOutbox({ store: store.ledger, client, account: gateway, chainId: chain.chainId, log: pino({ level: 'silent' }), now: Date.now });

beforeAll(async () => {
  chain = await createEmbeddedChain({ accounts: [{ address: gateway.address, balance: parseEther('10') }] });
  client = createPublicClient({ transport: custom(chain, { retryCount: 0 }) }) as PublicClient;
  store = await openStore();
});
afterAll(async () => {
  await store.close();
  await chain.close();
});

/** What sendOnce does before it sends: sign, and record (the crash comes next). */
async function signAndRecord(kind: string, ref: string): Promise<ChainTx> {
  const o = outbox() as unknown as { sign(kind: string, ref: string, call: object): Promise<ChainTx> };
  const tx = await o.sign(kind, ref, { to: payee, data: '0x' });
  expect(await store.ledger.insertChainTx(tx)).toBe('recorded');
  return tx;
}

describe('TxOutbox', () => {
  it('sends once per (kind, ref): a second sendOnce returns the same receipt and sends nothing', async () => {
    const o = outbox();
    const first = await o.sendOnce('pay', 'a', { to: payee, data: '0x' });
    const nonce = await client.getTransactionCount({ address: gateway.address });
    const again = await o.sendOnce('pay', 'a', { to: payee, data: '0x' });
    expect(again.transactionHash).toBe(first.transactionHash);
    expect(await client.getTransactionCount({ address: gateway.address })).toBe(nonce);
    expect((await store.ledger.chainTxsOf('pay', 'a')).map((t) => t.status)).toEqual(['mined']);
  });

  it('after a crash between recording and sending, the recorded bytes are sent at restart and mined once', async () => {
    // Crash: the transaction is signed and recorded, then the process dies before sending it.
    const recorded = await signAndRecord('pay', 'b');
    expect(await client.getTransactionReceipt({ hash: recorded.hash as `0x${string}` }).catch(() => null)).toBeNull();

    const restarted = outbox();
    await restarted.resume();
    const receipt = await client.getTransactionReceipt({ hash: recorded.hash as `0x${string}` });
    expect(receipt.status).toBe('success');
    // The purpose is fulfilled by that transaction; asking again sends nothing new.
    expect((await restarted.sendOnce('pay', 'b', { to: payee, data: '0x' })).transactionHash).toBe(recorded.hash);
    expect((await store.ledger.chainTxsOf('pay', 'b')).map((t) => t.status)).toEqual(['mined']);
  });

  it('after a crash between sending and recording the receipt, the restart finds it mined and does not resend', async () => {
    const recorded = await signAndRecord('pay', 'c');
    await client.sendRawTransaction({ serializedTransaction: recorded.raw as `0x${string}` }); // sent, then the crash
    const nonce = await client.getTransactionCount({ address: gateway.address });
    await outbox().resume();
    expect(await client.getTransactionCount({ address: gateway.address })).toBe(nonce);
    expect((await store.ledger.chainTxsOf('pay', 'c')).map((t) => t.status)).toEqual(['mined']);
  });

  it('sends nothing while its fence says no (a cluster gateway that is not the settler)', async () => {
    const o = outbox();
    o.fence = async () => false;
    const nonce = await client.getTransactionCount({ address: gateway.address });
    await expect(o.sendOnce('pay', 'fenced', { to: payee, data: '0x' })).rejects.toBeInstanceOf(NotSenderError);
    expect(await client.getTransactionCount({ address: gateway.address })).toBe(nonce);
    expect(await store.ledger.chainTxsOf('pay', 'fenced')).toEqual([]);
  });

  it('two senders of one account on one store (two gateways) asked for the same purpose at once send one transaction', async () => {
    const nonce = await client.getTransactionCount({ address: gateway.address });
    const [a, b] = await Promise.all([outbox(), outbox()].map((o) => o.sendOnce('pay', 'raced', { to: payee, data: '0x' })));
    expect(b!.transactionHash).toBe(a!.transactionHash);
    expect(await client.getTransactionCount({ address: gateway.address })).toBe(nonce + 1);
    expect((await store.ledger.chainTxsOf('pay', 'raced')).map((t) => t.status)).toEqual(['mined']);
  });

  it('lets another sender of the account (the faucet) send alone: sent side by side, no nonce is taken twice', async () => {
    const o = outbox();
    const wallet = createWalletClient({ account: gateway, transport: custom(chain, { retryCount: 0 }) });
    const rounds = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        Promise.allSettled([
          o.sendOnce('pay', `side-by-side ${i}`, { to: payee, data: '0x' }),
          o.withAccount(async () => client.waitForTransactionReceipt({ hash: await wallet.sendTransaction({ to: payee, value: 1n, chain: null }) })),
        ]),
      ),
    );
    const failed = rounds.flat().filter((r) => r.status === 'rejected');
    expect(failed).toEqual([]);
  });
});
