#!/usr/bin/env node
/**
 * Polls a gateway's /healthz every `everyMs` from its own process (so that what an attack does
 * in the attacker's process — hashing, sending gigabytes — cannot slow the measurement) until
 * it reads a line on stdin; then prints the worst latency, the p99 and the count as JSON.
 *
 *   node attack/probe.js http://127.0.0.1:7070 [everyMs]
 */
const [url, every = '10'] = process.argv.slice(2);
const samples = [];
let running = true;
process.stdin.once('data', () => (running = false));
while (running) {
  const t = performance.now();
  const ok = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(10_000) }).then(
    (r) => r.ok,
    () => false,
  );
  samples.push(ok ? performance.now() - t : Infinity);
  await new Promise((r) => setTimeout(r, Number(every)));
}
samples.sort((a, b) => a - b);
const worst = samples.at(-1) ?? 0;
process.stdout.write(
  `${JSON.stringify({ worstMs: Number.isFinite(worst) ? worst : null, p99Ms: samples[Math.floor(samples.length * 0.99)] ?? 0, p50Ms: samples[Math.floor(samples.length / 2)] ?? 0, samples: samples.length, failed: samples.filter((s) => !Number.isFinite(s)).length })}\n`,
);
process.exit(0);
