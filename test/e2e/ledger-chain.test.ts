/**
 * A bounded chain, on real processes: a `lode gateway` with its embedded chain, a staked node and
 * a requester paying through `lode run`, while several hostile clients (each its own client IP,
 * 127.0.0.2…) keep the chain busy with contract-creation code that loops forever (`0x5b600056`)
 * at an absurd gas, several at once, and one keeps sending a looping transaction. Each hostile
 * call is stopped at the chain's time budget and answered in words, the transaction is refused
 * and never mined, `/healthz` keeps answering while each hostile call runs (the chain runs in a
 * worker thread), and the paid job is run and settled meanwhile. `/rpc` answers 429 past its per-client
 * rate.
 */
import { request, type IncomingHttpHeaders } from 'node:http';
import { join } from 'node:path';
import { createPublicClient, http, type PublicClient } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { PayoutsView } from '@lode/protocol';
import { Cluster, lodeRun, waitFor } from '../support/cluster.js';

vi.setConfig({ testTimeout: 240_000 });

const PRICE = 10n ** 15n;
const RPC_PER_MINUTE = 300;
/** Contract-creation code that loops forever: JUMPDEST, PUSH1 0, JUMP. */
const LOOP = '0x5b600056';

let cluster: Cluster;
let chain: PublicClient;

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: any;
}

/** An HTTP request to the gateway sent from the local address `from` (a client IP of its own). */
function from(localAddress: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      `${cluster.url}${path}`,
      { method, localAddress, headers: data === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            // not JSON
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed });
        });
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

const rpc = (method: string, params: unknown[] = []) => ({ jsonrpc: '2.0', id: 1, method, params });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  cluster = await new Cluster({
    nodes: 1,
    ledger: true,
    nodeArgs: ['--price', PRICE.toString(), '--claim-interval', '300'],
    gatewayArgs: ['--rpc-per-minute', String(RPC_PER_MINUTE)],
  }).start();
  chain = createPublicClient({ transport: http(`${cluster.url}/rpc`), pollingInterval: 100 }) as PublicClient;
});
afterAll(() => cluster?.stop());

describe('hostile JSON-RPC against the embedded chain', () => {
  it('stops every hostile call at its budget, in words, while /healthz keeps answering and a paid job runs and settles', async () => {
    const requesterDir = join(cluster.dir, 'requester');
    await cluster.provision(requesterDir, false);
    // The looping transaction's sender has gas (from the faucet, on a client IP of its own).
    const mallory = privateKeyToAccount(generatePrivateKey());
    expect((await from('127.0.0.6', 'POST', '/v1/ledger/faucet', { address: mallory.address })).status).toBe(200);
    const chainId = await chain.getChainId();
    const loopTx = await mallory.signTransaction({
      chainId,
      type: 'eip1559',
      nonce: 0,
      gas: 30_000_000n,
      maxFeePerGas: 10n ** 11n,
      maxPriorityFeePerGas: 0n,
      data: LOOP,
    });

    let hostile = true;
    const calls: string[] = [];
    /** What came back, in order: 'h' a /healthz answer, 'c' a hostile call's answer. */
    const order: string[] = [];
    const txs: string[] = [];
    // Four clients, two loops each in flight, asking for 2^60 gas.
    const callers = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'].flatMap((ip) =>
      [0, 1].map(async () => {
        while (hostile) {
          const a = await from(ip, 'POST', '/rpc', rpc('eth_call', [{ data: LOOP, gas: '0x1000000000000000' }]));
          calls.push(a.body?.error?.message ?? JSON.stringify(a.body));
          order.push('c');
        }
      }),
    );
    const sender = (async () => {
      while (hostile) {
        const a = await from('127.0.0.6', 'POST', '/rpc', rpc('eth_sendRawTransaction', [loopTx]));
        txs.push(a.body?.error?.message ?? JSON.stringify(a.body));
      }
    })();
    const sampler = (async () => {
      while (hostile) {
        const a = await from('127.0.0.1', 'GET', '/healthz');
        order.push('h');
        expect(a.status).toBe(200);
        await sleep(50);
      }
    })();

    try {
      await waitFor('hostile calls to be running', async () => calls.length >= 2, 30_000, 100);
      // The paid job: escrow through /rpc (a client among the hostile ones), tasks, settlement.
      const run = await lodeRun(['run', 'primes', '--tasks', '4', '--json', '--gateway', cluster.url, '--data-dir', requesterDir, '--', '0', '100000']);
      expect(run.code, run.stderr).toBe(0);
      const node = ((await (await fetch(`${cluster.url}/v1/nodes`)).json()) as { nodes: Array<{ address: string }> }).nodes[0]!.address;
      await waitFor(
        'the payouts posted on chain',
        async () => {
          const view = (await (await fetch(`${cluster.url}/v1/ledger/payouts/${node}`)).json()) as PayoutsView;
          return view.totals.tasks === 4 && view.payouts.every((p) => p.status === 'posted' && p.chainBatchId !== null);
        },
        90_000,
        250,
      );
      await sleep(2_000); // a little more hostile time after the settlement
    } finally {
      hostile = false;
      await Promise.all([...callers, sender, sampler]);
    }

    expect(calls.length).toBeGreaterThanOrEqual(8);
    for (const message of calls) {
      expect(message).toMatch(
        /^execution stopped: it ran past the chain's time budget of 1000 ms of EVM time per request \(gas is also capped at the block limit, 30000000\); use less gas or a cheaper call$/,
      );
    }
    expect(txs.length).toBeGreaterThanOrEqual(1);
    for (const message of txs) expect(message).toMatch(/^transaction refused: it ran past the chain's time budget of 1000 ms .*; it was not mined$/);
    expect(await chain.getTransactionCount({ address: mallory.address })).toBe(0);
    // The gateway's own loop never waits on the EVM: while one hostile call runs (each runs for
    // its whole budget, one after another), /healthz answers again and again. With the EVM on the
    // gateway's loop, no answer could come back while a call runs: they would alternate. (How
    // fast it answers is a figure: bench/attack.bench.js.)
    const between = order.join('').split('c').slice(1, -1);
    expect(between.length).toBeGreaterThanOrEqual(4);
    expect(Math.max(...between.map((run) => run.length))).toBeGreaterThanOrEqual(5);
  });

  it("answers 429 past a client's JSON-RPC rate, naming the limit; other clients are not affected", async () => {
    const answers = await Promise.all(Array.from({ length: RPC_PER_MINUTE + 20 }, () => from('127.0.0.9', 'POST', '/rpc', rpc('eth_chainId'))));
    const refused = answers.filter((a) => a.status === 429);
    expect(refused.length).toBeGreaterThanOrEqual(20);
    expect(answers.filter((a) => a.status === 200).length).toBeLessThanOrEqual(RPC_PER_MINUTE);
    expect(refused[0]!.body.error).toMatchObject({ code: 'RATE_LIMITED' });
    expect(refused[0]!.body.error.message).toMatch(
      new RegExp(`Too many JSON-RPC requests \\(POST /rpc\\) from this address: at most ${RPC_PER_MINUTE} per minute\\. Try again in`),
    );
    expect(Number(refused[0]!.headers['retry-after'])).toBeGreaterThan(0);
    const other = await from('127.0.0.10', 'POST', '/rpc', rpc('eth_chainId'));
    expect(other.status).toBe(200);
    expect(other.body.result).toMatch(/^0x[0-9a-f]+$/);
  });
});
