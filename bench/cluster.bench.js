#!/usr/bin/env node
/**
 * What a cluster costs its PostgreSQL server, and what a second gateway buys on this machine
 * (docs/benchmarks.md). Real `lode gateway --database-url` and `lode node` processes; the
 * database round trips are each gateway's own count (`lode_db_statements_total` on /metrics:
 * every statement, BEGIN and COMMIT).
 *   idle        — round trips per second of an idle gateway (its cluster beats), over 10 s;
 *   per task    — round trips per task of a job of `--tasks` primes tasks (submit to finished);
 *   one vs two  — tasks/s of one gateway with 4 nodes running one job, then of two gateways
 *                 (one identity) with 2 nodes each, each running half the tasks at once;
 *   work flows  — a job submitted to a gateway without nodes while its peer has 4 idle ones
 *                 (listing both): time to its first result and to its end (nodes move to it:
 *                 cluster/rebalance.ts), beside the same job on the gateway that has the nodes.
 *
 *   node bench/cluster.bench.js [--tasks 4000]
 * Needs a PostgreSQL server: LODE_BENCH_DATABASE_URL or LODE_TEST_DATABASE_URL (a role that may
 * CREATE DATABASE; `.ci/run` makes one). Without one it says so and exits 0.
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { createLodeClient, listNodes, putBlob, submitJob, watchJob } from '@lode/sdk';
import { readWorkload } from '@lode/workloads';
import { benchDatabase, freePort, lodeProcess, numberArg, ROOT, waitFor } from './processes.js';

const TASKS = numberArg('tasks', 4000);
const WIDTH = 2_000;
const { url: adminUrl, admin } = benchDatabase('cluster');

/**
 * A fresh database, a temporary directory and a process list for `fn`; whatever `fn` started is
 * killed and everything removed after, however it ends.
 */
async function withScratch(fn) {
  const name = `lode_cluster_bench_${process.pid}_${Date.now()}`;
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const dir = mkdtempSync(join(tmpdir(), 'lode-cluster-bench-'));
  const procs = [];
  try {
    return await fn({ databaseUrl: url.toString(), dir, procs });
  } finally {
    for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    await Promise.all(procs.map((p) => p.exited));
    rmSync(dir, { recursive: true, force: true });
    await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }
}

/** Starts a gateway on `port` with its data in `dataDir`; resolves to its URL once it answers. */
async function startGateway({ databaseUrl, procs }, dataDir, port, extra = []) {
  procs.push(lodeProcess(['gateway', '--port', String(port), '--data-dir', dataDir, '--database-url', databaseUrl, '--ledger', 'off', ...extra]));
  const u = `http://127.0.0.1:${port}`;
  await waitFor(`gateway ${u}`, async () => (await fetch(`${u}/healthz`)).ok);
  return u;
}

/** Gateways sharing one identity on a fresh database, `nodesEach` nodes per gateway; `fn` gets them. */
function withCluster(gatewayCount, nodesEach, fn) {
  return withScratch(async (scratch) => {
    const { dir, procs } = scratch;
    const gateways = [];
    for (let i = 0; i < gatewayCount; i++) {
      const d = join(dir, `gw-${i}`);
      mkdirSync(d, { recursive: true });
      if (i > 0) cpSync(join(dir, 'gw-0', 'gateway'), join(d, 'gateway'), { recursive: true });
      gateways.push(await startGateway(scratch, d, await freePort()));
    }
    const account = privateKeyToAccount(generatePrivateKey());
    const clients = gateways.map((g) => createLodeClient({ gateway: g, account }));
    for (const [i, g] of gateways.entries()) {
      for (let k = 0; k < nodesEach; k++) procs.push(lodeProcess(['node', '--gateway', g, '--data-dir', join(dir, `node-${i}-${k}`), '--slots', '1']));
    }
    for (const c of clients) await waitFor('nodes online', async () => (await listNodes(c)).filter((n) => n.online).length >= nodesEach);
    return fn({ gateways, clients });
  });
}

/**
 * Gateway B up with 4 nodes that list A and B (A is not up yet, so all settle on B), then A: the
 * "work flows" scenario. `fn` gets both clients.
 */
function withIdlePeer(fn) {
  return withScratch(async (scratch) => {
    const { dir, procs } = scratch;
    const lease = ['--cluster-lease-ms', '3000'];
    const [portA, portB] = [await freePort(), await freePort()];
    const b = await startGateway(scratch, join(dir, 'b'), portB, lease);
    cpSync(join(dir, 'b', 'gateway'), join(dir, 'a', 'gateway'), { recursive: true });
    const a = `http://127.0.0.1:${portA}`;
    for (let k = 0; k < 4; k++) procs.push(lodeProcess(['node', '--gateway', `${a},${b}`, '--data-dir', join(dir, `node-${k}`), '--slots', '1']));
    const account = privateKeyToAccount(generatePrivateKey());
    const [onA, onB] = [createLodeClient({ gateway: a, account }), createLodeClient({ gateway: b, account })];
    await waitFor('4 nodes on B', async () => (await listNodes(onB)).filter((n) => n.online).length >= 4);
    await startGateway(scratch, join(dir, 'a'), portA, lease);
    await new Promise((r) => setTimeout(r, 3000)); // the nodes settle (a node just connected is not moved)
    return fn({ onA, onB });
  });
}

/** Seconds to the first result and to the end of a job of `n` tasks submitted through `client`. */
async function timeJob(client, n, from) {
  const { sha256 } = await putBlob(client, { data: readWorkload('primes') });
  const t0 = performance.now();
  const job = await submitJob(client, { module: sha256, tasks: tasksOf(n, from), limits: { wallMs: 30_000, maxOutputBytes: 4096 } });
  let first;
  const final = await watchJob(client, {
    id: job.id,
    onEvent: (e) => {
      if (first === undefined && e.job.counts.done > 0) first = (performance.now() - t0) / 1000;
    },
  });
  if (final.status !== 'completed') throw new Error(`job ended ${final.status}`);
  return { firstResultS: first, seconds: (performance.now() - t0) / 1000 };
}

async function statements(gateway) {
  const text = await (await fetch(`${gateway}/metrics`)).text();
  return Number(/^lode_db_statements_total (\d+)/m.exec(text)?.[1] ?? Number.NaN);
}

const tasksOf = (n, from = 0) => Array.from({ length: n }, (_, i) => ({ args: [String((from + i) * WIDTH), String((from + i + 1) * WIDTH)] }));

async function runJobs(clients, perClient) {
  const { sha256 } = await putBlob(clients[0], { data: readWorkload('primes') });
  const t0 = performance.now();
  const finals = await Promise.all(
    clients.map(async (c, i) => {
      const job = await submitJob(c, { module: sha256, tasks: tasksOf(perClient, i * perClient), limits: { wallMs: 30_000, maxOutputBytes: 4096 } });
      return watchJob(c, { id: job.id });
    }),
  );
  const s = (performance.now() - t0) / 1000;
  for (const f of finals)
    if (f.status !== 'completed' || f.counts.done !== perClient) throw new Error(`job ended ${f.status} with ${f.counts.done}/${perClient} done`);
  return { seconds: s, tasksPerS: (perClient * clients.length) / s };
}

const out = {};
await withCluster(1, 4, async ({ gateways, clients }) => {
  const g = gateways[0];
  const before = await statements(g);
  await new Promise((r) => setTimeout(r, 10_000));
  out.idlePerS = ((await statements(g)) - before) / 10;
  const start = await statements(g);
  const run = await runJobs(clients, TASKS);
  out.perTask = ((await statements(g)) - start) / TASKS;
  out.one = run;
});
await withCluster(2, 2, async ({ gateways, clients }) => {
  const before = await Promise.all(gateways.map(statements));
  out.two = await runJobs(clients, TASKS / 2);
  const after = await Promise.all(gateways.map(statements));
  out.twoPerTask = after.reduce((s, v, i) => s + v - before[i], 0) / TASKS;
});

await withIdlePeer(async ({ onA, onB }) => {
  out.whereNodesAre = await timeJob(onB, TASKS / 4, 0);
  out.workFlows = await timeJob(onA, TASKS / 4, TASKS / 4);
  out.workFlows.nodesMoved = (await listNodes(onA)).filter((n) => n.online).length;
});

console.log(`idle gateway: ${out.idlePerS.toFixed(1)} database round trips/s (cluster beats)`);
console.log(`one job of ${TASKS} tasks: ${out.perTask.toFixed(2)} round trips per task (one gateway), ${out.twoPerTask.toFixed(2)} (two gateways)`);
console.log(
  `one gateway, 4 nodes: ${out.one.tasksPerS.toFixed(0)} tasks/s; two gateways, 2 nodes each: ${out.two.tasksPerS.toFixed(0)} tasks/s (one machine, 2 cores)`,
);
const fmt = (r) => `first result ${r.firstResultS?.toFixed(2)} s, done ${r.seconds.toFixed(2)} s`;
console.log(
  `work flows (${TASKS / 4} tasks): on the gateway with 4 idle nodes ${fmt(out.whereNodesAre)}; on its node-less peer ${fmt(out.workFlows)} (${out.workFlows.nodesMoved} nodes moved to it)`,
);
const dir = join(ROOT, 'bench/results');
mkdirSync(dir, { recursive: true });
const file = join(dir, `cluster-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(file, `${JSON.stringify({ tasks: TASKS, ...out }, null, 2)}\n`);
console.log(`wrote ${file}`);
