#!/usr/bin/env node
/**
 * Where a one-task job's time goes, seen from the requester: a gateway and one node (the `lode`
 * CLI, no ledger), then N single-task `echo` jobs one after another, each split into
 *   sign      — building and signing the job (EIP-712), no network;
 *   submit    — POST /v1/jobs (Accept: text/event-stream, as `lode run` sends it) until its 201
 *               (intake, checks, the job row committed);
 *   finished  — from the 201 to the `finished` event on the same answer (lease to the node, run,
 *               result back, result committed, event sent);
 * then submit → finished (the POST to the `finished` event: the issue's measure, signing
 * excluded) and the whole; and, alternating with those in the same run, `two requests`: a plain
 * submit, then the job's own event stream (submitJob + watchJob), submit to `finished`. Every
 * result is checked. Figures only; see docs/benchmarks.md.
 *
 *   node bench/latency.bench.js [--jobs 200]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { JobSpec, jobIdOf, sha256Hex, signJob } from '@lode/protocol';
import { createLodeClient, getIdentity, getResults, listNodes, putBlob, readJobEvents, watchJob } from '@lode/sdk';
import { readWorkload } from '@lode/workloads';
import { freePort, lodeProcess, numberArg, percentile, waitFor } from './processes.js';

const JOBS = numberArg('jobs', 200);

const dir = mkdtempSync(join(tmpdir(), 'lode-latency-'));
const port = await freePort();
const url = `http://127.0.0.1:${port}`;
const quotas = ['--limit', 'jobsPerMinute=1000000', '--limit', 'jobsPerMinutePerIp=1000000'];
const gateway = lodeProcess(['gateway', '--port', String(port), '--data-dir', join(dir, 'gw'), '--ledger', 'off', ...quotas]);
const node = lodeProcess(['node', '--gateway', url, '--data-dir', join(dir, 'n0')]);
try {
  const account = privateKeyToAccount(generatePrivateKey());
  const client = createLodeClient({ gateway: url, account });
  await waitFor('gateway and node', async () => (await listNodes(client)).some((n) => n.online));
  const echo = readWorkload('echo');
  await putBlob(client, { data: echo });
  const identity = await getIdentity(client);
  const phases = { sign: [], submit: [], finished: [], 'submit→finished': [], total: [], 'two requests': [] };
  let wrong = 0;
  const sign = async (k) => {
    const spec = JobSpec.parse({
      version: 1,
      requester: account.address,
      module: sha256Hex(echo),
      deadline: Date.now() + 60_000,
      nonce: `0x${sha256Hex(`latency ${k} ${Math.random()}`)}`,
      tasks: [{ args: ['task', String(k)] }],
    });
    return { spec, signed: await signJob(account, spec, { gateway: identity.gateway, chainId: identity.chainId }) };
  };
  const post = (signed, accept) =>
    fetch(`${url}/v1/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept, authorization: `Bearer ${client.session.token}` },
      body: JSON.stringify(signed),
    });
  const check = async (spec, k) => {
    const [r] = await getResults(client, { id: jobIdOf(spec) });
    if (new TextDecoder().decode(r?.stdout) !== `task ${k}`) wrong++;
  };
  for (let k = 0; k < JOBS + 20; k++) {
    // The way `lode run` and the SDK's runJob go: one request submits and streams the job's events.
    const t0 = performance.now();
    const { spec, signed } = await sign(k);
    const t1 = performance.now();
    const res = await post(signed, 'text/event-stream');
    if (res.status !== 201) throw new Error(`submit answered ${res.status}: ${await res.text()}`);
    const t2 = performance.now();
    const finished = await readJobEvents(res, url, () => {});
    const t3 = performance.now();
    if (finished?.status !== 'completed') throw new Error(`job ${jobIdOf(spec)} ended ${finished?.status}`);
    await check(spec, k);
    // For comparison, in the same run: submitJob's plain POST, then watchJob's own stream.
    const other = await sign(k);
    const t4 = performance.now();
    const plain = await post(other.signed, 'application/json');
    if (plain.status !== 201) throw new Error(`submit answered ${plain.status}: ${await plain.text()}`);
    await watchJob(client, { id: jobIdOf(other.spec) });
    const t5 = performance.now();
    await check(other.spec, k);
    if (k < 20) continue; // warm-up
    phases.sign.push(t1 - t0);
    phases.submit.push(t2 - t1);
    phases.finished.push(t3 - t2);
    phases['submit→finished'].push(t3 - t1);
    phases.total.push(t3 - t0);
    phases['two requests'].push(t5 - t4);
  }
  console.log(`one-task jobs, ${JOBS} after 20 warm-up (and as many submitted, then watched), gateway + 1 node on this machine (${wrong} wrong)`);
  console.log('phase             p50 ms   p99 ms');
  for (const [name, xs] of Object.entries(phases))
    console.log(`${name.padEnd(16)} ${percentile(xs, 50).toFixed(2).padStart(7)}  ${percentile(xs, 99).toFixed(2).padStart(7)}`);
} finally {
  node.child.kill('SIGKILL');
  gateway.child.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 300));
  gateway.child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
}
