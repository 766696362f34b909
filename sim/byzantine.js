#!/usr/bin/env node
/**
 * The Byzantine simulation on real processes: a `lode gateway` process and `--nodes` provider
 * processes (sim/node.js: the real agent and sandbox), a share of which lie — always, with
 * probability p, in collusion (the same wrong answer), lazily (replaying an old result) or after
 * earning trust (turn=N). Each scenario runs one job of `--tasks` primes tasks under a
 * verification policy, then checks every accepted result against an independent sieve.
 *
 * Prints a table — liars × policy → wrong results accepted, extra compute, tasks failed, results
 * re-verified after their node was audited or caught (and of those replaced), time (and how much
 * of it the job waited, its tasks all decided, for the audit of results taken on one node's word
 * alone), liars refused — and writes bench/results/sim-<time>.json. Figures only; no assertions.
 *
 *   npm run sim
 *   node sim/byzantine.js [--nodes 20] [--tasks 10000] [--span 2000]
 *                         [--scenarios "target:1e-4@0.1:always,replicate:3@0.2:collude"]
 *
 * A scenario is POLICY@LIAR_FRACTION:MODE. Extra compute = paid executions / tasks − 1 (the
 * gateway's own count: every replica and known-answer run).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { createLodeClient, getJob, getResults, putBlob, submitJob } from '@lode/sdk';
import { primesTasks, readWorkload, reference } from '@lode/workloads';
import { CLI, ROOT, freePort, nodeProcess, waitFor } from '../bench/processes.js';

const NODE = join(ROOT, 'sim/node.js');

export const DEFAULT_SCENARIOS = [
  'none@0.1:always',
  'target:1e-4@0.1:always',
  'target:1e-4@0.1:p=0.3',
  'target:1e-4@0.1:collude',
  'target:1e-4@0.1:lazy',
  'target:1e-4@0.1:turn=50',
  'replicate:3@0.2:collude',
];

const { values: a } = parseArgs({
  options: {
    nodes: { type: 'string', default: '20' },
    tasks: { type: 'string', default: '10000' },
    span: { type: 'string', default: '2000' },
    scenarios: { type: 'string', default: DEFAULT_SCENARIOS.join(',') },
    'timeout-s': { type: 'string', default: '900' },
  },
});
const log = (s) => process.stderr.write(`${s}\n`);

function parsePolicy(s) {
  const [kind, arg] = s.split(':');
  if (kind === 'none') return { kind: 'none' };
  if (kind === 'replicate') return { kind: 'replicate', k: Number(arg) };
  if (kind === 'target') return { kind: 'target', errorRate: Number(arg) };
  throw new Error(`unknown policy ${s}`);
}

function parseScenario(s) {
  const m = /^([^@]+)@([0-9.]+):(.+)$/.exec(s);
  if (!m) throw new Error(`a scenario is POLICY@FRACTION:MODE, got ${s}`);
  return { name: s, policy: parsePolicy(m[1]), policyText: m[1], liars: Number(m[2]), mode: m[3] };
}

async function runScenario(sc, o) {
  const dir = mkdtempSync(join(tmpdir(), 'lode-sim-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const procs = [];
  try {
    const gw = nodeProcess([CLI, 'gateway', '--ledger', 'off', '--port', String(port), '--data-dir', join(dir, 'gw'), '--log-level', 'warn']);
    procs.push(gw);
    await waitFor('the gateway', async () => (await fetch(`${url}/healthz`)).ok, 60_000);
    const liarCount = Math.round(o.nodes * sc.liars);
    // Liars spread evenly among honest nodes (they connect in this order).
    const liarAt = new Set(Array.from({ length: liarCount }, (_, k) => Math.floor((k * o.nodes) / liarCount)));
    const modes = Array.from({ length: o.nodes }, (_, i) => (liarAt.has(i) ? sc.mode : 'honest'));
    for (let i = 0; i < o.nodes; i++) {
      procs.push(nodeProcess([NODE, '--gateway', `ws://127.0.0.1:${port}/v1/nodes/ws`, '--data-dir', join(dir, `n${i}`), '--mode', modes[i], '--slots', '1']));
    }
    const addresses = new Map();
    await waitFor(
      `${o.nodes} nodes`,
      async () => {
        for (let i = 1; i < procs.length; i++) {
          const m = /"ready":"(0x[0-9a-fA-F]{40})"/.exec(procs[i].output());
          if (m) addresses.set(m[1].toLowerCase(), modes[i - 1]);
        }
        return addresses.size === o.nodes;
      },
      180_000,
    );

    const account = privateKeyToAccount(generatePrivateKey());
    const client = createLodeClient({ gateway: url, account, timeoutMs: 120_000 });
    const module = await readWorkload('primes');
    const { sha256 } = await putBlob(client, { data: module });
    const tasks = primesTasks({ lo: 0, hi: o.tasks * o.span, tasks: o.tasks });
    const t0 = Date.now();
    const job = await submitJob(client, { name: sc.name, module: sha256, tasks: tasks.map((t) => ({ args: t.args })), verification: sc.policy });
    let view;
    let last = 0;
    let allDecidedAt; // first seen with every task decided (a job may then wait for audits before it is final)
    await waitFor(
      'the job',
      async () => {
        view = await getJob(client, { id: job.id });
        const done = view.counts.done + view.counts.failed + view.counts.cancelled;
        if (done === o.tasks) allDecidedAt ??= Date.now();
        if (Date.now() - last > 5000) {
          last = Date.now();
          log(`  ${done}/${o.tasks} tasks, ${view.verification?.executions ?? 0} executions, ${view.verification?.wrong ?? 0} wrong results rejected`);
        }
        return view.finishedAt !== null;
      },
      o.timeoutMs,
    );
    const seconds = (Date.now() - t0) / 1000;

    // Every accepted result against the sieve.
    let wrongAccepted = 0;
    let failed = 0;
    const failedCodes = {};
    for (let offset = 0; offset < o.tasks; offset += 5000) {
      const results = await getResults(client, { id: job.id, offset, limit: 5000, pageSize: 5000 });
      for (const r of results) {
        if (r.status !== 'done') {
          failed++;
          const code = r.error?.code ?? r.status;
          failedCodes[code] = (failedCodes[code] ?? 0) + 1;
          if (failed <= 3) log(`  task ${r.index} ${r.status}: ${r.error?.code} ${r.error?.message}`);
          continue;
        }
        const t = tasks[r.index];
        const expected = `{"lo":${t.lo},"hi":${t.hi},"count":${reference.primesCount(t.lo, t.hi)}}\n`;
        if (Buffer.from(r.stdout).toString() !== expected) wrongAccepted++;
      }
    }
    const { nodes } = await (await fetch(`${url}/v1/nodes`)).json();
    const liarsRefused = nodes.filter((n) => addresses.get(n.address) !== 'honest' && n.reputation?.refused).length;
    const honestRefused = nodes.filter((n) => addresses.get(n.address) === 'honest' && n.reputation?.refused).length;
    const honestWrong = nodes.filter((n) => addresses.get(n.address) === 'honest').reduce((s, n) => s + (n.reputation?.invalid ?? 0), 0);
    const v = view.verification;
    return {
      scenario: sc.name,
      policy: sc.policyText,
      liars: liarCount,
      nodes: o.nodes,
      mode: sc.mode,
      tasks: o.tasks,
      wrongAccepted,
      failed,
      failedCodes,
      executions: v.policy === 'none' ? o.tasks : v.executions,
      extraCompute: v.policy === 'none' ? 0 : v.executions / o.tasks - 1,
      canaries: v.canaries,
      spotChecks: v.spotChecks,
      wrongRejected: v.wrong,
      reverified: v.reverified ?? 0,
      revised: v.revised ?? 0,
      finalWaitSeconds: allDecidedAt === undefined ? 0 : Math.max(0, (view.finishedAt - allDecidedAt) / 1000),
      liarsRefused,
      honestRefused,
      honestProvenWrong: honestWrong,
      seconds,
    };
  } finally {
    for (const p of procs.reverse()) p.child.kill('SIGTERM');
    await Promise.race([Promise.all(procs.map((p) => p.exited)), new Promise((r) => setTimeout(r, 10_000))]);
    for (const p of procs) p.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

const o = { nodes: Number(a.nodes), tasks: Number(a.tasks), span: Number(a.span), timeoutMs: Number(a['timeout-s']) * 1000 };
const scenarios = a.scenarios.split(',').map((s) => parseScenario(s.trim()));
const rows = [];
for (const sc of scenarios) {
  log(`scenario ${sc.name}: ${o.nodes} nodes, ${Math.round(o.nodes * sc.liars)} liars (${sc.mode}), ${o.tasks} tasks`);
  const r = await runScenario(sc, o);
  rows.push(r);
  log(`  → ${r.wrongAccepted} wrong accepted, extra compute ${(r.extraCompute * 100).toFixed(1)}%, ${r.failed} failed, ${r.seconds.toFixed(1)} s`);
}

const pct = (x) => `${(x * 100).toFixed(1)} %`;
const lines = [
  '| policy | liars | mode | wrong accepted | extra compute | failed | wrong rejected | known-answer runs | re-verified (revised) | liars refused | honest refused | time (of which waiting for audits) |',
  '|---|---|---|---|---|---|---|---|---|---|---|---|',
  ...rows.map(
    (r) =>
      `| ${r.policy} | ${r.liars}/${r.nodes} | ${r.mode} | ${r.wrongAccepted} / ${r.tasks} | ${pct(r.extraCompute)} | ${r.failed} | ${r.wrongRejected} | ${r.canaries} | ${r.reverified} (${r.revised}) | ${r.liarsRefused} | ${r.honestRefused} | ${r.seconds.toFixed(1)} s (${r.finalWaitSeconds.toFixed(1)} s) |`,
  ),
];
process.stdout.write(`${lines.join('\n')}\n`);
const outDir = join(ROOT, 'bench/results');
mkdirSync(outDir, { recursive: true });
const file = join(outDir, `sim-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(
  file,
  JSON.stringify({ when: new Date().toISOString(), node: process.version, cpu: cpus()[0]?.model, cores: cpus().length, options: o, rows }, null, 2),
);
log(`wrote ${file}`);
