/**
 * End to end on a real network: a gateway process and node processes started with the `lode`
 * CLI, a requester using the SDK. Every result is checked against an independent computation.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Cluster } from '../support/cluster.js';
import { checkPrimes, disruptMidJob, primeTasks, requester, runJob, workloadBytes } from '../support/requester.js';

let cluster: Cluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

describe('a job on a real network', () => {
  it('completes a 200-task job with every result matching an independent computation', async () => {
    cluster = await new Cluster({ nodes: 4 }).start();
    const { job, results } = await runJob(requester(cluster.url), workloadBytes('primes'), primeTasks(200, 5000));
    expect(job.status).toBe('completed');
    expect(job.counts.done).toBe(200);
    checkPrimes(results, 200, 5000);
    expect(new Set(results.map((r) => r.node)).size).toBeGreaterThan(1); // the work was spread
  });

  it('still completes the job when a node process is killed mid-job', async () => {
    const c = (cluster = await new Cluster({ nodes: 3 }).start());
    await disruptMidJob(c, async () => {
      c.nodes[0]!.child.kill('SIGKILL');
    });
  });

  it('resumes a job after the gateway is killed and restarted mid-job', async () => {
    const c = (cluster = await new Cluster({ nodes: 2 }).start());
    await disruptMidJob(c, async () => {
      await c.killGateway('SIGKILL');
      await c.startGateway();
      await c.waitForNodes(2);
    });
  });
});
