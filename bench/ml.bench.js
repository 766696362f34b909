#!/usr/bin/env node
/**
 * Machine learning through the network, beside the same kernel on a local worker pool and in
 * native C (docs/ml.md, docs/benchmarks.md). A real `lode gateway` (no ledger) and `--nodes`
 * `lode node` processes of one slot each on this machine:
 *   network  — `lode run mnist-train --rounds R --tasks K --json` (the user's command, start to
 *              end: uploads, jobs, averaging, the test-set check after every round), then
 *              `lode run mnist-classify` on the 10,000 test images;
 *   pool     — one round of the same K training tasks, and the same inference tasks, on
 *              @lode/sandbox's worker pool (2 workers, fuel-metered, as a node runs them);
 *   native   — bench/native/mnist.c (the same loops in float32), clang -O2, one process per
 *              core on the same shards (skipped, saying so, without clang).
 * Training samples/s count every image of every epoch; fuel per sample is the metered cost.
 *
 *   node bench/ml.bench.js [--rounds 8] [--tasks 8] [--nodes 2]
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createNodeSandbox } from '@lode/sandbox';
import { sha256Hex } from '@lode/protocol';
import { initModel, modelBytes, readMnist, readWorkload } from '@lode/workloads';
import { freePort, lodeProcess, numberArg, ROOT, waitFor } from './processes.js';

const ROUNDS = numberArg('rounds', 8);
const TASKS = numberArg('tasks', 8);
const NODES = numberArg('nodes', 2);
const HIDDEN = 128;
const EPOCHS = 2;
/** The module's arguments (learning rate in millionths), and the CLI's for the same run. */
const ARGS = [String(HIDDEN), String(EPOCHS), '100000', '16'];
const CLI_ARGS = [String(HIDDEN), String(EPOCHS), '0.1', '16'];

const dir = mkdtempSync(join(tmpdir(), 'lode-ml-bench-'));
const procs = [];
const out = { rounds: ROUNDS, tasks: TASKS, nodes: NODES, hidden: HIDDEN, epochs: EPOCHS };
const train = readMnist('train');
const test = readMnist('test');
const per = Math.ceil(train.count / TASKS);
const shard = (set, k, n) => ({
  images: set.images.subarray(k * n * 784, Math.min(set.count, (k + 1) * n) * 784),
  labels: set.labels.subarray(k * n, Math.min(set.count, (k + 1) * n)),
});

/** Runs `lode` with these args to its end; its stdout parsed as JSON. */
function lodeJson(args) {
  return new Promise((resolve, reject) => {
    const p = lodeProcess(args);
    p.exited.then(({ code }) => {
      if (code !== 0) return reject(new Error(`lode ${args.join(' ')} exited ${code}\n${p.output().slice(-3000)}`));
      const text = p.output();
      resolve(JSON.parse(text.slice(text.indexOf('{'), text.lastIndexOf('}') + 1)));
    });
  });
}

try {
  // ---- the network
  const port = await freePort();
  const gateway = `http://127.0.0.1:${port}`;
  procs.push(lodeProcess(['gateway', '--port', String(port), '--data-dir', join(dir, 'gw'), '--ledger', 'off']));
  await waitFor('gateway', async () => (await fetch(`${gateway}/healthz`).catch(() => undefined))?.ok);
  for (let i = 0; i < NODES; i++) procs.push(lodeProcess(['node', '--gateway', gateway, '--data-dir', join(dir, `node-${i}`), '--slots', '1']));
  await waitFor('nodes', async () => ((await (await fetch(`${gateway}/v1/nodes`)).json()).nodes ?? []).filter((n) => n.online).length >= NODES);
  const common = ['--gateway', gateway, '--data-dir', join(dir, 'requester')];
  let t0 = performance.now();
  const trained = await lodeJson([
    ...common,
    'run',
    'mnist-train',
    '--rounds',
    String(ROUNDS),
    '--tasks',
    String(TASKS),
    '--out',
    join(dir, 'model'),
    '--json',
    '--',
    ...CLI_ARGS,
  ]);
  const trainS = (performance.now() - t0) / 1000;
  const roundS = trained.rounds.reduce((s, r) => s + r.seconds, 0);
  const samples = train.count * EPOCHS * ROUNDS;
  out.network = {
    totalSeconds: trainS,
    samplesPerS: samples / roundS,
    fuelPerSample: trained.rounds.reduce((s, r) => s + r.fuel, 0) / samples,
    accuracy: trained.rounds.map((r) => r.testAccuracy),
    roundSeconds: trained.rounds.map((r) => r.seconds),
    model: trained.sha256,
  };
  t0 = performance.now();
  const classified = await lodeJson([...common, 'run', 'mnist-classify', '--model', join(dir, 'model'), '--tasks', String(TASKS), '--json']);
  out.network.inferenceImagesPerS = test.count / ((performance.now() - t0) / 1000);
  out.network.inferenceAccuracy = classified.accuracy;

  // ---- the same WASM on a local worker pool
  const pool = createNodeSandbox({ workers: 2 });
  const wasm = readWorkload('mnist');
  const hash = sha256Hex(wasm);
  await pool.addModule(hash, wasm);
  const model = modelBytes(initModel(HIDDEN, 1));
  const task = (args, data) => ({
    moduleHash: hash,
    args,
    env: {},
    stdin: new Uint8Array(),
    files: [
      { path: '/in/model.bin', data: model },
      { path: '/in/images.bin', data: data.images },
      { path: '/in/labels.bin', data: data.labels },
    ],
    mounts: [],
    seed: 'a'.repeat(64),
    limits: { memoryMiB: 256, wallMs: 600_000, maxOutputBytes: 4 << 20, fuel: 1e12 },
  });
  t0 = performance.now();
  const poolRuns = await Promise.all(Array.from({ length: TASKS }, (_, k) => pool.run(task(['train', ...ARGS, String(k + 1)], shard(train, k, per)))));
  const poolS = (performance.now() - t0) / 1000;
  if (poolRuns.some((r) => r.status !== 'ok' || r.exitCode !== 0)) throw new Error('a pool task failed');
  out.pool = { samplesPerS: (train.count * EPOCHS) / poolS };
  const perTest = Math.ceil(test.count / TASKS);
  t0 = performance.now();
  await Promise.all(Array.from({ length: TASKS }, (_, k) => pool.run(task(['eval', String(HIDDEN)], shard(test, k, perTest)))));
  out.pool.inferenceImagesPerS = test.count / ((performance.now() - t0) / 1000);
  await pool.close();

  // ---- native C -O2, one process per core
  try {
    const exe = join(dir, 'mnist-native');
    execFileSync('clang', ['-O2', '-ffp-contract=off', '-o', exe, join(ROOT, 'bench/native/mnist.c'), '-lm']);
    const runNative = (args, dirs) =>
      Promise.all(
        dirs.map(
          (d) =>
            new Promise((resolve, reject) => {
              const c = spawn(exe, [...args, d], { stdio: 'ignore' });
              c.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`native exited ${code}`))));
            }),
        ),
      );
    const shardDirs = (set, n, count) =>
      Array.from({ length: count }, (_, k) => {
        const d = join(dir, `native-${n}-${k}`);
        mkdirSync(d, { recursive: true });
        const s = shard(set, k, n);
        writeFileSync(join(d, 'model.bin'), model);
        writeFileSync(join(d, 'images.bin'), s.images);
        writeFileSync(join(d, 'labels.bin'), s.labels);
        return d;
      });
    const trainDirs = shardDirs(train, per, TASKS);
    t0 = performance.now();
    for (let k = 0; k < TASKS; k += 2) await runNative(['train', ...ARGS, String(k + 1)], trainDirs.slice(k, k + 2));
    out.native = { samplesPerS: (train.count * EPOCHS) / ((performance.now() - t0) / 1000) };
    const testDirs = shardDirs(test, perTest, TASKS);
    t0 = performance.now();
    for (let k = 0; k < TASKS; k += 2) await runNative(['eval', String(HIDDEN)], testDirs.slice(k, k + 2));
    out.native.inferenceImagesPerS = test.count / ((performance.now() - t0) / 1000);
  } catch (err) {
    out.native = { skipped: `no native build (${err.message.split('\n')[0]}); install clang to measure it` };
  }
} finally {
  for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGTERM');
  await Promise.all(procs.map((p) => p.exited));
  rmSync(dir, { recursive: true, force: true });
}

const n = (x) => Math.round(x).toLocaleString('en-US');
console.log(`MNIST, an MLP 784-${HIDDEN}-10, ${EPOCHS} epochs per round, ${TASKS} shards, ${NODES} node(s) of one slot on this machine:`);
console.log(
  `  training samples/s: network ${n(out.network.samplesPerS)} | worker pool ${n(out.pool.samplesPerS)} | native C -O2 ${out.native.samplesPerS ? n(out.native.samplesPerS) : out.native.skipped}`,
);
console.log(
  `  inference images/s: network ${n(out.network.inferenceImagesPerS)} (the whole command: uploads, job, checks) | worker pool ${n(out.pool.inferenceImagesPerS)} | native C -O2 ${out.native.inferenceImagesPerS ? n(out.native.inferenceImagesPerS) : '—'}`,
);
console.log(`  fuel per training sample: ${n(out.network.fuelPerSample)}`);
console.log(
  `  test accuracy per round: ${out.network.accuracy.map((a) => `${(a * 100).toFixed(2)}%`).join(', ')}; inference ${(out.network.inferenceAccuracy * 100).toFixed(2)}%`,
);
const resultsDir = join(ROOT, 'bench/results');
mkdirSync(resultsDir, { recursive: true });
const file = join(resultsDir, `ml-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
console.log(`wrote ${file}`);
