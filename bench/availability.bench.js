#!/usr/bin/env node
/**
 * Proof of availability, measured (docs/availability.md): the gateway's AvailabilityService with
 * devices that run its challenges for real — the primes module in @lode/sandbox worker pools, one
 * worker per slot a device really has — over one epoch per scenario (a virtual clock aligned to
 * an epoch's start; the work and its timing are real):
 *
 *   honest idle    — two devices of one slot each, nothing else running;
 *   honest loaded  — the same beside two threads spinning (four busy threads on two cores);
 *   cheater ×k     — one two-worker machine posing as k devices of one slot behind one address,
 *                    beside an honest one-slot device: its share of the pool as k grows.
 *
 * Figures: challenge cost as a share of the devices' slot time (here, and at the default epoch
 * of 300 s and a public one of an hour), the honest devices' missed challenges (false negatives)
 * and proven speed, and what each fake device beyond the machine's two real slots gains.
 *
 *   node bench/availability.bench.js [--epoch 12] [--rate 3]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { createHash } from 'node:crypto';
import { pino } from 'pino';
import { AvailabilityService, availabilityPlan } from '@lode/gateway';
import { openStore } from '../packages/gateway/dist/store/index.js';
import { benchmark } from '@lode/provider';
import { createNodeSandbox } from '@lode/sandbox';
import { readWorkload, reference } from '@lode/workloads';
import { numberArg, ROOT } from './processes.js';

const EPOCH_S = numberArg('epoch', 12);
const RATE = numberArg('rate', 3);
const POOL = 1_000_000n;
const primes = readWorkload('primes');
const MODULE = createHash('sha256').update(primes).digest('hex');
const BENCH = await benchmark();
const log = pino({ level: 'silent' });

/** A device: its declared capabilities, and the pool (its real workers) that runs what it is sent. */
class Device {
  constructor(address, remote, slots, sandbox, svc, stats) {
    Object.assign(this, { address, remote, sandbox, svc, stats });
    this.ready = true;
    this.leases = { size: 0 };
    this.capabilities = { cores: slots, memoryMiB: 4096, os: 'bench', arch: 'x64', kind: 'server', slots, pricePerTask: '0', benchmark: BENCH, agent: 'bench' };
  }
  sendLeases(leases) {
    for (const l of leases) {
      const task = {
        moduleHash: l.module,
        args: l.input.args,
        env: {},
        seed: l.seed,
        mounts: [],
        files: [],
        stdin: new Uint8Array(0),
        limits: { memoryMiB: 16, wallMs: l.limits.wallMs, maxOutputBytes: 4096, fuel: l.limits.fuel },
      };
      this.sandbox
        .run(task)
        .then((r) => {
          this.stats.slotMs += r.durationMs;
          this.svc().onResults(this, [
            {
              leaseId: l.leaseId,
              status: r.status,
              exitCode: r.exitCode,
              stdout: Buffer.from(r.stdout).toString('base64'),
              stderr: '',
              files: [],
              deleted: [],
              resultHash: r.resultHash,
              durationMs: r.durationMs,
            },
          ]);
        })
        .catch(() => {}); // a task still running when the bench closes its pools
    }
  }
  sendCancel() {}
  sendError() {}
  ack() {}
  holdUntil() {}
}

/** Threads that spin until stopped: load on the machine. */
function burners(n) {
  const code =
    'const { parentPort } = require("node:worker_threads"); let stop = false; parentPort.on("message", () => { stop = true; }); (function spin() { const t = Date.now(); while (Date.now() - t < 50) {} if (!stop) setImmediate(spin); })();';
  const workers = Array.from({ length: n }, () => new Worker(code, { eval: true }));
  return async () => {
    for (const w of workers) w.postMessage('stop');
    await Promise.all(workers.map((w) => w.terminate()));
  };
}

/**
 * One epoch of `devices` ([address, remote, slots declared, pool]) from its start; returns the
 * settled epoch and the challenge slot time.
 */
async function epoch(devices) {
  const epochMs = EPOCH_S * 1000;
  const start = (Math.floor(Date.now() / epochMs) + 1) * epochMs;
  const t0 = Date.now();
  const now = () => start + (Date.now() - t0);
  const stats = { slotMs: 0 };
  let svc;
  const store = await openStore(); // PGlite in memory: where the epoch's passes are kept and scored from
  const sessions = devices.map(([address, remote, slots, sandbox]) => new Device(address, remote, slots, sandbox, () => svc, stats));
  svc = new AvailabilityService({
    chain: {
      params: async () => ({ epochLength: EPOCH_S, pool: POOL, rate: RATE }),
      devices: async () => devices.map((d) => d[0]),
      eligible: async () => true,
      available: async () => POOL,
    },
    sessions: () => sessions,
    module: MODULE,
    countPrimes: reference.primesCount,
    store: store.availability,
    resume: () => {},
    now,
    log,
    tickMs: 100,
  });
  svc.start();
  while (svc.settledViews().length === 0) await new Promise((r) => setTimeout(r, 200));
  await svc.stop();
  await store.close();
  return { settled: svc.settledViews()[0], slotMs: stats.slotMs };
}

async function pool(workers) {
  const sandbox = createNodeSandbox({ workers });
  await sandbox.addModule(MODULE, primes);
  return sandbox;
}

const out = { epochSeconds: EPOCH_S, rate: RATE, benchmark: BENCH, targetMs: availabilityPlan.TARGET_MS, scenarios: {} };
const share = (settled, pred) => Number(settled.rewards.filter((r) => pred(r.node)).reduce((s, r) => s + BigInt(r.amount), 0n)) / Number(POOL);
const honestFigures = (settled) => {
  const ds = settled.devices.filter((d) => d.node.startsWith('0xh'));
  const issued = ds.reduce((s, d) => s + d.passed + d.missed, 0);
  const missed = ds.reduce((s, d) => s + d.missed, 0);
  return { issued, missed, falseNegativeRate: issued ? missed / issued : 0, speed: ds.map((d) => Number(d.speed.toFixed(3))) };
};

console.log(`availability bench: epochs of ${EPOCH_S} s, ${RATE} challenges per device, tasks of ${availabilityPlan.TARGET_MS} ms at benchmark ${BENCH}`);
const a = await pool(1);
const b = await pool(1);
{
  const { settled, slotMs } = await epoch([
    ['0xh1', '10.0.0.1', 1, a],
    ['0xh2', '10.0.0.2', 1, b],
  ]);
  const cost = slotMs / (EPOCH_S * 1000 * 2);
  out.scenarios.honestIdle = { ...honestFigures(settled), challengeSlotMs: slotMs, costShare: cost };
  out.cost = {
    measuredShare: cost,
    perChallengeSlotMs: slotMs / (2 * RATE),
    defaultEpoch300s: (RATE * (slotMs / (2 * RATE))) / 300_000,
    publicEpoch3600s: (RATE * (slotMs / (2 * RATE))) / 3_600_000,
  };
  console.log(
    `honest idle:    missed ${out.scenarios.honestIdle.missed}/${out.scenarios.honestIdle.issued}, speed ${out.scenarios.honestIdle.speed.join(', ')}; ` +
      `challenge cost ${(cost * 100).toFixed(2)} % of slot time here, ${(out.cost.defaultEpoch300s * 100).toFixed(3)} % at 300 s epochs, ${(out.cost.publicEpoch3600s * 100).toFixed(4)} % at 1 h`,
  );
}
{
  const stop = burners(2);
  const { settled } = await epoch([
    ['0xh1', '10.0.0.1', 1, a],
    ['0xh2', '10.0.0.2', 1, b],
  ]);
  await stop();
  out.scenarios.honestLoaded = honestFigures(settled);
  console.log(
    `honest loaded:  missed ${out.scenarios.honestLoaded.missed}/${out.scenarios.honestLoaded.issued}, speed ${out.scenarios.honestLoaded.speed.join(', ')} (two threads spinning beside them)`,
  );
}
const machine = await pool(2); // the cheater's real machine: two cores
out.scenarios.cheater = [];
for (const k of [1, 2, 4, 8]) {
  const fakes = Array.from({ length: k }, (_, i) => [`0xc${i}`, '10.6.6.6', 1, machine]);
  const { settled } = await epoch([['0xh1', '10.0.0.1', 1, a], ...fakes]);
  const row = { devices: k, share: share(settled, (n) => n.startsWith('0xc')), honestShare: share(settled, (n) => n.startsWith('0xh')) };
  out.scenarios.cheater.push(row);
  console.log(`cheater ×${k}:    its share ${(row.share * 100).toFixed(1)} %, the honest one-slot device ${(row.honestShare * 100).toFixed(1)} %`);
}
const two = out.scenarios.cheater.find((r) => r.devices === 2).share;
out.cheaterGainPerExtraDevice = out.scenarios.cheater
  .filter((r) => r.devices > 2)
  .map((r) => ({ devices: r.devices, gain: (r.share - two) / (r.devices - 2) }));
console.log(
  `gain per fake device beyond the machine's 2 real slots: ${out.cheaterGainPerExtraDevice.map((g) => `×${g.devices}: ${(g.gain * 100).toFixed(2)} points`).join(', ')}`,
);
await Promise.all([a.close?.(), b.close?.(), machine.close?.()]);

const resultsDir = join(ROOT, 'bench/results');
mkdirSync(resultsDir, { recursive: true });
const file = join(resultsDir, `availability-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
console.log(`wrote ${file}`);
process.exit(0);
