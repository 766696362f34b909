#!/usr/bin/env node
/**
 * What attacks cost honest users (`node bench/attack.bench.js`, also in `npm run bench`): on one
 * real network (a gateway with its embedded chain, node processes), an honest requester's
 * single-task job latency (submit → finished, p50/p99) and a many-task job's throughput, first on
 * a quiet network, then while attackers at other client addresses run at once — the fuzzer
 * (HTTP requests and node frames; its messages per second are a figure too), JSON-RPC loops at a
 * huge gas limit, a flood of free jobs, sockets announcing 64 MiB frames before their hello, and
 * 64 MiB blobs. Prints a table and writes bench/results/attack-bench-<time>.json. Figures only.
 *
 *   node bench/attack.bench.js [--latency-jobs 60] [--tasks 2000] [--fuzz 20000]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { getResults, putBlob, submitJob, watchJob } from '@lode/sdk';
import { readWorkload } from '@lode/workloads';
import { ROOT, startNetwork } from '../attack/network.js';
import { numberArg, percentile } from './processes.js';

const LATENCY_JOBS = numberArg('latency-jobs', 60);
const TASKS = numberArg('tasks', 2000);
const FUZZ = numberArg('fuzz', 20_000);
const log = (...a) => process.stderr.write(`${a.join(' ')}\n`);

/** The honest requester's figures: single-task latency and a many-task job's throughput. */
async function honestFigures(client, sha256) {
  const lat = [];
  for (let i = 0; i < LATENCY_JOBS; i++) {
    const t = performance.now();
    const j = await submitJob(client, { module: sha256, tasks: [{ args: ['latency', String(i)] }], limits: { wallMs: 10_000, maxOutputBytes: 4096 } });
    await watchJob(client, { id: j.id });
    lat.push(performance.now() - t);
  }
  lat.sort((a, b) => a - b);
  const t0 = performance.now();
  const job = await submitJob(client, {
    module: sha256,
    tasks: Array.from({ length: TASKS }, (_, i) => ({ args: ['t', String(i)] })),
    limits: { wallMs: 10_000, maxOutputBytes: 4096 },
  });
  const final = await watchJob(client, { id: job.id });
  const seconds = (performance.now() - t0) / 1000;
  const results = await getResults(client, { id: job.id, pageSize: 5000 });
  const wrong = results.filter((r) => r.status !== 'done' || new TextDecoder().decode(r.stdout).trim() !== `t ${r.index}`).length + (TASKS - results.length);
  return { p50Ms: percentile(lat, 50), p99Ms: percentile(lat, 99), tasksPerSecond: TASKS / seconds, status: final.status, wrong };
}

async function main() {
  const started = new Date();
  log('starting a network: a gateway with its embedded chain, 3 nodes asking nothing (free honest jobs)…');
  const net = await startNetwork({ nodes: 3, nodePrice: '0', slots: 2 });
  try {
    const honest = await net.requester('bench-honest', '10.0.0.1');
    const { sha256 } = await putBlob(honest.client, { data: readWorkload('echo') });
    log(`quiet: ${LATENCY_JOBS} single-task jobs, then one of ${TASKS} tasks…`);
    const quiet = await honestFigures(honest.client, sha256);

    log(
      `under attack (attack/load.js in its own process): RPC loops, a job flood, 64 MiB pre-hello frames, 64 MiB blobs and ${FUZZ} fuzzed messages, at once…`,
    );
    const load = spawn(process.execPath, [join(ROOT, 'attack/load.js'), net.url, String(FUZZ)], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    load.stdout.on('data', (d) => (out += d));
    const loadDone = new Promise((r) => load.once('exit', r));
    await new Promise((r) => setTimeout(r, 3000)); // let the load ramp up
    const honest2 = await net.requester('bench-honest-2', '10.0.0.1'); // a fresh account: the per-account minute starts anew
    const { sha256: sha2 } = await putBlob(honest2.client, { data: readWorkload('echo') });
    const attacked = await honestFigures(honest2.client, sha2);
    load.stdin.write('stop\n');
    await loadDone;
    const loadReport = JSON.parse(out);
    const fuzz = loadReport.fuzz;
    const problems = await net.intact();

    const rows = [
      ['single-task job latency p50 (ms)', quiet.p50Ms, attacked.p50Ms],
      ['single-task job latency p99 (ms)', quiet.p99Ms, attacked.p99Ms],
      [`${TASKS}-task job throughput (tasks/s)`, quiet.tasksPerSecond, attacked.tasksPerSecond],
    ];
    process.stdout.write(`\nhonest work                              quiet   under attack\n`);
    for (const [name, a, b] of rows) process.stdout.write(`${name.padEnd(40)} ${a.toFixed(1).padStart(7)} ${b.toFixed(1).padStart(13)}\n`);
    process.stdout.write(
      `\nattack load: ${loadReport.rpcCalls} looping RPC calls, ${loadReport.floodSubmissions} flood submissions, ${loadReport.preHelloSockets} 64 MiB pre-hello sockets, ${loadReport.blobUploads} 64 MiB blob uploads; fuzzer ${fuzz.messages} messages at ${fuzz.perSecond.toFixed(0)}/s (${fuzz.unexpected.length} unexpected answers)\n`,
    );
    process.stdout.write(
      `honest results wrong: ${quiet.wrong} quiet, ${attacked.wrong} under attack; network intact: ${problems.length ? problems.join('; ') : 'yes'}\n`,
    );
    mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
    const file = join(ROOT, 'bench/results', `attack-bench-${started.toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(
      file,
      `${JSON.stringify({ startedAt: started.toISOString(), latencyJobs: LATENCY_JOBS, tasks: TASKS, quiet, attacked, load: loadReport, intact: problems }, null, 2)}\n`,
    );
    process.stdout.write(`wrote ${file}\n`);
  } finally {
    await net.stop();
  }
}

main().catch((err) => {
  process.stderr.write(`${err.stack ?? err}\n`);
  process.exit(1);
});
