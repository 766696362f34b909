#!/usr/bin/env node
/**
 * The embedded chain under hostile JSON-RPC — how long one hostile call holds the chain (its
 * worker thread) and how long it holds the gateway's event loop, with the chain in a worker
 * (what the gateway runs) and, for comparison, in the loop (the in-thread EmbeddedChain with
 * the same budget). The hostile call is contract-creation code that loops forever
 * (`0x5b600056`) asking for 2^60 gas. Also: the 30 M-gas loop's cost with and without the
 * deadline checks' budget, and an honest call's latency while hostile clients keep the worker
 * busy. Prints a table and writes bench/results/chain-<time>.json. Figures only, no assertions.
 *
 *   node bench/chain.bench.js [--seconds 10] [--hostile 8]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { createEmbeddedChain, handleJsonRpc } from '@lode/ledger';
import { startGateway, testGatewayOptions } from '@lode/gateway';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const SECONDS = Number(arg('seconds', 10));
const HOSTILE = Number(arg('hostile', 8));
const LOOP = '0x5b600056';
const log = (...a) => process.stderr.write(`${a.join(' ')}\n`);
const hostileCall = (gas = '0x1000000000000000') => ({ jsonrpc: '2.0', id: 1, method: 'eth_call', params: [{ data: LOOP, gas }] });
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? 0;
const ms = (x) => `${x.toFixed(1)} ms`;

function post(url, localAddress, body) {
  return new Promise((res, rej) => {
    const data = JSON.stringify(body);
    const req = request(
      url,
      { method: 'POST', localAddress, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } },
      (r) => {
        let text = '';
        r.on('data', (c) => (text += c));
        r.on('end', () => res({ status: r.statusCode, body: text }));
      },
    );
    req.on('error', rej);
    req.end(data);
  });
}

const rows = [];
const results = { machine: { cpus: cpus()[0]?.model, parallelism: availableParallelism(), node: process.version } };

// 1. In the loop: the in-thread chain, one hostile call, with the gateway's public budget.
{
  const chain = await createEmbeddedChain({ budgetMs: 1000 });
  /** How late a 1 ms timer set just before `fn` fires: how long `fn` held the loop. */
  const loopHeldBy = async (fn) => {
    const armed = performance.now();
    const fired = new Promise((r) => setTimeout(() => r(performance.now() - armed), 1));
    const t = performance.now();
    await fn();
    return { took: performance.now() - t, held: await fired };
  };
  const budgeted = await loopHeldBy(() => handleJsonRpc(chain, hostileCall()));
  // Unbounded, as before: the same code at the block gas limit (30 M) with no time budget.
  const unbounded = await loopHeldBy(() => handleJsonRpc(chain, hostileCall('0x1c9c380'), { devMethods: false, budgetMs: 600_000 }));
  await chain.close();
  results.inLoop = { callMs: budgeted.took, loopHeldMs: budgeted.held, gas30MNoBudgetMs: unbounded.took, gas30MNoBudgetLoopHeldMs: unbounded.held };
  rows.push(['chain in the event loop (1,000 ms budget)', ms(budgeted.took), ms(budgeted.held)]);
  rows.push(['  same loop at 30 M gas, no time budget (before)', ms(unbounded.took), ms(unbounded.held)]);
}

// 2. In a worker: a real gateway (in this process), hostile clients on their own IPs, /healthz and an honest call meanwhile.
const dir = mkdtempSync(join(tmpdir(), 'lode-chain-bench-'));
const gw = await startGateway(testGatewayOptions({ dataDir: dir, ledger: 'embedded', logLevel: 'silent', rpcPerMinute: 1_000_000 }));
try {
  const held = [];
  const honest = [];
  const health = [];
  let running = true;
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  const hostile = Array.from({ length: HOSTILE }, (_, i) =>
    (async () => {
      while (running) {
        const t = performance.now();
        await post(`${gw.url}/rpc`, `127.0.0.${2 + (i % 4)}`, hostileCall());
        held.push(performance.now() - t);
      }
    })(),
  );
  const honestLoop = (async () => {
    while (running) {
      const t = performance.now();
      await post(`${gw.url}/rpc`, '127.0.0.20', { jsonrpc: '2.0', id: 1, method: 'eth_blockNumber' });
      honest.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  const healthLoop = (async () => {
    while (running) {
      const t = performance.now();
      await fetch(`${gw.url}/healthz`);
      health.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  running = false;
  await Promise.all([...hostile, honestLoop, healthLoop]);
  await new Promise((r) => setTimeout(r, 50));
  h.disable();
  if (process.env.CHAIN_BENCH_DEBUG) log('honest', honest.map((x) => x.toFixed(0)).join(' '));
  results.worker = {
    hostileClients: HOSTILE,
    hostileCalls: held.length,
    hostileCallP50Ms: pct(held, 50),
    loopMaxDelayMs: h.max / 1e6,
    loopP99DelayMs: h.percentile(99) / 1e6,
    healthzP50Ms: pct(health, 50),
    healthzMaxMs: Math.max(...health),
    honestCallP50Ms: pct(honest, 50),
    honestCallMaxMs: Math.max(...honest),
  };
  rows.push([`chain in a worker, ${HOSTILE} hostile clients (${held.length} calls, answer p50)`, ms(pct(held, 50)), ms(h.max / 1e6)]);
  rows.push(['  /healthz meanwhile (p50 / max)', `${ms(pct(health, 50))} / ${ms(Math.max(...health))}`, '']);
  rows.push(['  an honest eth_blockNumber meanwhile (p50 / max)', `${ms(pct(honest, 50))} / ${ms(Math.max(...honest))}`, '']);
} finally {
  await gw.close();
  rmSync(dir, { recursive: true, force: true });
}

const table = [
  '| hostile eth_call (0x5b600056, 2^60 gas) | answered after / holds the chain | holds the event loop (max) |',
  '| --- | --- | --- |',
  ...rows.map(([a, b, c]) => `| ${a} | ${b} | ${c} |`),
].join('\n');
process.stdout.write(`${table}\n`);
mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
const file = join(ROOT, 'bench/results', `chain-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
log(`wrote ${file}`);
