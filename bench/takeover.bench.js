#!/usr/bin/env node
/**
 * How long a cluster of gateways takes to recover a job from a gateway killed mid-job
 * (docs/benchmarks.md). Each run: a fresh database on a PostgreSQL server, two `lode gateway
 * --database-url` processes sharing one identity, a node listing both (`--gateway A,B`) and one
 * on the second only; a job of 100 `primes` tasks is submitted to the gateway the listing
 * node chose, and that gateway is SIGKILLed once five tasks are done. Measured from the kill:
 *   owned     — until the survivor owns the job (job_owners.epoch = 2);
 *   finished  — until the job's `finished` event on the survivor.
 * Every result is checked against a sieve and every task has one result row.
 *
 *   node bench/takeover.bench.js [--runs 10] [--lease-ms 8000]
 * Needs a PostgreSQL server: LODE_BENCH_DATABASE_URL or LODE_TEST_DATABASE_URL (a role that may
 * CREATE DATABASE; `.ci/run` makes one). Without one it says so and exits 0.
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { loadOrCreateAccount } from '@lode/keystore';
import { createLodeClient, getJob, getResults, listNodes, putBlob, submitJob, watchJob } from '@lode/sdk';
import { readWorkload } from '@lode/workloads';
import { benchDatabase, freePort, lodeProcess, numberArg, percentile, ROOT, waitFor } from './processes.js';

const RUNS = numberArg('runs', 10);
const LEASE_MS = numberArg('lease-ms', 8000);
const TASKS = 100;
const WIDTH = 200_000;
const { url: adminUrl, admin } = benchDatabase('takeover');
/** The independent reference: primes per task's range, [i·WIDTH, (i+1)·WIDTH), by one sieve of Eratosthenes. */
const expected = (() => {
  const hi = TASKS * WIDTH;
  const mark = new Uint8Array(hi);
  const counts = new Array(TASKS).fill(0);
  for (let i = 2; i < hi; i++) {
    if (mark[i]) continue;
    counts[Math.floor(i / WIDTH)]++;
    for (let j = i * i; j < hi; j += i) mark[j] = 1;
  }
  return counts;
})();

async function run(k) {
  const name = `lode_takeover_${process.pid}_${k}`;
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const dbUrl = url.toString();
  const dir = mkdtempSync(join(tmpdir(), 'lode-takeover-'));
  const procs = [];
  const db = new pg.Client({ connectionString: dbUrl });
  try {
    const gateway = async (d) => {
      const port = await freePort();
      const p = lodeProcess([
        'gateway',
        '--port',
        String(port),
        '--data-dir',
        d,
        '--database-url',
        dbUrl,
        '--ledger',
        'off',
        '--cluster-lease-ms',
        String(LEASE_MS),
      ]);
      procs.push(p);
      const u = `http://127.0.0.1:${port}`;
      await waitFor(`gateway ${port}`, async () => (await fetch(`${u}/healthz`)).ok);
      return { url: u, proc: p };
    };
    const a = await gateway(join(dir, 'a'));
    mkdirSync(join(dir, 'b'), { recursive: true });
    cpSync(join(dir, 'a', 'gateway'), join(dir, 'b', 'gateway'), { recursive: true });
    const b = await gateway(join(dir, 'b'));
    const mover = (await loadOrCreateAccount(join(dir, 'node-ab'), { create: true })).account.address.toLowerCase();
    procs.push(lodeProcess(['node', '--gateway', `${a.url},${b.url}`, '--data-dir', join(dir, 'node-ab'), '--slots', '1']));
    procs.push(lodeProcess(['node', '--gateway', b.url, '--data-dir', join(dir, 'node-b'), '--slots', '1']));
    const account = privateKeyToAccount(generatePrivateKey());
    const on = (g) => createLodeClient({ gateway: g.url, account });
    const holds = async (g) => (await listNodes(on(g))).some((n) => n.online && n.address.toLowerCase() === mover);
    const victim = await waitFor('the listing node connected', async () => ((await holds(a)) ? a : (await holds(b)) ? b : undefined));
    const survivor = victim === a ? b : a;
    const { sha256 } = await putBlob(on(victim), { data: readWorkload('primes') });
    const tasks = Array.from({ length: TASKS }, (_, i) => ({ args: [String(i * WIDTH), String((i + 1) * WIDTH)] }));
    const job = await submitJob(on(victim), { module: sha256, tasks, limits: { wallMs: 30_000, maxOutputBytes: 4096 } });
    await waitFor('some progress', async () => (await getJob(on(victim), { id: job.id })).counts.done >= 5);
    await db.connect();
    victim.proc.child.kill('SIGKILL');
    const t0 = performance.now();
    await victim.proc.exited;
    const owned = await waitFor(
      'the survivor owns the job',
      async () => ((await db.query('SELECT epoch FROM job_owners WHERE job_id = $1', [job.id])).rows[0]?.epoch === 2 ? performance.now() : undefined),
      120_000,
      20,
    );
    const final = await watchJob(on(survivor), { id: job.id });
    const t2 = performance.now();
    const results = await getResults(on(survivor), { id: job.id });
    let wrong = TASKS - results.length;
    for (const r of results) if (r.status !== 'done' || JSON.parse(new TextDecoder().decode(r.stdout)).count !== expected[r.index]) wrong++;
    const { rows } = await db.query('SELECT count(*)::int AS n, count(DISTINCT idx)::int AS d FROM task_results WHERE job_id = $1', [job.id]);
    if (final.status !== 'completed' || rows[0].n !== TASKS || rows[0].d !== TASKS)
      throw new Error(`run ${k}: ${final.status}, ${rows[0].n} rows for ${rows[0].d} tasks`);
    return { ownedMs: owned - t0, finishedMs: t2 - t0, wrong };
  } finally {
    await db.end().catch(() => {});
    for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    await Promise.all(procs.map((p) => p.exited));
    rmSync(dir, { recursive: true, force: true });
    await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }
}

const runs = [];
for (let k = 0; k < RUNS; k++) {
  const r = await run(k);
  runs.push(r);
  console.log(`run ${k + 1}/${RUNS}: owned after ${r.ownedMs.toFixed(0)} ms, finished after ${r.finishedMs.toFixed(0)} ms (${r.wrong} wrong)`);
}
const owned = runs.map((r) => r.ownedMs);
const finished = runs.map((r) => r.finishedMs);
const report = {
  date: new Date().toISOString(),
  runs: RUNS,
  leaseMs: LEASE_MS,
  tasks: TASKS,
  ownedP50Ms: percentile(owned, 50),
  ownedMaxMs: Math.max(...owned),
  finishedP50Ms: percentile(finished, 50),
  finishedMaxMs: Math.max(...finished),
  wrongResults: runs.reduce((n, r) => n + r.wrong, 0),
};
console.log(
  `takeover after SIGKILL, ${RUNS} runs, lease ${LEASE_MS} ms: owned p50 ${report.ownedP50Ms.toFixed(0)} / max ${report.ownedMaxMs.toFixed(0)} ms; ` +
    `finished p50 ${report.finishedP50Ms.toFixed(0)} / max ${report.finishedMaxMs.toFixed(0)} ms; ${report.wrongResults} wrong`,
);
mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
const file = join(ROOT, 'bench/results', `takeover-${report.date.replace(/[:.]/g, '-')}.json`);
writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
console.log(`wrote ${file}`);
