/**
 * A real Lode network for the attack suite and its benchmark: a `lode gateway` process (embedded
 * chain, payments on) and `lode node` processes, started through the CLI exactly as a user
 * starts them, staked from the faucet; plus the checks every attack ends with — the same
 * processes still up, no promise rejection left unhandled in their logs, /healthz answering.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { createLodeClient, listNodes, requestFaucet } from '@lode/sdk';
import { ROOT, freePort, lodeProcess, waitFor } from '../bench/processes.js';

export { CLI, ROOT, freePort, lodeProcess, waitFor } from '../bench/processes.js';

/**
 * Starts a gateway and `nodes` nodes. The faucet's per-IP budget is raised for the run (every
 * process here shares 127.0.0.1) — never waived; the faucet attack spends what is left of it.
 */
export async function startNetwork({ nodes = 3, ledger = true, gatewayArgs = [], nodePrice = '1000000000000000', slots = 1 } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'lode-attack-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const wsUrl = `ws://127.0.0.1:${port}/v1/nodes/ws`;
  const gateway = lodeProcess([
    'gateway',
    '--port',
    String(port),
    '--data-dir',
    join(dir, 'gateway'),
    ...(ledger ? ['--faucet-per-ip-day', '40', '--faucet-per-day', '200'] : ['--ledger', 'off']),
    // Every client here is on 127.0.0.1: the suite names each one's address in X-Forwarded-For,
    // as a reverse proxy would, so that per-IP quotas tell the attacker from honest users.
    '--trust-proxy',
    '127.0.0.1',
    // A smaller blob quota than the default 1 GiB, so that the flood meets it in a few uploads.
    '--limit',
    'blobBytesPerAccount=268435456',
    ...gatewayArgs,
  ]);
  const procs = [gateway];
  const extra = [];
  await waitFor(
    'the gateway',
    async () => {
      if (gateway.child.exitCode !== null) throw new Error(`the gateway exited: ${gateway.output().slice(-2000)}`);
      return (await fetch(`${url}/healthz`)).ok;
    },
    120_000,
  );
  const net = {
    dir,
    url,
    wsUrl,
    gateway,
    nodes: [],
    ledger,
    /** Accounts funded (and, for nodes, staked) so far. */
    async provision(dataDir, asNode) {
      const { loadOrCreateAccount } = await import('@lode/keystore');
      const { createLedgerClient, ledgerAddressesSchema, stake } = await import('@lode/ledger/client');
      const { account } = await loadOrCreateAccount(dataDir, { create: true });
      if (!ledger) return account;
      const info = await (await fetch(`${url}/v1/ledger`)).json();
      await requestFaucet(createLodeClient({ gateway: url }), { address: account.address });
      if (asNode) {
        const client = createLedgerClient({
          rpcUrl: `${url}/rpc`,
          addresses: ledgerAddressesSchema.parse({ ...info.contracts, chainId: info.chainId }),
          account,
        });
        await stake(client, { amount: BigInt(info.params.minStake) });
      }
      return account;
    },
    /** `fetch` from client address `ip` (named in X-Forwarded-For, which this gateway trusts from 127.0.0.1). */
    http(ip) {
      return (input, init = {}) => fetch(input, { ...init, headers: { ...Object.fromEntries(new Headers(init.headers ?? {})), 'x-forwarded-for': ip } });
    },
    /** A requester with a fresh funded account, and its SDK client, at client address `ip`. */
    async requester(name, ip = '10.0.0.1') {
      const account = ledger ? await net.provision(join(dir, `requester-${name}`), false) : privateKeyToAccount(generatePrivateKey());
      return { account, client: createLodeClient({ gateway: url, account, timeoutMs: 120_000, fetch: net.http(ip) }) };
    },
    async onlineNodes() {
      return (await listNodes(createLodeClient({ gateway: url }))).filter((n) => n.online).length;
    },
    /** The latency of one /healthz (ms); Infinity when it does not answer in 10 s. */
    async health() {
      const t = performance.now();
      const r = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(10_000) }).catch(() => undefined);
      return r?.ok ? performance.now() - t : Infinity;
    },
    /**
     * Samples /healthz every `everyMs` from a process of its own (attack/probe.js) until
     * `stop()`: the worst latency (Infinity when one failed or took over 10 s), p99, p50.
     */
    probe(everyMs = 10) {
      const child = spawn(process.execPath, [join(ROOT, 'attack/probe.js'), url, String(everyMs)], { stdio: ['pipe', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      const done = new Promise((r) => child.once('exit', r));
      return {
        async stop() {
          child.stdin.write('stop\n');
          await done;
          const r = JSON.parse(out);
          return { ...r, worstMs: r.worstMs === null || r.failed > 0 ? Infinity : r.worstMs };
        },
      };
    },
    /**
     * The longest the gateway's event loop was held since the last call (ms), as the gateway
     * measures it (prom-client's event-loop lag, reset at each scrape of /metrics).
     */
    async loopLagMs() {
      const text = await (await fetch(`${url}/metrics`)).text();
      const m = /^lode_gateway_nodejs_eventloop_lag_max_seconds (\S+)$/m.exec(text);
      return m ? Number(m[1]) * 1000 : NaN;
    },
    /** What every attack must leave intact: the same processes, no unhandled rejection, a gateway that answers. */
    async intact() {
      const problems = [];
      for (const p of procs) {
        if (p.child.exitCode !== null || p.child.signalCode !== null) problems.push(`process ${p.pid} (${p === gateway ? 'gateway' : 'node'}) exited`);
        const line = p
          .output()
          .split('\n')
          .find((l) => l.includes('UNHANDLED_REJECTION'));
        if (line) problems.push(`unhandled rejection in ${p.pid}: ${line.slice(0, 300)}`);
      }
      if (!Number.isFinite(await net.health())) problems.push('/healthz does not answer');
      return problems;
    },
    addNode(extra = []) {
      const i = net.nodes.length;
      const p = lodeProcess(['node', '--gateway', wsUrl, '--data-dir', join(dir, `node-${i}`), '--slots', String(slots), ...extra]);
      net.nodes.push(p);
      procs.push(p);
      return p;
    },
    /** A process of an attack's own (a second gateway): killed at the end, not checked. */
    adopt(proc) {
      extra.push(proc);
    },
    async stop() {
      for (const p of [...procs, ...extra]) if (p.child.exitCode === null) p.child.kill('SIGKILL');
      await Promise.all([...procs, ...extra].map((p) => p.exited));
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    for (let i = 0; i < nodes; i++) {
      if (ledger) await net.provision(join(dir, `node-${i}`), true);
      net.addNode(ledger ? ['--price', nodePrice] : []);
    }
    await waitFor(`${nodes} nodes online`, async () => (await net.onlineNodes()) >= nodes, 120_000);
  } catch (err) {
    await net.stop();
    throw err;
  }
  return net;
}
