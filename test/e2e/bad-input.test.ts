/**
 * Misbehaving modules on a real network: each task fails with its reason, and the nodes and
 * the gateway keep serving (a good job right after still completes).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster } from '../support/cluster.js';
import { requester, runJob, text, workloadBytes } from '../support/requester.js';
import type { LodeClient } from '@lode/sdk';
import { watToWasm } from '../support/wat.js';

let cluster: Cluster;
let client: LodeClient;
beforeAll(async () => {
  cluster = await new Cluster({ nodes: 2 }).start();
  client = requester(cluster.url);
});
afterAll(async () => cluster?.stop());

async function failsWith(module: string, code: string, extra: Parameters<typeof runJob>[3] = {}) {
  const { job, results } = await runJob(client, workloadBytes(module), [{ args: [] }, { args: [] }], extra);
  expect(job.status).toBe('failed');
  expect(job.counts.failed).toBe(2);
  for (const r of results) {
    expect(r.status).toBe('failed');
    expect(r.error?.code, `${module}: ${JSON.stringify(r.error)}`).toBe(code);
    expect(r.error?.message.length).toBeGreaterThan(10);
  }
}

describe('misbehaving modules', () => {
  it('a trap fails the task with SANDBOX_TRAP', () => failsWith('bad-trap', 'SANDBOX_TRAP'));
  it('a runaway loop is stopped at the wall-time limit with SANDBOX_TIMEOUT', () => failsWith('bad-loop', 'SANDBOX_TIMEOUT', { wallMs: 500 }));
  it('memory growth past the cap fails with SANDBOX_MEMORY_LIMIT', () => failsWith('bad-membomb', 'SANDBOX_MEMORY_LIMIT', { memoryMiB: 16 }));
  it('output past the cap fails with SANDBOX_OUTPUT_LIMIT', () => failsWith('bad-outbomb', 'SANDBOX_OUTPUT_LIMIT', { maxOutputBytes: 64 * 1024 }));

  it('a non-zero exit is a result, not a failure', async () => {
    const { job, results } = await runJob(client, workloadBytes('bad-exit3'), [{ args: [] }]);
    expect(job.status).toBe('completed');
    expect(results[0]!.exitCode).toBe(3);
  });

  it('proc_exit(-1) is the exit code 4294967295 (a WASI u32), stored as it is while jobs beside it store theirs', async () => {
    // Attack: this exit code overflowed the int4 column, and the whole group-commit statement
    // with every innocent result in it failed and was retried forever.
    const exitMinusOne = await watToWasm(`(module
      (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
      (memory (export "memory") 1 1)
      (func (export "_start") (call $exit (i32.const -1))))`);
    const [hostile, innocent] = await Promise.all([
      runJob(
        client,
        exitMinusOne,
        Array.from({ length: 20 }, () => ({ args: [] })),
      ),
      runJob(
        client,
        workloadBytes('echo'),
        Array.from({ length: 20 }, (_, i) => ({ args: ['innocent', String(i)] })),
      ),
    ]);
    expect(hostile.job.status).toBe('completed');
    expect(hostile.results.map((r) => r.exitCode)).toEqual(Array.from({ length: 20 }, () => 4294967295));
    expect(innocent.job.status).toBe('completed');
    expect(innocent.results.map((r) => text(r.stdout).trim())).toEqual(Array.from({ length: 20 }, (_, i) => `innocent ${i}`));
  });

  it('the network still runs good work afterwards', async () => {
    const { job, results } = await runJob(client, workloadBytes('echo'), [{ args: ['still', 'alive'] }]);
    expect(job.status).toBe('completed');
    expect(text(results[0]!.stdout)).toContain('still alive');
    expect(await cluster.onlineNodes()).toBe(2);
  });
});
