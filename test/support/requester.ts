/** A requester for integration tests: an SDK client with a fresh account, plus helpers. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { createLodeClient, getResults, putBlob, submitJob, watchJob, type LodeClient, type TaskResult } from '@lode/sdk';
import type { JobView, TaskInputInit } from '@lode/protocol';
import { ROOT } from './cluster.js';

export function requester(gateway: string): LodeClient {
  return createLodeClient({ gateway, account: privateKeyToAccount(generatePrivateKey()) });
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
