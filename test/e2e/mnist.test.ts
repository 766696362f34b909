/**
 * Machine learning on a real network (a gateway and three `lode node` processes): `lode run
 * mnist-train` trains a neural network on MNIST in rounds of data-parallel jobs, and `lode run
 * mnist-classify` classifies the 10,000 test images across the nodes. Checked:
 * - the model learns (test accuracy after two rounds, measured by the CLI's independent forward
 *   pass, above 94 %), and is written with its history;
 * - it is bit-identical whichever nodes ran it: a second run under `--verify replicate:2`
 *   (every task run by two nodes whose results must agree byte for byte) gives the same model hash;
 * - batch inference on the nodes gives the same accuracy, and every prediction equals the
 *   independent forward pass's;
 * - a malformed model is refused before any task runs, saying what is wrong; a pipeline stage
 *   whose task fails (the SDK's `mapTasks`) stops with the task and its reason, reducing nothing.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { mapTasks, PipelineStageError, putBlob } from '@lode/sdk';
import { initModel, modelBytes, readWorkload } from '@lode/workloads';
import { Cluster, lodeRun } from '../support/cluster.js';
import { requester } from '../support/requester.js';

let cluster: Cluster;
beforeAll(async () => {
  cluster = await new Cluster({ nodes: 3 }).start();
}, 120_000);
afterAll(() => cluster?.stop());

const run = (args: string[]) => lodeRun(['--gateway', cluster.url, '--data-dir', join(cluster.dir, 'requester'), 'run', ...args]);

interface Trained {
  sha256: string;
  arch: string;
  rounds: Array<{ round: number; testAccuracy: number; trainLoss: number; sha256: string }>;
}

it('trains a network on MNIST across nodes, the same bytes whichever nodes ran it, and classifies the test set with it', async () => {
  const out = join(cluster.dir, 'model');
  const first = await run(['mnist-train', '--rounds', '2', '--tasks', '4', '--out', out, '--json']);
  expect(first.code, first.stderr).toBe(0);
  const trained = JSON.parse(first.stdout) as Trained;
  expect(trained.rounds.map((r) => r.round)).toEqual([1, 2]);
  expect(trained.arch).toBe('c8'); // the default: a small CNN
  expect(trained.rounds[1]!.testAccuracy).toBeGreaterThan(0.96);
  expect(trained.rounds[1]!.trainLoss).toBeLessThan(trained.rounds[0]!.trainLoss);
  expect(JSON.parse(readFileSync(join(out, 'model.json'), 'utf8')).sha256).toBe(trained.sha256);

  const again = await run([
    'mnist-train',
    '--rounds',
    '1',
    '--tasks',
    '4',
    '--out',
    join(cluster.dir, 'model-replicated'),
    '--verify',
    'replicate:2',
    '--json',
  ]);
  expect(again.code, again.stderr).toBe(0);
  const replicated = JSON.parse(again.stdout) as Trained;
  expect(replicated.rounds[0]!.sha256).toBe(trained.rounds[0]!.sha256);

  const classified = await run(['mnist-classify', '--model', out, '--tasks', '4', '--json']);
  expect(classified.code, classified.stderr).toBe(0);
  const summary = JSON.parse(classified.stdout) as { images: number; accuracy: number; agreesWithReference: number; confusion: number[][] };
  expect(summary.images).toBe(10_000);
  expect(summary.accuracy).toBe(trained.rounds[1]!.testAccuracy);
  expect(summary.agreesWithReference).toBe(10_000);
  expect(summary.confusion.flat().reduce((s, n) => s + n, 0)).toBe(10_000);

  // A model file of the wrong size: refused with what is wrong, before any job.
  writeFileSync(join(out, 'model.bin'), new Uint8Array(12));
  const bad = await run(['mnist-classify', '--model', out]);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain('a CNN of 8 filters is 46952 bytes; this one is 12');

  // A model from before CNNs (model.json lode-mnist-mlp-v1, an MLP of `hidden` units) still classifies.
  const v1 = join(cluster.dir, 'model-v1');
  mkdirSync(v1);
  writeFileSync(join(v1, 'model.bin'), modelBytes(initModel(8, 5)));
  writeFileSync(join(v1, 'model.json'), JSON.stringify({ format: 'lode-mnist-mlp-v1', hidden: 8, sha256: 'x' }));
  const old = await run(['mnist-classify', '--model', v1, '--tasks', '2', '--json']);
  expect(old.code, old.stderr).toBe(0);
  expect(JSON.parse(old.stdout)).toMatchObject({ images: 10_000, agreesWithReference: 10_000 });
}, 600_000);

it('stops a pipeline stage whose task fails, naming the task and its reason (SDK mapTasks)', async () => {
  const client = requester(cluster.url);
  const blob = async (data: Uint8Array) => (await putBlob(client, { data })).sha256;
  const [module, eight, nine, images, labels] = await Promise.all(
    [readWorkload('mnist'), modelBytes(initModel(8)), modelBytes(initModel(9)), new Uint8Array(784 * 3), new Uint8Array([1, 2, 3])].map(blob),
  );
  const stage = (models: string[]) =>
    mapTasks(client, {
      module: module!,
      inputs: models,
      task: (model) => ({
        args: ['eval', '8'],
        files: [
          { path: '/in/model.bin', blob: model },
          { path: '/in/images.bin', blob: images! },
          { path: '/in/labels.bin', blob: labels! },
        ],
      }),
      output: (r) => JSON.parse(new TextDecoder().decode(r.stdout)) as { n: number },
    });
  expect((await stage([eight!, eight!])).outputs).toEqual([expect.objectContaining({ n: 3 }), expect.objectContaining({ n: 3 })]);
  // The second task's model has 9 hidden units where the task says 8: the module refuses it (exit 2).
  const err = await stage([eight!, nine!]).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(PipelineStageError);
  expect(err).toMatchObject({ code: 'PIPELINE_STAGE_FAILED', index: 1 });
  expect((err as Error).message).toMatch(/task 1 of job [0-9a-f]+ failed \(exit code 2: mnist: \/in\/model.bin has 28660 bytes; ARCH 8 needs 25480\)/);
}, 120_000);
