/** A requester for integration tests: an SDK client with a fresh account, plus helpers. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { expect } from 'vitest';
import { createLodeClient, getJob, getResults, putBlob, submitJob, watchJob, type LodeClient, type TaskResult } from '@lode/sdk';
import type { JobView, TaskInputInit } from '@lode/protocol';
import { ROOT, waitFor, type Cluster } from './cluster.js';

export function requester(gateway: string): LodeClient {
  return createLodeClient({ gateway, account: privateKeyToAccount(generatePrivateKey()) });
}

/** A client signing as the account kept in `dataDir` (as `lode --data-dir` uses it): it reads that account's jobs. */
export async function clientOf(gateway: string, dataDir: string): Promise<LodeClient> {
  const { loadOrCreateAccount } = await import('@lode/keystore');
  const { account } = await loadOrCreateAccount(dataDir, { create: false });
  return createLodeClient({ gateway, account });
}

export function workloadBytes(name: string): Uint8Array {
  return new Uint8Array(readFileSync(join(ROOT, 'workloads/build', `${name}.wasm`)));
}

/** Uploads a module, submits one job, waits for it to finish, returns the job and its results by index. */
export async function runJob(
  client: LodeClient,
  module: Uint8Array,
  tasks: TaskInputInit[],
  extra: { memoryMiB?: number; wallMs?: number; maxOutputBytes?: number; onSubmitted?: (job: JobView) => void } = {},
): Promise<{ job: JobView; results: TaskResult[] }> {
  const { sha256 } = await putBlob(client, { data: module });
  const submitted = await submitJob(client, {
    module: sha256,
    tasks,
    ...(extra.memoryMiB ? { resources: { memoryMiB: extra.memoryMiB } } : {}),
    limits: { wallMs: extra.wallMs ?? 30_000, maxOutputBytes: extra.maxOutputBytes ?? 1 << 20 },
  });
  extra.onSubmitted?.(submitted);
  const job = await watchJob(client, { id: submitted.id });
  const results = (await getResults(client, { id: submitted.id })).sort((a, b) => a.index - b.index);
  return { job, results };
}

/** Independent reference: primes in [lo, hi) by a sieve of Eratosthenes. */
export function primesBySieve(lo: number, hi: number): number {
  if (hi <= 2) return 0;
  const sieve = new Uint8Array(hi);
  let count = 0;
  for (let i = 2; i < hi; i++) {
    if (sieve[i]) continue;
    if (i >= lo) count++;
    for (let j = i * i; j < hi; j += i) sieve[j] = 1;
  }
  return count;
}

export const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** Tasks of the `primes` workload: task i counts primes in [i·width, (i+1)·width). */
export function primeTasks(n: number, width: number) {
  return Array.from({ length: n }, (_, i) => ({ args: [String(i * width), String((i + 1) * width)] }));
}

/** Every task done, exactly one result each, each count equal to the sieve's. */
export function checkPrimes(results: TaskResult[], n: number, width: number): void {
  expect(results.length).toBe(n);
  for (const r of results) {
    expect(r.status, `task ${r.index}: ${JSON.stringify(r.error)}`).toBe('done');
    expect(r.exitCode).toBe(0);
    const out = JSON.parse(text(r.stdout));
    expect(out.count, `task ${r.index}`).toBe(primesBySieve(r.index * width, (r.index + 1) * width));
  }
}

/**
 * Submits a primes job, waits until `afterDone` tasks are done, calls `disrupt` (kill a node,
 * restart the gateway…), then checks that the job still completes with every result right.
 */
export async function disruptMidJob(cluster: Cluster, disrupt: () => Promise<void>, n = 120, width = 200_000, afterDone = 10): Promise<void> {
  const client = requester(cluster.url);
  const { sha256 } = await putBlob(client, { data: workloadBytes('primes') });
  const job = await submitJob(client, { module: sha256, tasks: primeTasks(n, width), limits: { wallMs: 30_000, maxOutputBytes: 4096 } });
  await waitFor('some progress', async () => (await getJob(client, { id: job.id })).counts.done >= afterDone, 60_000);
  await disrupt();
  const final = await watchJob(client, { id: job.id });
  expect(final.status).toBe('completed');
  expect(final.counts.done).toBe(n);
  const results = (await getResults(client, { id: job.id })).sort((a, b) => a.index - b.index);
  checkPrimes(results, n, width);
}
