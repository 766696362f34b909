/**
 * The gateway fuzzed on real processes (attack/fuzz.js): fast-check generates HTTP requests for
 * every route and node WebSocket frames, valid, mutated and random, while an honest job runs.
 * No answer may be a 500, the gateway and nodes must stay up with no unhandled rejection in their
 * logs, and every task of the honest job must end right. `npm run attack` sends 100,000; this
 * sends a few thousand.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { JobSpec, signJob } from '@lode/protocol';
import { getIdentity, getResults, putBlob, submitJob, watchJob } from '@lode/sdk';
import { Cluster } from '../support/cluster.js';
import { requester, text, workloadBytes } from '../support/requester.js';
// @ts-expect-error — a JavaScript module of the attack suite, without types
import { fuzzGateway, fuzzSeed } from '../../attack/fuzz.js';

const MESSAGES = Number(process.env.LODE_FUZZ_MESSAGES ?? 3000);

let cluster: Cluster;
beforeAll(async () => {
  // Quotas lifted for the fuzzer's address: it is here to reach deep code, not to be rate limited.
  cluster = await new Cluster({ nodes: 2, gatewayArgs: ['--limit', 'requestsPerMinutePerIp=1000000', '--limit', 'nodeConnectionsPerIp=1000'] }).start();
}, 120_000);
afterAll(async () => cluster?.stop()); // fails if a process logged an unhandled rejection

it(`answers ${MESSAGES} generated requests and frames without a 500 or a crash, while an honest job completes right`, async () => {
  const honest = requester(cluster.url);
  const echo = await putBlob(honest, { data: workloadBytes('echo') });
  // 2 GiB per task: the fuzzer's nodes (1 GiB) cannot take it — a job without verification takes
  // whatever its node answers, so this one runs on the real nodes only.
  const job = await submitJob(honest, {
    module: echo.sha256,
    resources: { memoryMiB: 2048 },
    tasks: Array.from({ length: 40 }, (_, i) => ({ args: ['honest', String(i)] })),
  });

  const fuzzer = requester(cluster.url);
  const { sha256 } = await putBlob(fuzzer, { data: workloadBytes('echo') });
  const identity = await getIdentity(fuzzer);
  const account = fuzzer.account!;
  const signedJob = await signJob(
    account,
    JobSpec.parse({
      version: 1,
      requester: account.address,
      module: sha256,
      deadline: Date.now() + 600_000,
      nonce: `0x${'5'.repeat(64)}`,
      tasks: [{ args: ['x'] }],
    }),
    { gateway: identity.gateway as `0x${string}`, chainId: identity.chainId },
  );
  // Bait: a job the fuzzer's own nodes take leases of, so that their results reach the accept path.
  await submitJob(fuzzer, { module: sha256, tasks: Array.from({ length: 2000 }, (_, i) => ({ args: [String(i)] })), resources: { memoryMiB: 64 } });
  const seed = await fuzzSeed({ url: cluster.url, client: fuzzer, account, jobId: job.id, signedJob });
  const result = await fuzzGateway({ url: cluster.url, wsUrl: cluster.wsUrl, seed, messages: MESSAGES, concurrency: 8, fcSeed: 42 });

  expect(result.internal, result.internal.join('\n')).toEqual([]);
  expect(result.messages).toBeGreaterThanOrEqual(MESSAGES * 0.95);
  expect(Object.keys(result.statuses).length).toBeGreaterThan(3); // it reached many routes, not one refusal
  const final = await watchJob(honest, { id: job.id });
  expect(final.status).toBe('completed');
  const results = await getResults(honest, { id: job.id });
  expect(results.map((r) => text(r.stdout).trim())).toEqual(Array.from({ length: 40 }, (_, i) => `honest ${i}`));
  expect(await cluster.onlineNodes()).toBe(2);
  expect((await fetch(`${cluster.url}/healthz`)).ok).toBe(true);
}, 300_000);
