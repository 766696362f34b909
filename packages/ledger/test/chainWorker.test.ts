/**
 * The embedded chain in its worker thread, and the bounds on every execution: calls capped at the
 * block gas limit and a wall-time budget, a looping transaction refused and never mined, the
 * owner's requests first and public clients by least worker time used, bounded queues, and a worker that dies
 * started again from its log.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPublicClient, createWalletClient, custom, parseEther, type Hex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BLOCK_GAS_LIMIT, ChainWorker, LODE_CHAIN_ID, createEmbeddedChain, dispatch, RpcError } from '../src/chain/index.js';

/** Contract-creation code that loops forever: JUMPDEST, PUSH1 0, JUMP. */
const LOOP = '0x5b600056';
const alice = privateKeyToAccount(generatePrivateKey());
const call = (data: Hex, gas?: bigint) => ({
  jsonrpc: '2.0',
  id: 1,
  method: 'eth_call',
  params: [{ data, ...(gas === undefined ? {} : { gas: `0x${gas.toString(16)}` }) }],
});
type Answer = { result?: unknown; error?: { code: number; message: string } };

describe('the embedded chain in a worker thread', () => {
  let chain: ChainWorker;
  beforeAll(async () => {
    chain = await ChainWorker.open({ accounts: [{ address: alice.address, balance: parseEther('10') }], publicBudgetMs: 300 });
  });
  afterAll(() => chain.close());

  it('serves viem through EIP-1193 like the in-thread chain; dev methods only for its owner', async () => {
    const transport = custom(chain, { retryCount: 0 });
    const pub = createPublicClient({ transport, pollingInterval: 20 });
    expect(await pub.getChainId()).toBe(LODE_CHAIN_ID);
    const wallet = createWalletClient({ account: alice, transport });
    const hash = await wallet.sendTransaction({ to: privateKeyToAccount(generatePrivateKey()).address, value: 1n, chain: null });
    expect((await pub.waitForTransactionReceipt({ hash })).status).toBe('success');
    expect(await chain.request({ method: 'evm_increaseTime', params: [5] })).toBe(5);
    const refused = (await chain.handleJsonRpc({ jsonrpc: '2.0', id: 7, method: 'evm_increaseTime', params: [5] }, { client: 'a' })) as Answer;
    expect(refused.error).toMatchObject({ code: -32601 });
  });

  it('stops a looping call at its wall-time budget and says so; the chain answers the next call at once', async () => {
    const answer = (await chain.handleJsonRpc(call(LOOP, 2n ** 60n), { client: 'a' })) as Answer;
    expect(answer.error?.code).toBe(-32000);
    expect(answer.error?.message).toMatch(
      /execution stopped: it ran past the chain's time budget of 300 ms of EVM time per request \(gas is also capped at the block limit, 30000000\)/,
    );
    const next = (await chain.handleJsonRpc({ jsonrpc: '2.0', id: 2, method: 'eth_blockNumber' }, { client: 'a' })) as Answer;
    expect(next.result).toMatch(/^0x[0-9a-f]+$/);
  });

  it('refuses a looping transaction without mining it', async () => {
    const pub = createPublicClient({ transport: custom(chain, { retryCount: 0 }) });
    const [nonce, block] = [await pub.getTransactionCount({ address: alice.address }), await pub.getBlockNumber()];
    const raw = await alice.signTransaction({
      chainId: LODE_CHAIN_ID,
      type: 'eip1559',
      nonce,
      gas: BLOCK_GAS_LIMIT,
      maxFeePerGas: 10n ** 10n,
      maxPriorityFeePerGas: 0n,
      data: LOOP,
    });
    const answer = (await chain.handleJsonRpc({ jsonrpc: '2.0', id: 3, method: 'eth_sendRawTransaction', params: [raw] }, { client: 'b' })) as Answer;
    expect(answer.error?.message).toMatch(/^transaction refused: it ran past the chain's time budget of 300 ms .*; it was not mined$/);
    expect(await pub.getTransactionCount({ address: alice.address })).toBe(nonce);
    expect(await pub.getBlockNumber()).toBe(block);
    const tooMuchGas = await alice.signTransaction({
      chainId: LODE_CHAIN_ID,
      type: 'eip1559',
      nonce,
      gas: BLOCK_GAS_LIMIT + 1n,
      maxFeePerGas: 10n ** 10n,
      maxPriorityFeePerGas: 0n,
      data: '0x00',
    });
    const capped = (await chain.handleJsonRpc({ jsonrpc: '2.0', id: 4, method: 'eth_sendRawTransaction', params: [tooMuchGas] }, { client: 'b' })) as Answer;
    expect(capped.error?.message).toMatch(/above the block gas limit \(30000000\)/);
  });

  it('answers its owner first, then the public client that has used the least worker time', async () => {
    const order: string[] = [];
    const track = (name: string, p: Promise<unknown>) => p.then(() => order.push(name));
    const slow = (client: string, name: string) => track(name, chain.handleJsonRpc(call(LOOP), { client }));
    const all = [
      slow('flood', 'A1'),
      slow('flood', 'A2'),
      slow('flood', 'A3'),
      slow('flood', 'A4'),
      track('B1', chain.handleJsonRpc({ jsonrpc: '2.0', id: 1, method: 'eth_chainId' }, { client: 'other' })),
      track('own', chain.request({ method: 'eth_blockNumber' })),
    ];
    await Promise.all(all);
    // A1 was running; then the owner; then B1, whose client has used nothing, before the flood's next.
    expect(order).toEqual(['A1', 'own', 'B1', 'A2', 'A3', 'A4']);
  });

  it("refuses calls beyond a client's queue at once", async () => {
    const small = await ChainWorker.open({ publicBudgetMs: 200, maxQueuedPerClient: 2 });
    try {
      const answers = (await Promise.all([1, 2, 3, 4].map(() => small.handleJsonRpc(call(LOOP), { client: 'c' })))) as Answer[];
      // One in flight, two waiting: the fourth is refused without waiting.
      expect(answers.map((a) => a.error?.code)).toEqual([-32000, -32000, -32000, -32005]);
      expect(answers[3]!.error?.message).toMatch(/too many JSON-RPC calls waiting from this client \(2\)/);
    } finally {
      await small.close();
    }
  });
});

describe('a chain worker on disk', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lode-chain-worker-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is started again from its log when the worker dies, and keeps every mined block', async () => {
    const errors: Array<[string, boolean]> = [];
    const chain = await ChainWorker.open({
      dataDir: dir,
      accounts: [{ address: alice.address, balance: parseEther('1') }],
      onError: (e, restarted) => errors.push([e.message, restarted]),
    });
    try {
      const pub = createPublicClient({ transport: custom(chain, { retryCount: 0 }), pollingInterval: 20 });
      const wallet = createWalletClient({ account: alice, transport: custom(chain, { retryCount: 0 }) });
      await pub.waitForTransactionReceipt({ hash: await wallet.sendTransaction({ to: alice.address, value: 1n, chain: null }) });
      const height = await pub.getBlockNumber();
      await (chain as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate(); // a crash
      expect(await pub.getBlockNumber()).toBe(height);
      expect(errors).toEqual([[expect.stringMatching(/exited with code/), true]]);
    } finally {
      await chain.close();
    }
  });
});

describe("the in-thread chain's bounds", () => {
  it("caps a call's gas at the block gas limit: a loop asking for 2^60 gas runs out of gas", async () => {
    const chain = await createEmbeddedChain();
    try {
      const err = await dispatch(chain, 'eth_call', [{ data: LOOP, gas: '0x1000000000000000' }], { budgetMs: 120_000 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RpcError);
      expect((err as RpcError).message).toBe('execution failed: out of gas');
    } finally {
      await chain.close();
    }
  });
});
