/**
 * End to end on a real network: a gateway process and node processes started with the `lode`
 * CLI, a requester using the SDK. Every result is checked against an independent computation.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Cluster, waitFor } from '../support/cluster.js';
import { primesBySieve, requester, runJob, text, workloadBytes } from '../support/requester.js';
import { getJob, putBlob, submitJob, watchJob, getResults } from '@lode/sdk';

let cluster: Cluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

function primeTasks(n: number, width: number) {
  return Array.from({ length: n }, (_, i) => ({ args: [String(i * width), String((i + 1) * width)] }));
}

function checkPrimes(results: Awaited<ReturnType<typeof runJob>>['results'], n: number, width: number) {
  expect(results.length).toBe(n);
  for (const r of results) {
    expect(r.status, `task ${r.index}: ${JSON.stringify(r.error)}`).toBe('done');
    expect(r.exitCode).toBe(0);
    const out = JSON.parse(text(r.stdout));
    expect(out.count, `task ${r.index}`).toBe(primesBySieve(r.index * width, (r.index + 1) * width));
  }
}

describe('a job on a real network', () => {
  it('completes a 200-task job with every result matching an independent computation', async () => {
    cluster = await new Cluster({ nodes: 4 }).start();
    const client = requester(cluster.url);
    const { job, results } = await runJob(client, workloadBytes('primes'), primeTasks(200, 5000));
    expect(job.status).toBe('completed');
    expect(job.counts.done).toBe(200);
    checkPrimes(results, 200, 5000);
    // The work was spread over the nodes.
    const nodes = new Set(results.map((r) => r.node));
    expect(nodes.size).toBeGreaterThan(1);
  });

  it('still completes the job when a node process is killed mid-job', async () => {
    cluster = await new Cluster({ nodes: 3 }).start();
    const client = requester(cluster.url);
    const { sha256 } = await putBlob(client, { data: workloadBytes('primes') });
    const n = 150;
    const width = 200_000;
    const job = await submitJob(client, { module: sha256, tasks: primeTasks(n, width), limits: { wallMs: 30_000, maxOutputBytes: 4096 } });
    await waitFor('some progress', async () => (await getJob(client, { id: job.id })).counts.done >= 10, 60_000);
    cluster.nodes[0]!.child.kill('SIGKILL');
    const final = await watchJob(client, { id: job.id });
    expect(final.status).toBe('completed');
    const results = (await getResults(client, { id: job.id })).sort((a, b) => a.index - b.index);
    checkPrimes(results, n, width);
  });

  it('resumes a job after the gateway is killed and restarted mid-job', async () => {
    cluster = await new Cluster({ nodes: 2 }).start();
    const client = requester(cluster.url);
    const { sha256 } = await putBlob(client, { data: workloadBytes('primes') });
    const n = 120;
    const width = 200_000;
    const job = await submitJob(client, { module: sha256, tasks: primeTasks(n, width), limits: { wallMs: 30_000, maxOutputBytes: 4096 } });
    await waitFor('some progress', async () => (await getJob(client, { id: job.id })).counts.done >= 10, 60_000);
    await cluster.killGateway('SIGKILL');
    await cluster.startGateway();
    const resumed = await getJob(client, { id: job.id });
    expect(['queued', 'running', 'completed']).toContain(resumed.status);
    await cluster.waitForNodes(2);
    const final = await watchJob(client, { id: job.id });
    expect(final.status).toBe('completed');
    expect(final.counts.done).toBe(n);
    const results = (await getResults(client, { id: job.id })).sort((a, b) => a.index - b.index);
    checkPrimes(results, n, width); // exactly one result per task
  });
});
