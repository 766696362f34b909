/**
 * The browser sandbox behaves as `lode node`'s: a real headless Chromium tab on `/contribute` is
 * the only provider of a real gateway (no ledger). On it:
 * - the NaN module (packages/sandbox/test/nan.ts) writes exactly the canonical NaN bit patterns
 *   (an expectation written from the IEEE encodings) — the same bytes, result hash and fuel as
 *   the Node sandbox gives for the same task;
 * - the hostile modules the gateway lets through fail with the same codes as on a node
 *   (the table.grow and memory.grow loops, the start-function loop, tables over the task memory,
 *   the instrumentation bomb, prepared in the tab's preparation worker);
 * - an honest job still completes on the same tab, and the page logs no error;
 * - machine learning is bit-identical: a training task and an inference task of the `mnist`
 *   workload give the tab the same model bytes, predictions, result hash and fuel as the Node
 *   sandbox, and the predictions are the independent forward pass's.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createNodeSandbox } from '@lode/sandbox';
import { taskSeed, type NodeView } from '@lode/protocol';
import { getResults, putBlob, submitJob, watchJob, type LodeClient } from '@lode/sdk';
import { wat } from '../../packages/sandbox/test/helpers.js';
import { HOSTILE } from '../../packages/sandbox/test/hostile.js';
import { expectedNanOutput, nanModuleWat, readNanOutput } from '../../packages/sandbox/test/nan.js';
import { ConsoleErrors, DESKTOP, describeBrowser, launchChromium } from '../support/browser.js';
import { Cluster, ROOT, waitFor } from '../support/cluster.js';
import { primesBySieve, requester, runJob, text, workloadBytes } from '../support/requester.js';
import { initModel, modelBytes, modelFromBytes, predict, readMnist, readWorkload } from '@lode/workloads';

const WEB_DIST = join(ROOT, 'packages/web/dist/index.html');

describeBrowser('the browser sandbox, held to lode node', () => {
  let cluster: Cluster;
  let browser: Browser;
  let page: Page;
  let client: LodeClient;
  let address: string;
  const consoleErrors = new ConsoleErrors();

  beforeAll(async () => {
    if (!existsSync(WEB_DIST)) throw new Error(`${WEB_DIST} is missing: build the web pages first (npm run build --workspace @lode/web).`);
    [cluster, browser] = await Promise.all([new Cluster({ nodes: 0, ledger: false }).start(), launchChromium()]);
    client = requester(cluster.url);
    page = consoleErrors.watch(await (await browser.newContext(DESKTOP)).newPage(), 'contribute');
    await page.goto(`${cluster.url}/contribute`);
    await page.getByTestId('contribute').click();
    await page.getByText('Contributing', { exact: true }).waitFor({ timeout: 60_000 });
    address = (await page.getByTestId('account-address').textContent())!.trim().toLowerCase();
    await waitFor('the tab online as a node', async () => {
      const { nodes } = (await (await fetch(`${cluster.url}/v1/nodes`)).json()) as { nodes: NodeView[] };
      return nodes.find((n) => n.online && n.address === address && n.capabilities.kind === 'browser');
    });
  });
  afterAll(async () => {
    await browser?.close();
    await cluster?.stop();
  });

  async function runOne(module: Uint8Array, opts: { memoryMiB?: number; fuel?: number } = {}) {
    const { sha256 } = await putBlob(client, { data: module });
    const job = await submitJob(client, {
      module: sha256,
      tasks: [{ args: [] }],
      resources: { memoryMiB: opts.memoryMiB ?? 16 },
      limits: { wallMs: 30_000, maxOutputBytes: 1 << 16, fuel: opts.fuel ?? 100_000_000 },
    });
    await watchJob(client, { id: job.id });
    const [result] = await getResults(client, { id: job.id });
    return { job, sha256, result: result! };
  }

  it('writes the canonical NaN bits from every NaN-making instruction, byte for byte as the Node sandbox, and fails hostile modules with the same codes; honest work still runs', async () => {
    // ---- NaNs, in the tab
    const nan = await wat(nanModuleWat());
    const { job, sha256, result } = await runOne(nan);
    expect(result.node).toBe(address);
    expect(result.status, JSON.stringify(result.error)).toBe('done');
    expect(readNanOutput(result.stdout)).toEqual(expectedNanOutput());
    // ---- the same task in lode node's sandbox (worker_threads)
    const native = createNodeSandbox({ workers: 1 });
    try {
      await native.addModule(sha256, nan);
      const r = await native.run({
        moduleHash: sha256,
        args: [],
        env: {},
        stdin: new Uint8Array(),
        files: [],
        mounts: [],
        seed: taskSeed(job.id, 0),
        limits: { memoryMiB: 16, wallMs: 30_000, maxOutputBytes: 1 << 16, fuel: 100_000_000 },
      });
      expect(Buffer.from(result.stdout).equals(Buffer.from(r.stdout))).toBe(true);
      expect(result.resultHash).toBe(r.resultHash);
      expect(result.fuelUsed).toBe(r.fuelUsed);
    } finally {
      await native.close();
    }

    // ---- hostile modules the gateway lets through: the same codes as on a node
    for (const h of HOSTILE) {
      if ('inspect' in h.expect) continue; // refused at submission, before any node (sandbox-hostile.test.ts)
      const run = 'run' in h.expect ? h.expect : undefined;
      const { result: r } = await runOne(h.bytes(), { memoryMiB: run?.memoryMiB, fuel: run?.fuel });
      expect(r.node, h.name).toBe(address);
      if (run) expect(r.error?.code, `${h.name}: ${JSON.stringify(r.error)}`).toBe(run.run);
      else expect(r.error?.code, `${h.name}: ${JSON.stringify(r.error)}`).toBe('SANDBOX_INVALID_MODULE');
    }

    // ---- honest work on the same tab
    const honest = await runJob(client, workloadBytes('primes'), [{ args: ['0', '20000'] }]);
    expect(honest.job.status).toBe('completed');
    expect(honest.results[0]!.node).toBe(address);
    expect((JSON.parse(text(honest.results[0]!.stdout)) as { count: number }).count).toBe(primesBySieve(0, 20_000));
    expect(consoleErrors.errors).toEqual([]);
  }, 180_000);

  // Both architectures: an MLP of 32 hidden units, a CNN of 4 filters.
  it.each([32, 'c4'])(
    'trains and classifies MNIST (ARCH %s) in the tab byte for byte as the Node sandbox does',
    async (hidden) => {
      const train = readMnist('train', 2000);
      const test = readMnist('test', 1000);
      const wasm = readWorkload('mnist');
      const blob = async (data: Uint8Array) => (await putBlob(client, { data })).sha256;
      const [module, model, trainImages, trainLabels, testImages, testLabels] = await Promise.all(
        [wasm, modelBytes(initModel(hidden, 7)), train.images, train.labels, test.images, test.labels].map(blob),
      );
      const inputs = [
        { args: ['train', String(hidden), '1', '100000', '16', '42'], images: trainImages!, labels: trainLabels!, data: [train.images, train.labels] },
        { args: ['eval', String(hidden)], images: testImages!, labels: testLabels!, data: [test.images, test.labels] },
      ];
      const limits = { wallMs: 120_000, maxOutputBytes: 1 << 20, fuel: 5_000_000_000 };
      const job = await submitJob(client, {
        module: module!,
        tasks: inputs.map((t) => ({
          args: t.args,
          files: [
            { path: '/in/model.bin', blob: model! },
            { path: '/in/images.bin', blob: t.images },
            { path: '/in/labels.bin', blob: t.labels },
          ],
        })),
        resources: { memoryMiB: 64 },
        limits,
      });
      expect((await watchJob(client, { id: job.id })).status).toBe('completed');
      const results = (await getResults(client, { id: job.id })).sort((a, b) => a.index - b.index);
      const native = createNodeSandbox({ workers: 1 });
      try {
        await native.addModule(module!, wasm);
        for (const [i, t] of inputs.entries()) {
          const tab = results[i]!;
          expect(tab.node).toBe(address);
          expect(tab.status, JSON.stringify(tab.error)).toBe('done');
          expect(tab.exitCode, text(tab.stderr)).toBe(0);
          const r = await native.run({
            moduleHash: module!,
            args: t.args,
            env: {},
            stdin: new Uint8Array(),
            files: [
              { path: '/in/model.bin', data: modelBytes(initModel(hidden, 7)) },
              { path: '/in/images.bin', data: t.data[0]! },
              { path: '/in/labels.bin', data: t.data[1]! },
            ],
            mounts: [],
            seed: taskSeed(job.id, i),
            limits: { memoryMiB: 64, ...limits },
          });
          expect(text(tab.stdout)).toBe(text(r.stdout));
          expect(tab.files.map((f) => [f.path, Buffer.from(f.data).toString('base64')])).toEqual(
            r.files.map((f) => [f.path, Buffer.from(f.data).toString('base64')]),
          );
          expect(tab.resultHash).toBe(r.resultHash);
          expect(tab.fuelUsed).toBe(r.fuelUsed);
        }
      } finally {
        await native.close();
      }
      // The trained model learned something, and the tab's predictions are the reference's.
      const trained = modelFromBytes(results[0]!.files.find((f) => f.path === '/out/model.bin')!.data, hidden);
      expect(trained).not.toEqual(initModel(hidden, 7));
      const predictions = results[1]!.files.find((f) => f.path === '/out/predictions.bin')!.data;
      const untrained = initModel(hidden, 7);
      for (let i = 0; i < test.count; i++) expect(predictions[i], `image ${i}`).toBe(predict(untrained, hidden, test.images, i));
      const stats = JSON.parse(text(results[0]!.stdout)) as { n: number; correct: number };
      expect(stats.n).toBe(2000);
      expect(stats.correct / stats.n).toBeGreaterThan(0.6); // one epoch on 2,000 images, during the epoch
    },
    180_000,
  );
});
