#!/usr/bin/env node
/**
 * Machine learning through the network, beside the same kernel on a local worker pool and in
 * native C (docs/ml.md, docs/benchmarks.md). A real `lode gateway` (no ledger) and `--nodes`
 * `lode node` processes of one slot each on this machine:
 * Both architectures of the kernel — the CNN `mnist-train` uses by default (c8) and the MLP (128).
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
const EPOCHS = 2;
/** Both architectures the kernel offers: the CNN mnist-train uses by default, and the faster MLP. */
const ARCHES = [
  { arch: 'c8', words: 'a CNN of 8 5×5 filters, 2×2 max-pool, 10 outputs' },
  { arch: '128', words: 'an MLP 784-128-10' },
];

const dir = mkdtempSync(join(tmpdir(), 'lode-ml-bench-'));
const procs = [];
const out = { rounds: ROUNDS, tasks: TASKS, nodes: NODES, epochs: EPOCHS };
const train = readMnist('train');
const test = readMnist('test');
const per = Math.ceil(train.count / TASKS);
const perTest = Math.ceil(test.count / TASKS);
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

/** The network, the worker pool and native C for one architecture. */
async function measure(arch, common) {
  const args = [arch, String(EPOCHS), '100000', '16']; // the module's (learning rate in millionths)
  const result = {};
  // ---- the network: the user's commands, start to end
  let t0 = performance.now();
  const modelDir = join(dir, `model-${arch}`);
  const trained = await lodeJson([
    ...common,
    'run',
    'mnist-train',
    '--rounds',
    String(ROUNDS),
    '--tasks',
    String(TASKS),
    '--out',
    modelDir,
    '--json',
    '--',
    arch,
    String(EPOCHS),
    '0.1',
    '16',
  ]);
  const trainS = (performance.now() - t0) / 1000;
  const roundS = trained.rounds.reduce((s, r) => s + r.seconds, 0);
  const samples = train.count * EPOCHS * ROUNDS;
  result.network = {
    totalSeconds: trainS,
    samplesPerS: samples / roundS,
    fuelPerSample: trained.rounds.reduce((s, r) => s + r.fuel, 0) / samples,
    accuracy: trained.rounds.map((r) => r.testAccuracy),
    roundSeconds: trained.rounds.map((r) => r.seconds),
    model: trained.sha256,
  };
  t0 = performance.now();
  const classified = await lodeJson([...common, 'run', 'mnist-classify', '--model', modelDir, '--tasks', String(TASKS), '--json']);
  result.network.inferenceImagesPerS = test.count / ((performance.now() - t0) / 1000);
  result.network.inferenceAccuracy = classified.accuracy;

  // ---- the same WASM on a local worker pool
  const pool = createNodeSandbox({ workers: 2 });
  const wasm = readWorkload('mnist');
  const hash = sha256Hex(wasm);
  await pool.addModule(hash, wasm);
  const model = modelBytes(initModel(arch, 1));
  const task = (taskArgs, data) => ({
    moduleHash: hash,
    args: taskArgs,
    env: {},
    stdin: new Uint8Array(),
    files: [
      { path: '/in/model.bin', data: model },
      { path: '/in/images.bin', data: data.images },
      { path: '/in/labels.bin', data: data.labels },
    ],
    mounts: [],
    seed: 'a'.repeat(64),
    limits: { memoryMiB: 256, wallMs: 600_000, maxOutputBytes: 4 << 20, fuel: 1e13 },
  });
  t0 = performance.now();
  const poolRuns = await Promise.all(Array.from({ length: TASKS }, (_, k) => pool.run(task(['train', ...args, String(k + 1)], shard(train, k, per)))));
  const poolS = (performance.now() - t0) / 1000;
  if (poolRuns.some((r) => r.status !== 'ok' || r.exitCode !== 0)) throw new Error('a pool task failed');
  result.pool = { samplesPerS: (train.count * EPOCHS) / poolS };
  t0 = performance.now();
  await Promise.all(Array.from({ length: TASKS }, (_, k) => pool.run(task(['eval', arch], shard(test, k, perTest)))));
  result.pool.inferenceImagesPerS = test.count / ((performance.now() - t0) / 1000);
  await pool.close();

  // ---- native C -O2, one process per core
  try {
    const exe = join(dir, 'mnist-native');
    execFileSync('clang', ['-O2', '-ffp-contract=off', '-o', exe, join(ROOT, 'bench/native/mnist.c'), '-lm']);
    const runNative = (nativeArgs, dirs) =>
      Promise.all(
        dirs.map(
          (d) =>
            new Promise((resolve, reject) => {
              const c = spawn(exe, [...nativeArgs, d], { stdio: 'ignore' });
              c.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`native exited ${code}`))));
            }),
        ),
      );
    const shardDirs = (set, n, count) =>
      Array.from({ length: count }, (_, k) => {
        const d = join(dir, `native-${arch}-${n}-${k}`);
        mkdirSync(d, { recursive: true });
        const s = shard(set, k, n);
        writeFileSync(join(d, 'model.bin'), model);
        writeFileSync(join(d, 'images.bin'), s.images);
        writeFileSync(join(d, 'labels.bin'), s.labels);
        return d;
      });
    const trainDirs = shardDirs(train, per, TASKS);
    t0 = performance.now();
    for (let k = 0; k < TASKS; k += 2) await runNative(['train', ...args, String(k + 1)], trainDirs.slice(k, k + 2));
    result.native = { samplesPerS: (train.count * EPOCHS) / ((performance.now() - t0) / 1000) };
    const testDirs = shardDirs(test, perTest, TASKS);
    t0 = performance.now();
    for (let k = 0; k < TASKS; k += 2) await runNative(['eval', arch], testDirs.slice(k, k + 2));
    result.native.inferenceImagesPerS = test.count / ((performance.now() - t0) / 1000);
  } catch (err) {
    result.native = { skipped: `no native build (${err.message.split('\n')[0]}); install clang to measure it` };
  }
  return result;
}

try {
  const port = await freePort();
  const gateway = `http://127.0.0.1:${port}`;
  procs.push(lodeProcess(['gateway', '--port', String(port), '--data-dir', join(dir, 'gw'), '--ledger', 'off']));
  await waitFor('gateway', async () => (await fetch(`${gateway}/healthz`).catch(() => undefined))?.ok);
  for (let i = 0; i < NODES; i++) procs.push(lodeProcess(['node', '--gateway', gateway, '--data-dir', join(dir, `node-${i}`), '--slots', '1']));
  await waitFor('nodes', async () => ((await (await fetch(`${gateway}/v1/nodes`)).json()).nodes ?? []).filter((n) => n.online).length >= NODES);
  const common = ['--gateway', gateway, '--data-dir', join(dir, 'requester')];
  for (const { arch } of ARCHES) out[arch] = await measure(arch, common);
} finally {
  for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGTERM');
  await Promise.all(procs.map((p) => p.exited));
  rmSync(dir, { recursive: true, force: true });
}

const n = (x) => Math.round(x).toLocaleString('en-US');
for (const { arch, words } of ARCHES) {
  const r = out[arch];
  console.log(`MNIST, ARCH ${arch} (${words}), ${EPOCHS} epochs per round, ${TASKS} shards, ${NODES} node(s) of one slot on this machine:`);
  console.log(
    `  training samples/s: network ${n(r.network.samplesPerS)} | worker pool ${n(r.pool.samplesPerS)} | native C -O2 ${r.native.samplesPerS ? n(r.native.samplesPerS) : r.native.skipped}`,
  );
  console.log(
    `  inference images/s: network ${n(r.network.inferenceImagesPerS)} (the whole command: uploads, job, checks) | worker pool ${n(r.pool.inferenceImagesPerS)} | native C -O2 ${r.native.inferenceImagesPerS ? n(r.native.inferenceImagesPerS) : '—'}`,
  );
  console.log(`  fuel per training sample: ${n(r.network.fuelPerSample)}`);
  console.log(
    `  test accuracy per round: ${r.network.accuracy.map((a) => `${(a * 100).toFixed(2)}%`).join(', ')}; inference ${(r.network.inferenceAccuracy * 100).toFixed(2)}%`,
  );
}
const resultsDir = join(ROOT, 'bench/results');
mkdirSync(resultsDir, { recursive: true });
const file = join(resultsDir, `ml-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
console.log(`wrote ${file}`);
