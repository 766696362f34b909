/**
 * No wrong result survives its liar, on real processes: a gateway, four `lode node`s and one
 * provider from sim/node.js in mode `turn=signal` — the real agent and sandbox, right until the
 * test sends it SIGUSR2 once it has earned trust, then forging every answer (consistently: its
 * result hashes match its forged output, so only comparing with other nodes can tell). Audits at random are off
 * (`--spot-check 0 --canary-rate 0`), so a result it gives alone is checked only by the audit
 * its job waits for before it is final. Every result must equal an independent sieve, and the
 * job's view must name the tasks whose accepted result was the liar's and was replaced.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJob, getResults, putBlob, submitJob, watchJob } from '@lode/sdk';
import { Cluster, type Proc } from '../support/cluster.js';
import { checkPrimes, primeTasks, requester, workloadBytes } from '../support/requester.js';

let c: Cluster;
let liar: string;
let liarProc: Proc;
const WIDTH = 20_000;

beforeAll(async () => {
  // One slot each (the sim node has one): each node gets about a fifth of the work.
  c = await new Cluster({ nodes: 4, nodeArgs: ['--slots', '1'], gatewayArgs: ['--spot-check', '0', '--canary-rate', '0'] }).start();
  ({ address: liar, proc: liarProc } = await c.addSimNode('turn=signal'));
}, 180_000);
afterAll(async () => {
  await c?.stop();
});

const nodeView = async (address: string) =>
  (
    (await (await fetch(`${c.url}/v1/nodes`)).json()) as {
      nodes: Array<{ address: string; reputation: { invalid: number; consecutiveValid: number; probation: boolean } }>;
    }
  ).nodes.find((n) => n.address === address)!;

describe('a provider that earns trust, then lies', () => {
  it('has every result it gave alone re-verified once it is caught; the job is final with only right results and names the revised tasks', async () => {
    const client = requester(c.url);
    const { sha256 } = await putBlob(client, { data: workloadBytes('primes') });
    const limits = { wallMs: 30_000, maxOutputBytes: 4096 };

    // Replicated work until the future liar has a record of right results (a node is trusted alone
    // at ε = 0.001 after 25 in a row).
    for (let round = 0; (await nodeView(liar)).reputation.consecutiveValid < 30; round++) {
      expect(round, 'replicated jobs run to give the sim node a record').toBeLessThan(10);
      const first = await submitJob(client, { module: sha256, tasks: primeTasks(100, WIDTH), limits, verification: { kind: 'replicate', k: 2 } });
      expect((await watchJob(client, { id: first.id })).status).toBe('completed');
      checkPrimes(
        (await getResults(client, { id: first.id })).sort((a, b) => a.index - b.index),
        100,
        WIDTH,
      );
    }
    expect((await nodeView(liar)).reputation).toMatchObject({ invalid: 0, probation: false });

    // Trusted alone under target(0.001), it turns: every answer forged from now on.
    liarProc.child.kill('SIGUSR2');
    const n = 200;
    const second = await submitJob(client, { module: sha256, tasks: primeTasks(n, WIDTH), limits, verification: { kind: 'target', errorRate: 0.001 } });
    const final = await watchJob(client, { id: second.id });
    expect(final.status).toBe('completed');
    const results = (await getResults(client, { id: second.id })).sort((a, b) => a.index - b.index);
    checkPrimes(results, n, WIDTH); // every count equals the sieve's: no forged result survived

    const rep = (await nodeView(liar)).reputation;
    expect(rep.invalid).toBeGreaterThanOrEqual(1);
    const view = await getJob(client, { id: second.id });
    const revised = results.filter((r) => r.revised);
    expect(revised.length).toBeGreaterThanOrEqual(1); // it had results taken on its word alone after it turned
    for (const r of revised) {
      expect(r.revised!.previousNode).toBe(liar);
      expect(r.node).not.toBe(liar);
    }
    expect(view.revisions?.revised).toBe(revised.length);
    expect(view.revisions?.tasks.map((t) => t.index).sort((a, b) => a - b)).toEqual(revised.map((r) => r.index));
    expect(view.verification?.revised).toBe(revised.length);
    // No honest node was proven wrong.
    const { nodes } = (await (await fetch(`${c.url}/v1/nodes`)).json()) as { nodes: Array<{ address: string; reputation: { invalid: number } }> };
    expect(nodes.filter((x) => x.address !== liar).every((x) => x.reputation.invalid === 0)).toBe(true);
  }, 240_000);
});
