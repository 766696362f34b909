/**
 * The peer in `npm run bench`: the same trivial work (the `echo` module in the same sandbox,
 * inline) as jobs on BullMQ over a Redis server the bench starts and stops (Debian's
 * `redis-server`). Measures what Lode's end-to-end figures are compared with: single-job
 * add → finished latency (p50/p99, jobs one after another) and throughput of a burst of jobs.
 * Every result is checked. Without `redis-server` it returns { skipped } and the bench says so.
 */
import { spawn, spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { Queue, QueueEvents, Worker } from 'bullmq';
import { freePort, percentile, waitFor } from './processes.js';

/** `run(i)` does task i's work and returns its stdout text; `expected(i)` is what it must be. */
export async function bullmqPeer({ tasks, latencyJobs, run, expected, log }) {
  if (spawnSync('redis-server', ['--version']).error) {
    return { skipped: 'redis-server is not installed (Debian: apt-get install redis-server); BullMQ was not measured' };
  }
  const port = await freePort();
  const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const connection = { host: '127.0.0.1', port, maxRetriesPerRequest: null };
  let queue;
  let events;
  let worker;
  try {
    await waitFor('redis-server', async () => {
      const probe = new Queue('probe', { connection });
      try {
        await probe.waitUntilReady();
        return true;
      } finally {
        await probe.close();
      }
    });
    queue = new Queue('bench', { connection });
    events = new QueueEvents('bench', { connection });
    await events.waitUntilReady();
    let wrong = 0;
    let completed = 0;
    worker = new Worker('bench', async (job) => run(job.data.i), { connection, concurrency: 16 });
    worker.on('completed', (job, value) => {
      completed++;
      if (value !== expected(job.data.i)) wrong++;
    });
    await worker.waitUntilReady();

    log(`(d) BullMQ latency: ${latencyJobs} single-task jobs...`);
    const lat = [];
    for (let i = 0; i < latencyJobs; i++) {
      const s = performance.now();
      const job = await queue.add('task', { i }); // kept until finished: waitUntilFinished reads it
      const value = await job.waitUntilFinished(events);
      lat.push(performance.now() - s);
      if (value !== expected(i)) wrong++;
    }
    lat.sort((a, b) => a - b);

    log(`(d) BullMQ throughput: ${tasks} jobs...`);
    completed = 0;
    const t0 = performance.now();
    for (let i = 0; i < tasks; i += 1000) {
      await queue.addBulk(
        Array.from({ length: Math.min(1000, tasks - i) }, (_, k) => ({ name: 'task', data: { i: i + k }, opts: { removeOnComplete: true } })),
      );
    }
    await waitFor('BullMQ jobs', () => completed >= tasks, 600_000, 5);
    const ms = performance.now() - t0;
    return {
      tasks,
      totalMs: ms,
      tasksPerSecond: tasks / (ms / 1000),
      latencyJobs,
      latencyP50Ms: percentile(lat, 50),
      latencyP99Ms: percentile(lat, 99),
      wrongResults: wrong,
    };
  } finally {
    await worker?.close();
    await events?.close();
    await queue?.close();
    redis.kill('SIGTERM');
  }
}
