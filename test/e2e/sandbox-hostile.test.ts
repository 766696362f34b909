/**
 * The hostile module corpus (packages/sandbox/test/hostile.ts) on real processes: a gateway and
 * one `lode node`. Each module is refused at submission (INVALID_MODULE, or TOO_LARGE for the
 * module past the size cap) or its task fails with its SANDBOX_* code on the node; then an honest
 * job completes on the same node process — the same pid, never restarted, no unhandled rejection.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getResults, putBlob, submitJob, watchJob, type LodeClient } from '@lode/sdk';
import { HOSTILE, type Hostile } from '../../packages/sandbox/test/hostile.js';
import { assertNoUnhandledRejections, Cluster } from '../support/cluster.js';
import { primesBySieve, requester, runJob, text, workloadBytes } from '../support/requester.js';

let cluster: Cluster;
let client: LodeClient;
let nodePid: number | undefined;
beforeAll(async () => {
  cluster = await new Cluster({ nodes: 1, ledger: false }).start();
  client = requester(cluster.url);
  nodePid = cluster.nodes[0]!.child.pid;
});
afterAll(async () => cluster?.stop());

/** What came of a hostile module: refused at submission (the error's code), or its task's failure code. */
async function submit(h: Hostile): Promise<{ refused?: string; message?: string; task?: string; taskMessage?: string }> {
  const { sha256 } = await putBlob(client, { data: h.bytes() });
  const run = 'run' in h.expect ? h.expect : undefined;
  let job;
  try {
    job = await submitJob(client, {
      module: sha256,
      tasks: [{ args: [] }],
      resources: { memoryMiB: run?.memoryMiB ?? 16 },
      limits: { wallMs: 20_000, maxOutputBytes: 4096, fuel: run?.fuel ?? 100_000_000 },
    });
  } catch (e) {
    const err = e as { code?: string; message: string };
    return { refused: err.code, message: err.message };
  }
  await watchJob(client, { id: job.id });
  const [result] = await getResults(client, { id: job.id });
  return { task: result?.error?.code, taskMessage: result?.error?.message };
}

describe('hostile modules against a real node', () => {
  it('refuses each at submission or fails its task with a clear code, and the node keeps serving honest work, never restarted', async () => {
    const outcomes = await Promise.all(HOSTILE.map(async (h) => [h, await submit(h)] as const));
    for (const [h, o] of outcomes) {
      if ('inspect' in h.expect) {
        // Refused by the gateway's inspectModule, naming the cap; the module past the size cap is
        // refused by the gateway's own size check first.
        if (o.refused === 'TOO_LARGE') expect(h.name).toMatch(/over 32 MiB/);
        else {
          expect(o.refused, `${h.name}: ${JSON.stringify(o)}`).toBe('INVALID_MODULE');
          expect(o.message, h.name).toMatch(h.expect.inspect);
        }
      } else if ('instrument' in h.expect) {
        // Accepted by the gateway; the node refuses to meter it.
        expect(o.task, `${h.name}: ${JSON.stringify(o)}`).toBe('SANDBOX_INVALID_MODULE');
        expect(o.taskMessage, h.name).toMatch(h.expect.instrument);
      } else {
        expect(o.task, `${h.name}: ${JSON.stringify(o)}`).toBe(h.expect.run);
        if (h.expect.message) expect(o.taskMessage, h.name).toMatch(h.expect.message);
      }
    }

    // An honest job on the same node process.
    const { job, results } = await runJob(client, workloadBytes('primes'), [{ args: ['0', '20000'] }, { args: ['20000', '40000'] }]);
    expect(job.status).toBe('completed');
    const counted = results.reduce((n, r) => n + Number((JSON.parse(text(r.stdout)) as { count: number }).count), 0);
    expect(counted).toBe(primesBySieve(0, 40_000));
    const node = cluster.nodes[0]!;
    expect(node.child.exitCode).toBeNull();
    expect(node.child.pid).toBe(nodePid);
    expect(await cluster.onlineNodes()).toBe(1);
    assertNoUnhandledRejections([cluster.gateway!, node]);
  });
});
