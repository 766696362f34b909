#!/usr/bin/env node
/**
 * `npm run bench` — Lode's figures, in one run (see docs/benchmarks.md):
 *   (a) end to end: N trivial tasks (the `echo` workload) in one job over a gateway process and
 *       4 node processes, started with the `lode` CLI; throughput, and submit→result latency
 *       (p50/p99) of single-task jobs submitted one after another;
 *   (b) baseline: the same N tasks on a local piscina worker-thread pool running the same
 *       sandbox code, and the ratio (a)/(b);
 *   (c) warm sandbox start per task (runTask inline, and the node pool's runBatch);
 *   (d) the peer: the same trivial work as jobs on BullMQ over a Redis server started for the
 *       run (bench/bullmq.js; skipped, saying so, without Debian's redis-server);
 *   (e) footprint: resident memory of the gateway and of a node — just started (+3 s), at peak
 *       during (a), and idle (75 s with nothing to do after (a)) — and of an idle `lode gateway`
 *       with its embedded chain and database (+5 s and +30 s after it started).
 * Prints a table and writes bench/results/bench-<time>.json. Never asserts: figures only.
 *
 * The throughput job runs twice: first on freshly started nodes (cold: every worker thread still
 * compiling the sandbox code), then again (steady state, as a long-running network is). Both
 * figures are reported.
 *
 *   npm run bench -- [--tasks 20000] [--nodes 4] [--slots N] [--latency-jobs 200]
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Piscina } from 'piscina';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { createLodeClient, getResults, listNodes, putBlob, runJob } from '@lode/sdk';
import { createNodeSandbox, pagesForMiB, prepareModule, runTask } from '@lode/sandbox';
import { readWorkload } from '@lode/workloads';
import { bullmqPeer } from './bullmq.js';
import { CLI, ROOT, freePort, memoryOf, numberArg, percentile, waitFor } from './processes.js';

const TASKS = numberArg('tasks', 20_000);
const NODES = numberArg('nodes', 4);
const SLOTS = numberArg('slots', 0);
const LATENCY_JOBS = numberArg('latency-jobs', 200);
const LIMITS = { memoryMiB: 16, wallMs: 10_000, maxOutputBytes: 4096 };

const echo = readWorkload('echo');
const echoHash = createHash('sha256').update(echo).digest('hex');
const expected = (i) => `task ${i}`;
const taskArgs = (i) => ['task', String(i)];

const log = (...a) => process.stderr.write(`${a.join(' ')}\n`);

function lode(args) {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env } });
  return child;
}

// ---------------------------------------------------------------- (a) end to end
async function endToEnd() {
  const dir = mkdtempSync(join(tmpdir(), 'lode-bench-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  // The core path, without payments: settlement has its own benchmark (bench/settlement.bench.js).
  // One requester submits every job here: the per-account and per-IP submission quotas (there
  // against strangers) are lifted for the benchmark.
  const quotas = ['--limit', 'jobsPerMinute=1000000', '--limit', 'jobsPerMinutePerIp=1000000', '--limit', 'maxOpenJobsPerAccount=100000'];
  const procs = [lode(['gateway', '--port', String(port), '--data-dir', join(dir, 'gw'), '--log-level', 'warn', '--ledger', 'off', ...quotas])];
  try {
    await waitFor('gateway', async () => (await fetch(`${url}/healthz`)).ok);
    for (let i = 0; i < NODES; i++) {
      procs.push(lode(['node', '--gateway', url, '--data-dir', join(dir, `n${i}`), ...(SLOTS ? ['--slots', String(SLOTS)] : [])]));
    }
    const client = createLodeClient({ gateway: url, account: privateKeyToAccount(generatePrivateKey()) });
    await waitFor(`${NODES} nodes`, async () => (await listNodes(client)).filter((n) => n.online).length === NODES);
    const { sha256 } = await putBlob(client, { data: echo });
    // Just started: 3 s after the nodes connected and the module was uploaded.
    await new Promise((r) => setTimeout(r, 3000));
    const started = footprint(procs);

    const limits = { resources: { memoryMiB: LIMITS.memoryMiB }, limits: { wallMs: LIMITS.wallMs, maxOutputBytes: LIMITS.maxOutputBytes } };
    const decoder = new TextDecoder();
    /** One job of TASKS tasks, submit → finished, with every result checked. */
    const throughputRun = async (label) => {
      log(`(a) ${label}: ${TASKS} tasks over ${NODES} nodes...`);
      const t0 = performance.now();
      let tSubmitted = 0;
      const final = await runJob(client, {
        module: sha256,
        tasks: Array.from({ length: TASKS }, (_, i) => ({ args: taskArgs(i) })),
        ...limits,
        onSubmitted: () => (tSubmitted = performance.now()),
      });
      const t1 = performance.now();
      const results = await getResults(client, { id: final.id, pageSize: 5000 });
      let wrong = TASKS - results.length;
      for (const r of results) if (r.status !== 'done' || decoder.decode(r.stdout) !== expected(r.index)) wrong++;
      return {
        status: final.status,
        done: final.counts.done,
        wrongResults: wrong,
        resultsChecked: results.length,
        nodesUsed: new Set(results.map((r) => r.node)).size,
        submitMs: tSubmitted - t0,
        totalMs: t1 - t0,
        tasksPerSecond: TASKS / ((t1 - t0) / 1000),
      };
    };
    const cold = await throughputRun('cold nodes');
    const warm = await throughputRun('steady state');
    const peak = footprint(procs);

    // Latency: single-task jobs, one after another (submit → finished event), as `lode run`
    // sends them: runJob submits and follows in one request.
    log(`(a) latency: ${LATENCY_JOBS} single-task jobs...`);
    const lat = [];
    for (let i = 0; i < LATENCY_JOBS; i++) {
      const s = performance.now();
      await runJob(client, { module: sha256, tasks: [{ args: taskArgs(i) }], ...limits });
      lat.push(performance.now() - s);
    }
    lat.sort((a, b) => a - b);
    // Idle: after all that work, 75 s with nothing to do (garbage collected, the node's
    // preparation worker ended after 10 s and its run workers after 60 s). Measured last so that
    // the cold run above stays the first job after start (a network idle for 30 s first ran it at
    // ~4,000 tasks/s instead of ~5,300: V8 lets the workers' compiled code go while they idle).
    await new Promise((r) => setTimeout(r, 75_000));
    const idle = footprint(procs);
    return {
      tasks: TASKS,
      nodes: NODES,
      cold,
      ...warm,
      latencyJobs: LATENCY_JOBS,
      latencyP50Ms: percentile(lat, 50),
      latencyP99Ms: percentile(lat, 99),
      memoryMiB: {
        gatewayStarted: started.gateway.rss,
        nodeStarted: started.node.rss,
        gatewayIdle: idle.gateway.rss,
        nodeIdle: idle.node.rss,
        gatewayPeak: peak.gateway.peak,
        nodePeak: peak.node.peak,
      },
    };
  } finally {
    for (const p of procs.slice(1)) p.kill('SIGKILL');
    procs[0].kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    procs[0].kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Resident memory (MiB) of the gateway (procs[0]) and the largest node. */
function footprint(procs) {
  const [gateway, ...nodes] = procs.map((p) => memoryOf(p.pid) ?? { rss: Number.NaN, peak: Number.NaN });
  const max = (key) => Math.max(...nodes.map((n) => n[key]));
  return { gateway, node: { rss: max('rss'), peak: max('peak') } };
}

/** An idle `lode gateway` as `lode up` runs it (embedded chain and database, ledger on): resident MiB after it settles. */
async function idleGatewayWithChain() {
  const dir = mkdtempSync(join(tmpdir(), 'lode-bench-idle-'));
  const port = await freePort();
  const gw = lode(['gateway', '--port', String(port), '--data-dir', join(dir, 'gw'), '--log-level', 'warn']);
  try {
    await waitFor('gateway with its chain', async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).ok, 120_000);
    await new Promise((r) => setTimeout(r, 5000));
    const started = memoryOf(gw.pid);
    await new Promise((r) => setTimeout(r, 25_000));
    const m = memoryOf(gw.pid);
    return { startedRssMiB: started?.rss, rssMiB: m?.rss, peakMiB: m?.peak };
  } finally {
    gw.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    gw.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

function sandboxTask(i) {
  return { moduleHash: echoHash, args: taskArgs(i), env: {}, stdin: new Uint8Array(0), files: [], mounts: [], seed: echoHash, limits: LIMITS };
}

// ---------------------------------------------------------------- (b) piscina baseline
async function baseline() {
  const threads = availableParallelism();
  const pool = new Piscina({ filename: new URL('./piscina-worker.js', import.meta.url).href, minThreads: threads, maxThreads: threads });
  const one = (i) => pool.run({ moduleBytes: echo, hash: echoHash, task: sandboxTask(i) });
  await Promise.all(Array.from({ length: TASKS }, (_, i) => one(i))); // warm, as the nodes are for the steady-state figure
  log(`(b) ${TASKS} tasks on piscina (${threads} threads)...`);
  const t0 = performance.now();
  const out = await Promise.all(Array.from({ length: TASKS }, (_, i) => one(i)));
  const ms = performance.now() - t0;
  const decoder = new TextDecoder();
  const wrong = out.filter((r, i) => r.status !== 'ok' || decoder.decode(r.stdout) !== expected(i)).length;
  await pool.destroy();
  return { threads, tasks: TASKS, totalMs: ms, tasksPerSecond: TASKS / (ms / 1000), wrongResults: wrong };
}

// ---------------------------------------------------------------- (c) warm sandbox start
async function warmSandbox() {
  const module = new WebAssembly.Module(prepareModule(echo, pagesForMiB(LIMITS.memoryMiB)));
  const n = Math.min(TASKS, 20_000);
  for (let i = 0; i < 500; i++) runTask(module, sandboxTask(i));
  let t0 = performance.now();
  for (let i = 0; i < n; i++) runTask(module, sandboxTask(i));
  const inlineUs = ((performance.now() - t0) * 1000) / n;

  const sandbox = createNodeSandbox({ workers: availableParallelism() });
  await sandbox.addModule(echoHash, echo);
  await sandbox.runBatch(Array.from({ length: 1000 }, (_, i) => sandboxTask(i)));
  t0 = performance.now();
  const batches = [];
  for (let i = 0; i < n; i += 250) batches.push(sandbox.runBatch(Array.from({ length: Math.min(250, n - i) }, (_, k) => sandboxTask(i + k))));
  await Promise.all(batches);
  const poolUs = ((performance.now() - t0) * 1000) / n;
  await sandbox.close();
  return { tasks: n, inlineUsPerTask: inlineUs, poolRunBatchUsPerTask: poolUs };
}

const started = new Date();
const e2e = await endToEnd();
const base = await baseline();
const warm = await warmSandbox();
const inlineModule = new WebAssembly.Module(prepareModule(echo, pagesForMiB(LIMITS.memoryMiB)));
const textOf = new TextDecoder();
const peer = await bullmqPeer({
  tasks: TASKS,
  latencyJobs: LATENCY_JOBS,
  run: (i) => textOf.decode(runTask(inlineModule, sandboxTask(i)).stdout),
  expected,
  log,
});
const idleChain = await idleGatewayWithChain();
const report = {
  date: started.toISOString(),
  machine: { cores: availableParallelism(), cpu: cpus()[0]?.model, node: process.version },
  endToEnd: e2e,
  baseline: base,
  ratioEndToEndOverBaseline: e2e.tasksPerSecond / base.tasksPerSecond,
  warmSandbox: warm,
  bullmq: peer,
  latencyRatioOverBullmq: peer.skipped ? null : e2e.latencyP50Ms / peer.latencyP50Ms,
  idleGatewayWithChain: idleChain,
};
mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
const file = join(ROOT, 'bench/results', `bench-${started.toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);

const f = (x, d = 0) => x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
console.log(`
Lode benchmark — ${report.machine.cores} cores, ${report.machine.cpu}, Node ${report.machine.node}
(a) end to end, ${f(e2e.tasks)} echo tasks, 1 gateway + ${e2e.nodes} node processes
    throughput          ${f(e2e.tasksPerSecond)} tasks/s steady state   (${f(e2e.totalMs)} ms; submit ${f(e2e.submitMs)} ms; ${e2e.status}, ${e2e.wrongResults} wrong of ${e2e.resultsChecked} checked, ${e2e.nodesUsed} nodes used)
                        ${f(e2e.cold.tasksPerSecond)} tasks/s on cold nodes (first job after start; ${e2e.cold.wrongResults} wrong of ${e2e.cold.resultsChecked})
    latency (1-task job) p50 ${f(e2e.latencyP50Ms, 1)} ms   p99 ${f(e2e.latencyP99Ms, 1)} ms   (${e2e.latencyJobs} jobs, submit → finished)
(b) piscina baseline    ${f(base.tasksPerSecond)} tasks/s   (${base.threads} threads, ${base.wrongResults} wrong)
    ratio (a)/(b)        ${f(report.ratioEndToEndOverBaseline, 2)}
(c) warm sandbox start  ${f(warm.inlineUsPerTask, 1)} µs/task inline, ${f(warm.poolRunBatchUsPerTask, 1)} µs/task via the worker pool (runBatch)
(d) BullMQ on Redis     ${
  peer.skipped
    ? `SKIPPED — ${peer.skipped}`
    : `latency p50 ${f(peer.latencyP50Ms, 1)} ms   p99 ${f(peer.latencyP99Ms, 1)} ms;   ${f(peer.tasksPerSecond)} jobs/s (${peer.wrongResults} wrong)
    Lode/BullMQ latency  p50 ×${f(report.latencyRatioOverBullmq, 1)}`
}
(e) footprint (RSS)     gateway ${f(e2e.memoryMiB.gatewayIdle)} MiB idle (${f(e2e.memoryMiB.gatewayStarted)} just started), ${f(e2e.memoryMiB.gatewayPeak)} MiB peak (no ledger)
                        node ${f(e2e.memoryMiB.nodeIdle)} MiB idle (${f(e2e.memoryMiB.nodeStarted)} just started), ${f(e2e.memoryMiB.nodePeak)} MiB peak
                        an idle gateway with its embedded chain and database (as lode up runs it): ${f(idleChain.rssMiB)} MiB (${f(idleChain.startedRssMiB)} just started)
wrote ${file}`);
