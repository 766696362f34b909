/**
 * The same network with its state in a real PostgreSQL server (`lode gateway --database-url`):
 * a job completes, and a gateway killed mid-job resumes it from the server's state.
 * Needs LODE_TEST_DATABASE_URL (set by .ci/run); required, not skipped, when CI=true.
 */
import { afterEach, expect, it } from 'vitest';
import { describePostgres } from '../../packages/gateway/test/support/postgres.js';
import { Cluster } from '../support/cluster.js';
import { checkPrimes, disruptMidJob, primeTasks, requester, runJob, workloadBytes } from '../support/requester.js';

let cluster: Cluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

describePostgres('a gateway on a PostgreSQL server', (db) => {
  it('runs a job with every result right', async () => {
    cluster = await new Cluster({ nodes: 2, databaseUrl: db.url() }).start();
    const { job, results } = await runJob(requester(cluster.url), workloadBytes('primes'), primeTasks(50, 10_000));
    expect(job.status).toBe('completed');
    checkPrimes(results, 50, 10_000);
  });

  it('resumes a job from the server after the gateway is killed mid-job', async () => {
    const c = (cluster = await new Cluster({ nodes: 2, databaseUrl: db.url() }).start());
    await disruptMidJob(c, async () => {
      await c.killGateway('SIGKILL');
      await c.startGateway();
      await c.waitForNodes(2);
    });
  });
});
