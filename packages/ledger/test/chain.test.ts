import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync, appendFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JsonRpcProvider, Contract as EthersContract } from 'ethers';
import solc from 'solc';
import { BaseError, ContractFunctionRevertedError, createPublicClient, createWalletClient, custom, parseEther, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmbeddedChain, handleJsonRpc, LODE_CHAIN_ID, type EmbeddedChain } from '../src/chain/index.js';

const SOURCE = `
// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;
contract Counter {
  error TooBig(uint256 value, uint256 max);
  event Set(address indexed by, uint256 value);
  uint256 public value;
  function set(uint256 v) external {
    if (v > 1000) revert TooBig(v, 1000);
    value = v;
    emit Set(msg.sender, v);
  }
  function now_() external view returns (uint256) { return block.timestamp; }
}`;

function compileCounter(): { abi: unknown[]; bytecode: Hex } {
  const input = {
    language: 'Solidity',
    sources: { 'Counter.sol': { content: SOURCE } },
    settings: { evmVersion: 'cancun', outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } } },
  };
  const out = JSON.parse(solc.compile(JSON.stringify(input)));
  const c = out.contracts['Counter.sol'].Counter;
  return { abi: c.abi, bytecode: `0x${c.evm.bytecode.object}` };
}

const alice = privateKeyToAccount(`0x${'a1'.repeat(32)}`);
const bob = privateKeyToAccount(`0x${'b2'.repeat(32)}`);
const counter = compileCounter();

function clients(chain: EmbeddedChain) {
  const transport = custom(chain);
  return {
    pub: createPublicClient({ transport }),
    wallet: createWalletClient({ account: alice, transport }),
  };
}

async function deployCounter(chain: EmbeddedChain): Promise<Hex> {
  const { pub, wallet } = clients(chain);
  const hash = await wallet.deployContract({ abi: counter.abi, bytecode: counter.bytecode, chain: null });
  const receipt = await pub.waitForTransactionReceipt({ hash });
  return receipt.contractAddress!;
}

describe('embedded chain through viem', () => {
  let chain: EmbeddedChain;
  beforeAll(async () => {
    chain = await createEmbeddedChain({ accounts: [{ address: alice.address, balance: parseEther('100') }] });
  });
  afterAll(() => chain.close());

  it('funds genesis accounts, transfers ETH and mines one block per transaction', async () => {
    const { pub, wallet } = clients(chain);
    expect(await pub.getChainId()).toBe(LODE_CHAIN_ID);
    expect(await pub.getBalance({ address: alice.address })).toBe(parseEther('100'));
    const before = await pub.getBlockNumber();
    const hash = await wallet.sendTransaction({ to: bob.address, value: parseEther('1.5'), chain: null });
    const receipt = await pub.waitForTransactionReceipt({ hash });
    expect(receipt.status).toBe('success');
    expect(receipt.blockNumber).toBe(before + 1n);
    expect(await pub.getBalance({ address: bob.address })).toBe(parseEther('1.5'));
    const tx = await pub.getTransaction({ hash });
    expect(tx.from.toLowerCase()).toBe(alice.address.toLowerCase());
    const block = await pub.getBlock({ blockNumber: receipt.blockNumber, includeTransactions: false });
    expect(block.transactions).toEqual([hash]);
  });

  it('deploys a contract, writes it, reads it and returns its events', async () => {
    const { pub, wallet } = clients(chain);
    const address = await deployCounter(chain);
    expect(await pub.getCode({ address })).toMatch(/^0x[0-9a-f]{100,}/);
    const hash = await wallet.writeContract({ address, abi: counter.abi, functionName: 'set', args: [42n], chain: null });
    await pub.waitForTransactionReceipt({ hash });
    expect(await pub.readContract({ address, abi: counter.abi, functionName: 'value' })).toBe(42n);
    const logs = await pub.getContractEvents({ address, abi: counter.abi, eventName: 'Set', fromBlock: 0n });
    expect(logs).toHaveLength(1);
    expect((logs[0] as unknown as { args: { value: bigint } }).args.value).toBe(42n);
  });

  it('surfaces a custom error with its name and arguments', async () => {
    const { pub } = clients(chain);
    const address = await deployCounter(chain);
    const error = await pub.simulateContract({ account: alice, address, abi: counter.abi, functionName: 'set', args: [5000n] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BaseError);
    const reverted = (error as BaseError).walk((e) => e instanceof ContractFunctionRevertedError);
    expect(reverted).toBeInstanceOf(ContractFunctionRevertedError);
    expect((reverted as ContractFunctionRevertedError).data?.errorName).toBe('TooBig');
    expect((reverted as ContractFunctionRevertedError).data?.args).toEqual([5000n, 1000n]);
  });

  it('mines a reverting transaction with status 0 and charges its gas', async () => {
    const { pub, wallet } = clients(chain);
    const address = await deployCounter(chain);
    const balance = await pub.getBalance({ address: alice.address });
    const hash = await wallet.writeContract({
      address,
      abi: counter.abi,
      functionName: 'set',
      args: [5000n],
      gas: 100_000n,
      chain: null,
    });
    const receipt = await pub.waitForTransactionReceipt({ hash });
    expect(receipt.status).toBe('reverted');
    expect(await pub.getBalance({ address: alice.address })).toBeLessThan(balance);
  });

  it('moves time forward for later blocks and can revert to a snapshot', async () => {
    const { pub, wallet } = clients(chain);
    const address = await deployCounter(chain);
    const t0 = (await pub.readContract({ address, abi: counter.abi, functionName: 'now_' })) as bigint;
    await chain.request({ method: 'evm_increaseTime', params: [3600] });
    await chain.request({ method: 'evm_mine' });
    const t1 = (await pub.getBlock()).timestamp;
    expect(t1 - t0).toBeGreaterThanOrEqual(3600n);

    const id = (await chain.request({ method: 'evm_snapshot' })) as Hex;
    const head = await pub.getBlockNumber();
    const hash = await wallet.writeContract({ address, abi: counter.abi, functionName: 'set', args: [7n], chain: null });
    await pub.waitForTransactionReceipt({ hash });
    expect(await pub.readContract({ address, abi: counter.abi, functionName: 'value' })).toBe(7n);
    expect(await chain.request({ method: 'evm_revert', params: [id] })).toBe(true);
    expect(await pub.getBlockNumber()).toBe(head);
    expect(await pub.readContract({ address, abi: counter.abi, functionName: 'value' })).toBe(0n);
    expect(await chain.request({ method: 'eth_getTransactionReceipt', params: [hash] })).toBeNull();
  });

  it('refuses bad transactions and bad calls with JSON-RPC errors, mining nothing', async () => {
    const head = chain.blockNumber;
    const stale = await alice.signTransaction({
      chainId: LODE_CHAIN_ID,
      type: 'eip1559',
      nonce: 0,
      to: bob.address,
      value: 1n,
      gas: 21_000n,
      maxFeePerGas: 10n ** 10n,
      maxPriorityFeePerGas: 0n,
    });
    await expect(chain.request({ method: 'eth_sendRawTransaction', params: [stale] })).rejects.toMatchObject({
      code: -32000,
      message: expect.stringMatching(/nonce too low/),
    });
    const wrongChain = await alice.signTransaction({
      chainId: 1,
      type: 'eip1559',
      nonce: 99,
      to: bob.address,
      value: 1n,
      gas: 21_000n,
      maxFeePerGas: 10n ** 10n,
      maxPriorityFeePerGas: 0n,
    });
    await expect(chain.request({ method: 'eth_sendRawTransaction', params: [wrongChain] })).rejects.toMatchObject({ code: expect.any(Number) });
    const broke = privateKeyToAccount(`0x${'c3'.repeat(32)}`);
    const unfunded = await broke.signTransaction({
      chainId: LODE_CHAIN_ID,
      type: 'eip1559',
      nonce: 0,
      to: bob.address,
      value: 1n,
      gas: 21_000n,
      maxFeePerGas: 10n ** 10n,
      maxPriorityFeePerGas: 0n,
    });
    await expect(chain.request({ method: 'eth_sendRawTransaction', params: [unfunded] })).rejects.toMatchObject({
      code: -32000,
      message: expect.stringMatching(/balance|funds/i),
    });
    await expect(chain.request({ method: 'eth_sendRawTransaction', params: ['0x1234'] })).rejects.toMatchObject({ code: -32602 });
    await expect(chain.request({ method: 'eth_getBalance', params: ['0x12'] })).rejects.toMatchObject({ code: -32602 });
    await expect(chain.request({ method: 'eth_nope' })).rejects.toMatchObject({ code: -32601 });
    expect(chain.blockNumber).toBe(head);
    const batch = (await handleJsonRpc(chain, [
      { jsonrpc: '2.0', id: 1, method: 'eth_chainId' },
      { jsonrpc: '2.0', id: 2, method: 'eth_getBalance', params: ['not an address'] },
      'garbage',
    ])) as Array<{ id: unknown; result?: unknown; error?: { code: number } }>;
    expect(batch[0]).toMatchObject({ id: 1, result: `0x${LODE_CHAIN_ID.toString(16)}` });
    expect(batch[1]).toMatchObject({ id: 2, error: { code: -32602 } });
    expect(batch[2]).toMatchObject({ id: null, error: { code: -32600 } });
    // Over HTTP nobody may warp the clock or roll the chain back; in process, tests may.
    expect(await handleJsonRpc(chain, { jsonrpc: '2.0', id: 3, method: 'evm_increaseTime', params: [1] })).toMatchObject({ error: { code: -32601 } });
    expect(await handleJsonRpc(chain, { jsonrpc: '2.0', id: 4, method: 'evm_snapshot' })).toMatchObject({ error: { code: -32601 } });
    expect(await handleJsonRpc(chain, { jsonrpc: '2.0', id: 5, method: 'evm_snapshot' }, { devMethods: true })).toMatchObject({ result: expect.any(String) });
  });
});

describe('embedded chain persistence', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lode-chain-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps balances, contracts, blocks, receipts and events across a reopen, and ignores a torn tail', async () => {
    let chain = await createEmbeddedChain({ dataDir: dir, accounts: [{ address: alice.address, balance: parseEther('10') }] });
    const address = await deployCounter(chain);
    const { pub, wallet } = clients(chain);
    const hash = await wallet.writeContract({ address, abi: counter.abi, functionName: 'set', args: [99n], chain: null });
    await pub.waitForTransactionReceipt({ hash });
    await wallet.sendTransaction({ to: bob.address, value: 12345n, chain: null });
    const head = await pub.getBlock();
    const aliceBalance = await pub.getBalance({ address: alice.address });
    await chain.close();
    // A crash in the middle of an append leaves a partial record behind.
    const file = join(dir, 'chain.log');
    const size = statSync(file).size;
    appendFileSync(file, Buffer.from([1, 0, 255, 255, 0]));

    chain = await createEmbeddedChain({ dataDir: dir });
    expect(statSync(file).size).toBe(size);
    const again = clients(chain).pub;
    expect((await again.getBlock()).hash).toBe(head.hash);
    expect(await again.getBalance({ address: alice.address })).toBe(aliceBalance);
    expect(await again.getBalance({ address: bob.address })).toBe(12345n);
    expect(await again.readContract({ address, abi: counter.abi, functionName: 'value' })).toBe(99n);
    expect((await again.getTransactionReceipt({ hash })).status).toBe('success');
    expect(await again.getContractEvents({ address, abi: counter.abi, eventName: 'Set', fromBlock: 0n })).toHaveLength(1);
    // And it keeps going: the next transaction builds on the restored head.
    const next = await clients(chain).wallet.sendTransaction({ to: bob.address, value: 1n, chain: null });
    expect((await again.waitForTransactionReceipt({ hash: next })).blockNumber).toBe(head.number + 1n);
    await chain.close();
  });
});

describe('an independent client (ethers) over HTTP JSON-RPC', () => {
  let chain: EmbeddedChain;
  let server: Server;
  let url: string;
  beforeAll(async () => {
    chain = await createEmbeddedChain({ accounts: [{ address: alice.address, balance: parseEther('5') }] });
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', async () => {
        const reply = await handleJsonRpc(chain, JSON.parse(body));
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify(reply));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await chain.close();
  });

  it('reads balances, contract state and events', async () => {
    const address = await deployCounter(chain);
    const { pub, wallet } = clients(chain);
    await pub.waitForTransactionReceipt({
      hash: await wallet.writeContract({ address, abi: counter.abi, functionName: 'set', args: [314n], chain: null }),
    });
    const provider = new JsonRpcProvider(url, undefined, { staticNetwork: true });
    expect((await provider.getNetwork()).chainId).toBe(BigInt(LODE_CHAIN_ID));
    expect(await provider.getBalance(alice.address)).toBe(await pub.getBalance({ address: alice.address }));
    const contract = new EthersContract(address, counter.abi as never, provider);
    expect(await contract.getFunction('value')()).toBe(314n);
    const events = await contract.queryFilter(contract.filters.Set!(), 0);
    expect(events).toHaveLength(1);
    expect((events[0] as unknown as { args: unknown[] }).args[1]).toBe(314n);
    provider.destroy();
  });
});
