/**
 * A browser as a provider, end to end on real processes: a gateway started with the CLI (with its
 * embedded ledger) and no Node provider at all; a real headless Chromium opens `/contribute`,
 * clicks "Contribute this device", is refused for want of stake and stakes from its own key; a
 * job submitted with `lode run` must finish with that tab as its only node. Results
 * are checked against an independent computation (@lode/workloads' reference) and, hash for
 * hash, against `lode node`'s own sandbox; the dashboard must show the job at 100% (with its
 * cost and verification), the ledger's balances and settlement batches, and a job uploaded and
 * signed in the dashboard must run on the same tab; the tab's own provider page shows its
 * reputation (and hands out its signed credential), stake, statement and evidence. Screenshots
 * at desktop and phone size go to test-results/. Any console error in a page fails the test.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { formatEther } from 'viem';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createNodeSandbox } from '@lode/sandbox';
import { taskSeed, verifyDeviceCredential, verifyNodeReputation, type NodeView } from '@lode/protocol';
import { getJob, getResults, listTasks, signIn } from '@lode/sdk';
import { primesTasks, readWorkload, reference } from '@lode/workloads';
import { Cluster, ROOT, lodeRun, waitFor } from '../support/cluster.js';
import { clientOf } from '../support/requester.js';
import { ConsoleErrors, DESKTOP, PHONE, describeBrowser, launchChromium, pageScrollWidth, screenshot } from '../support/browser.js';

const WEB_DIST = join(ROOT, 'packages/web/dist/index.html');
/** What the tab asks per task: 0.001 LODE. */
const PRICE = 10n ** 15n;

describeBrowser('a browser tab as the only provider', () => {
  let cluster: Cluster;
  let browser: Browser;
  let tmp: string;
  let desktop: BrowserContext;
  let phone: BrowserContext;
  const consoleErrors = new ConsoleErrors();

  beforeAll(async () => {
    if (!existsSync(WEB_DIST)) throw new Error(`${WEB_DIST} is missing: build the web pages first (npm run build, or npm run build --workspace @lode/web).`);
    tmp = await mkdtemp(join(tmpdir(), 'lode-browser-e2e-'));
    [cluster, browser] = await Promise.all([new Cluster({ nodes: 0, ledger: true }).start(), launchChromium()]);
    desktop = await browser.newContext(DESKTOP);
    phone = await browser.newContext(PHONE);
  });
  afterAll(async () => {
    await browser?.close();
    await cluster?.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  async function open(context: BrowserContext, path: string, label: string): Promise<Page> {
    const page = consoleErrors.watch(await context.newPage(), label);
    await page.goto(`${cluster.url}${path}`);
    return page;
  }

  async function nodes(): Promise<NodeView[]> {
    return ((await (await fetch(`${cluster.url}/v1/nodes`)).json()) as { nodes: NodeView[] }).nodes;
  }

  it('joins from /contribute, runs every task of a `lode run primes` job byte for byte like a Node provider, the dashboard shows it at 100%, and a job submitted from the dashboard runs too', async () => {
    expect(await nodes()).toEqual([]); // no Node provider: the tab will be the only one

    // ---- /contribute: one button
    const contribute = await open(desktop, '/contribute', 'contribute');
    await contribute.getByTestId('contribute').click();
    // The gateway has its embedded ledger and asks each node for a minimum stake: the page is
    // refused, then stakes it from the tab's own key with test LODE from the faucet.
    await contribute.getByTestId('stake').click();
    await contribute.getByText('Contributing', { exact: true }).waitFor({ timeout: 60_000 });
    expect(await contribute.getByTestId('stake-amount').textContent()).toMatch(/^100 LODE \(the gateway asks at least 100 LODE\)$/);
    // Ask 0.001 LODE per task (a new signed hello), so the job below pays the tab.
    await contribute.getByTestId('price').fill('0.001');
    await contribute.getByTestId('price').press('Enter');
    const address = (await contribute.getByTestId('account-address').textContent())!.trim();
    expect(address).toMatch(/^0x[0-9a-fA-F]{40}$/);
    const node = await waitFor('the browser node online', async () => (await nodes()).find((n) => n.online && n.address === address.toLowerCase()));
    expect(node.capabilities.kind).toBe('browser');
    await waitFor(
      'the new price announced',
      async () => (await nodes()).find((n) => n.online && n.address === address.toLowerCase())?.capabilities.pricePerTask === PRICE.toString(),
    );
    expect(node.capabilities.agent).toMatch(/^lode-web\/0\.1\.0 /);

    // ---- a job through the CLI, exactly as a requester runs it (funded by the faucet; `lode run`
    //      pays the online nodes' going rate and escrows the job's maximum cost)
    await cluster.provision(join(tmp, 'requester'), false);
    const run = await lodeRun(['--gateway', cluster.url, '--data-dir', join(tmp, 'requester'), 'run', 'primes', '--tasks', '8', '--json', '--', '0', '200000']);
    expect(run.code, run.stderr).toBe(0);
    const summary = JSON.parse(run.stdout) as { jobId: string; status: string; counts: Record<string, number>; answer: unknown };
    expect(summary.status).toBe('completed');
    expect(summary.counts).toMatchObject({ done: 8, failed: 0 });
    // An independent computation: a segmented sieve, not the module's trial division.
    expect(summary.answer).toEqual({ count: String(reference.primesCount(0, 200_000)), lo: '0', hi: '200000' });

    const jobId = summary.jobId;
    // Reads are the requester's: as the CLI's account (its keystore in the requester directory).
    const asRequester = await clientOf(cluster.url, join(tmp, 'requester'));
    const tasks = await listTasks(asRequester, { id: jobId });
    expect(tasks).toHaveLength(8);
    for (const t of tasks) expect(t.node, `task ${t.index}`).toBe(address.toLowerCase());

    // ---- the same tasks in `lode node`'s sandbox (worker_threads) give the same result hashes
    const results = await getResults(asRequester, { id: jobId });
    expect(results).toHaveLength(8);
    const ranges = primesTasks({ lo: 0, hi: 200_000, tasks: 8 });
    const job = await getJob(asRequester, { id: jobId });
    const sandbox = createNodeSandbox({ workers: 1 });
    try {
      await sandbox.addModule(job.module, readWorkload('primes'));
      for (const r of results) {
        const [spec] = await listTasks(asRequester, { id: jobId, offset: r.index, limit: 1 });
        expect(spec!.status).toBe('done');
        const native = await sandbox.run({
          moduleHash: job.module,
          args: ranges[r.index]!.args,
          env: {},
          stdin: new Uint8Array(),
          files: [],
          mounts: [],
          seed: taskSeed(jobId, r.index),
          limits: { memoryMiB: 256, wallMs: 30_000, maxOutputBytes: 4 << 20 },
        });
        expect(r.resultHash, `task ${r.index}`).toBe(native.resultHash);
        // Fuel is counted inside the module: the same on the tab as in worker_threads.
        if ('fuelUsed' in r) expect((r as { fuelUsed?: number | null }).fuelUsed, `fuel of task ${r.index}`).toBe(native.fuelUsed);
        expect(Buffer.from(r.stdout).toString('base64')).toBe(Buffer.from(native.stdout).toString('base64'));
      }
    } finally {
      await sandbox.close();
    }

    // ---- the contributor page counted them, and shows what the settlement paid: 8 × 0.001 LODE
    //      minus the 1 % fee = 0.00792 LODE
    await waitFor('8 tasks done on the page', async () => (await contribute.getByTestId('tasks-done').textContent())?.trim() === '8', 10_000);
    const net = 8n * PRICE - (8n * PRICE * 100n) / 10_000n;
    await waitFor(
      'the payout settled',
      async () => {
        const body = (await (await fetch(`${cluster.url}/v1/ledger/payouts/${address}`)).json()) as { totals: { net: string } };
        return body.totals.net === net.toString();
      },
      60_000,
      250,
    );
    await waitFor('earnings on the page', async () => (await contribute.getByTestId('earnings').textContent()) === '0.0079 LODE', 20_000);
    // Claimable once the batch is posted and its challenge window is over: one claim from the tab.
    await contribute.getByTestId('claim').waitFor({ timeout: 60_000 });
    await contribute.getByTestId('claim').click();
    await waitFor(
      'the payout claimed',
      async () => {
        const body = (await (await fetch(`${cluster.url}/v1/ledger/payouts/${address}`)).json()) as { totals: { claimed: string } };
        return body.totals.claimed === net.toString();
      },
      30_000,
      250,
    );
    await contribute.getByText('0.0079 LODE claimed').waitFor({ timeout: 20_000 });
    await screenshot(contribute, 'contribute-desktop');

    // ---- the dashboard, signed in as the CLI's account through a session link (as `lode up`
    //      prints one): the job at 100%, the browser node by kind
    const { token } = await signIn(asRequester);
    const dashboard = await open(desktop, `/#/?session=${encodeURIComponent(token)}`, 'dashboard');
    await dashboard.locator(`[data-testid="progress-${jobId}"]`).waitFor({ timeout: 15_000 });
    expect(await dashboard.getByTestId(`progress-${jobId}`).textContent()).toBe('100%');
    await waitFor('browser kind counted', async () => (await dashboard.getByTestId('kind-browser').textContent()) === '1', 10_000);
    await dashboard.locator('canvas').first().waitFor();
    await dashboard.getByTestId('ledger').getByText('Minimum stake').waitFor();
    // Read from the chain and the batches route: balances, the batch that paid the tab, no proposal yet.
    await dashboard.getByTestId('balance-escrow').waitFor({ timeout: 20_000 });
    expect(await dashboard.getByTestId('balance-treasury').textContent()).toMatch(/ LODE$/);
    await dashboard.getByTestId('batches').waitFor({ timeout: 20_000 });
    expect(await dashboard.getByTestId('batches').locator('[data-batch]').first().textContent()).toContain('posted');
    await dashboard.getByTestId('no-proposals').waitFor({ timeout: 20_000 });
    await screenshot(dashboard, 'dashboard-desktop');

    await dashboard.goto(`${cluster.url}/#/jobs/${jobId}`);
    await dashboard.getByTestId('job-progress').waitFor();
    await waitFor('job page at 100%', async () => (await dashboard.getByTestId('job-progress').textContent()) === '100%', 10_000);
    await dashboard.getByText('completed', { exact: true }).first().waitFor();
    // What it cost and how its results were checked (JobView.usage and .verification).
    // The page learns whether the gateway has a ledger by a request of its own: wait for it.
    await waitFor('the job cost', async () => /LODE/.test((await dashboard.getByTestId('job-cost').textContent()) ?? ''), 10_000);
    expect(await dashboard.getByTestId('job-cost').textContent()).toMatch(/^0\.008 LODE · [\d,]+ fuel$/);
    expect(await dashboard.getByTestId('job-verification').textContent()).toMatch(/^\S+ · \S/); // the policy, then what it took
    await dashboard.getByTestId('show-3').click();
    await dashboard.getByTestId('task-output').waitFor();
    expect(await dashboard.getByTestId('task-output').textContent()).toContain(
      `"count":${JSON.parse(Buffer.from(results[3]!.stdout, 'base64').toString()).count}`,
    );
    await screenshot(dashboard, 'job-desktop');

    // ---- a job submitted from the dashboard itself: uploaded and signed in the page (the same
    //      IndexedDB key as the contributor tab, which is also its only provider)
    await dashboard.goto(`${cluster.url}/#/submit`);
    await dashboard.getByTestId('module').setInputFiles(join(ROOT, 'workloads/build/echo.wasm'));
    await dashboard.getByLabel('Number of tasks').fill('3');
    await dashboard.getByLabel('Arguments', { exact: true }).fill('hello "from the" dashboard');
    await dashboard.getByRole('button', { name: 'Submit', exact: true }).click();
    await dashboard.waitForURL(/#\/jobs\/[0-9a-f]{32}$/, { timeout: 30_000 });
    const webJob = dashboard.url().split('/').pop()!;
    await waitFor('the dashboard job at 100%', async () => (await dashboard.getByTestId('job-progress').textContent()) === '100%', 30_000);
    // The page read the job as this browser's account (a job is readable by its requester only);
    // the CLI's account cannot.
    expect(await getJob(asRequester, { id: webJob }).catch((e: { code?: string }) => e.code)).toBe('NOT_FOUND');
    await dashboard.getByTestId('show-2').click();
    await dashboard.getByTestId('task-output').getByText('hello from the dashboard').waitFor();

    await dashboard.goto(`${cluster.url}/#/nodes`);
    await dashboard.getByTestId('nodes').waitFor();
    const row = dashboard.locator(`[data-node="${address.toLowerCase()}"]`);
    expect(await row.textContent()).toContain('browser');
    await waitFor(
      "the node's stake read from the chain",
      async () =>
        (await row
          .getByTestId('node-stake')
          .textContent()
          .catch(() => '')) === '100 LODE',
      15_000,
    );
    expect(await row.textContent()).toContain('0.001 LODE/task');
    expect(await row.getByTestId('node-reputation-cell').textContent()).toMatch(/^(probation|credibility [01]\.\d{4}) · \d+ ✓ \/ 0 ✗$/);
    await screenshot(dashboard, 'nodes-desktop');

    // ---- the tab's own provider page: what it offers, its reputation and credential, stake,
    //      statement and the evidence against it (none)
    await row.getByTestId('node-link').click();
    await dashboard.waitForURL(`${cluster.url}/#/nodes/${address.toLowerCase()}`);
    await dashboard.getByTestId('node-capabilities').waitFor();
    expect(await dashboard.getByTestId('node-price').textContent()).toBe('0.001 LODE/task');
    expect(await dashboard.getByTestId('node-reputation-text').textContent()).toMatch(/^(probation|credibility [01]\.\d{4}) · \d+ ✓ \/ 0 ✗$/);
    const [credentialFile] = await Promise.all([dashboard.waitForEvent('download'), dashboard.getByTestId('download-credential').click()]);
    expect(credentialFile.suggestedFilename()).toBe(`lode-reputation-${address.toLowerCase()}.json`);
    const credential = JSON.parse(await readFile(await credentialFile.path(), 'utf8')) as Parameters<typeof verifyNodeReputation>[0];
    expect(credential.message.node.toLowerCase()).toBe(address.toLowerCase());
    expect(await verifyNodeReputation(credential), 'the credential is signed by the gateway').toBe(true);
    await dashboard.getByTestId('credential-done').waitFor();
    // The W3C credential of the same record: a JWT that verifies offline, about this node.
    const [vcFile] = await Promise.all([dashboard.waitForEvent('download'), dashboard.getByTestId('download-device-credential').click()]);
    expect(vcFile.suggestedFilename()).toBe(`lode-device-${address.toLowerCase()}.jwt`);
    const vc = await verifyDeviceCredential((await readFile(await vcFile.path(), 'utf8')).trim());
    expect(vc.ok && vc.subject.node.toLowerCase()).toBe(address.toLowerCase());
    expect(await dashboard.getByTestId('device-credential-done').textContent()).toMatch(/valid until/);
    await waitFor(
      'the stake on the provider page',
      async () =>
        (await dashboard
          .getByTestId('node-page-stake')
          .textContent()
          .catch(() => '')) === '100 LODE',
      15_000,
    );
    // The statement, to the wei: the page's total is the API's (both grow as the dashboard job settles).
    await dashboard.getByTestId('payouts').waitFor({ timeout: 20_000 });
    await waitFor(
      "the statement's total",
      async () => {
        const body = (await (await fetch(`${cluster.url}/v1/ledger/payouts/${address}`)).json()) as { totals: { net: string }; payouts: unknown[] };
        const shown = await dashboard.getByTestId('statement-net').textContent();
        const rows = await dashboard.getByTestId('payouts').locator('tbody tr').count();
        return shown === `${formatEther(BigInt(body.totals.net))} LODE` && rows === body.payouts.length;
      },
      20_000,
      250,
    );
    await dashboard.getByTestId('no-evidence').waitFor();
    await screenshot(dashboard, 'node-desktop');

    // ---- phone size: usable at 390 px (nothing pushes the page sideways)
    for (const [path, name] of [
      ['/contribute', 'contribute-phone'],
      [`/#/?session=${encodeURIComponent(token)}`, 'dashboard-phone'],
      [`/#/jobs/${jobId}?session=${encodeURIComponent(token)}`, 'job-phone'],
      ['/#/nodes', 'nodes-phone'],
      [`/#/nodes/${address.toLowerCase()}`, 'node-phone'],
      ['/#/submit', 'submit-phone'],
    ] as const) {
      const page = await open(phone, path, name);
      await page.locator('main').waitFor();
      if (name === 'job-phone')
        await waitFor('job page at 100% (phone)', async () => (await page.getByTestId('job-progress').textContent()) === '100%', 10_000);
      if (name === 'dashboard-phone') {
        await page.locator('canvas').first().waitFor();
        await page.getByTestId('batches').waitFor({ timeout: 20_000 });
        await page.getByTestId('no-proposals').waitFor({ timeout: 20_000 });
      }
      if (name === 'node-phone') {
        await page.getByTestId('payouts').waitFor({ timeout: 20_000 });
        await page.getByTestId('no-evidence').waitFor();
      }
      await page.waitForFunction(() => [...document.images].every((i) => i.complete));
      expect(await pageScrollWidth(page), `${name} is wider than the phone`).toBeLessThanOrEqual(390);
      await screenshot(page, name);
      await page.close();
    }

    expect(consoleErrors.errors, consoleErrors.errors.join('\n')).toEqual([]);
  }, 240_000);
});
