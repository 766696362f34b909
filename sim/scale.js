#!/usr/bin/env node
/**
 * The network at internet scale, in one process: 10,000 to 1,000,000 simulated devices take
 * leases from the gateway's own Scheduler, their answers are decided by its own JobVerification
 * and ReputationBook (the `target` policy, known-answer checks, spot checks, re-verification of
 * results taken on one node's word once it is caught), and accepted results are paid in
 * settlement batches planned by its own planBatch (Merkle tree included). Jobs are its ActiveJob
 * (queue, replica entries, task states). Only the devices and the time are simulated: a virtual
 * clock, a heap of task completions, and a glue of ~100 lines that does what SchedulerHooks and
 * the job manager do around the same calls.
 *
 * Devices: servers (8 slots, speed 1), laptops (4, 0.6), boards (4, 0.2), browsers (2, 0.35) — a
 * task takes `--task-s` seconds on one server core, ±20 %; `--churn` of the online devices leave
 * each simulated minute and as many come back (their leases go back to the queue); `--liars` of
 * them answer wrong with probability `--lie`; `--established` of all devices (liars too: they earned
 * their record first) join with 20 right checks on record, as in a network that has been running.
 *
 * Per size it prints and writes (bench/results/sim-scale-<time>.json): the gateway code's CPU per
 * task (scheduler, verifier, settlement planner), heap per device, simulated tasks/s, tasks per
 * CPU second of gateway code (how many tasks/s one core keeps up with), wrong results accepted,
 * extra compute for verification. The cost per task should stay flat as the network grows:
 * growth is linear. Figures only; no assertions.
 *
 *   npm run sim:scale
 *   node --expose-gc sim/scale.js [--devices 10000,100000,1000000] [--tasks-per-device 10]
 *        [--churn 0.03] [--liars 0.1] [--lie 0.3] [--task-s 20] [--job-tasks 100000] [--seed 1]
 *        [--established 0.8] [--plan-every N (default: devices / 100,000)]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { ActiveJob, planBatch, Scheduler, TaskState, verify } from '@lode/gateway';
import { ROOT } from '../bench/processes.js';
import { rng } from './rng.js';

const { values: a } = parseArgs({
  options: {
    devices: { type: 'string', default: '10000,100000,1000000' },
    'tasks-per-device': { type: 'string', default: '10' },
    churn: { type: 'string', default: '0.03' },
    liars: { type: 'string', default: '0.1' },
    lie: { type: 'string', default: '0.3' },
    'task-s': { type: 'string', default: '20' },
    'job-tasks': { type: 'string', default: '100000' },
    'batch-receipts': { type: 'string', default: '10000' },
    'plan-every': { type: 'string' },
    seed: { type: 'string', default: '1' },
    established: { type: 'string', default: '0.8' },
  },
});
const log = (s) => process.stderr.write(`${s}\n`);

const KINDS = [
  { kind: 'server', share: 0.05, slots: 8, speed: 1, memoryMiB: 32768 },
  { kind: 'laptop', share: 0.45, slots: 4, speed: 0.6, memoryMiB: 8192 },
  { kind: 'board', share: 0.15, slots: 4, speed: 0.2, memoryMiB: 4096 },
  { kind: 'browser', share: 0.35, slots: 2, speed: 0.35, memoryMiB: 2048 },
];

/** A min-heap of task completions by time (parallel arrays: no object per entry). */
class Completions {
  t = [];
  item = [];
  get size() {
    return this.t.length;
  }
  push(t, item) {
    const { t: ts, item: items } = this;
    let i = ts.length;
    ts.push(t);
    items.push(item);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (ts[p] <= t) break;
      ts[i] = ts[p];
      items[i] = items[p];
      i = p;
    }
    ts[i] = t;
    items[i] = item;
  }
  peek() {
    return this.t[0];
  }
  pop() {
    const { t: ts, item: items } = this;
    const top = items[0];
    const lastT = ts.pop();
    const lastItem = items.pop();
    if (ts.length > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= ts.length) break;
        const c = l + 1 < ts.length && ts[l + 1] < ts[l] ? l + 1 : l;
        if (ts[c] >= lastT) break;
        ts[i] = ts[c];
        items[i] = items[c];
        i = c;
      }
      ts[i] = lastT;
      items[i] = lastItem;
    }
    return top;
  }
}

const heapMiB = () => process.memoryUsage().heapUsed / 2 ** 20;
const gc = () => globalThis.gc?.();

export async function runScale(o) {
  const random = rng(o.seed);
  let now = 0; // virtual ms
  const clock = { now: () => now };
  const cpu = { scheduler: 0, verifier: 0, planner: 0 };
  const timed = (what, fn) => {
    const t0 = performance.now();
    try {
      return fn();
    } finally {
      cpu[what] += performance.now() - t0;
    }
  };

  const trustConfig = verify.DEFAULT_TRUST_CONFIG;
  const book = new verify.ReputationBook({
    store: { loadReputations: async () => [], saveReputations: async () => {} },
    log: pino({ level: 'silent' }),
    now: clock.now,
    trust: trustConfig.trust,
    maxStrikes: trustConfig.maxStrikes,
    persistMs: 1e12,
  });
  const lone = new verify.LoneResults();
  const policy = verify.policyFor({ kind: 'target', errorRate: 1e-4 }, trustConfig);
  const credibility = (n) => (lone.of(n).length >= lone.maxPerNode ? Math.min(book.credibility(n), 0.5) : book.credibility(n));

  // ---- jobs: the gateway's own ActiveJob (its queue, replica entries, task states) with its JobVerification
  const jobs = new Map();
  let jobSeq = 0;
  let tasksLeft = o.tasks;
  const TASK = { args: ['0', '1'], env: {}, files: [], mounts: [] };
  const newJob = () => {
    const size = Math.min(o.jobTasks, tasksLeft);
    tasksLeft -= size;
    const id = `job${jobSeq++}`;
    const spec = {
      version: 1,
      name: id,
      requester: `0x${'1'.repeat(40)}`,
      module: 'a'.repeat(64),
      tasks: new Array(size).fill(TASK),
      resources: { memoryMiB: 256 },
      limits: { wallMs: 600_000, maxOutputBytes: 4096, fuel: 1e9 },
      price: { maxPerTask: '1000000000000000', maxPerFuel: '0' },
      verification: { kind: 'target', errorRate: 1e-4 },
      deadline: 9e15,
      nonce: `0x${'0'.repeat(64)}`,
    };
    const record = {
      id,
      name: id,
      requester: spec.requester,
      module: spec.module,
      spec,
      signature: '0x',
      status: 'queued',
      taskCount: size,
      counts: { queued: size, leased: 0, done: 0, failed: 0, cancelled: 0 },
      createdAt: now,
      finishedAt: null,
      deadline: spec.deadline,
    };
    const jv = new verify.JobVerification(policy, {
      credibility,
      isNewcomer: (n) => book.isNewcomer(n),
      establishedAvailable: () => book.establishedOnline() > 0,
      random,
      now: clock.now,
    });
    const job = new ActiveJob(record, jv);
    for (let i = 0; i < size; i++) job.enqueue(i);
    job.decided = 0;
    job.scheduled = true;
    jobs.set(id, job);
    return job;
  };

  // ---- devices and their sessions (what NodeSession gives the scheduler)
  const devices = [];
  const heap = new Completions();
  const stats = {
    executions: 0,
    wrongAccepted: 0,
    accepted: 0,
    failed: 0,
    refused: 0,
    refusedHonest: 0,
    churned: 0,
    receipts: 0,
    batches: 0,
    planned: 0,
    payees: 0,
  };
  let receipts = [];
  const truth = (job, index) => `ok|${job.id}|${index}`;
  /** Tasks whose accepted answer is wrong now. */
  const wrong = new Set();

  let net; // cached per tick, as SchedulerHooks.network()
  const hooks = {
    allowsReplica: (job, index, node) =>
      job.verification.allows(index, { address: node.address, remote: node.remote, newcomer: book.isNewcomer(node.address) }, (net ??= networkView())).ok,
    issued(lease) {
      const jv = lease.job.verification;
      const out = jv.issued(lease.index, { leaseId: lease.leaseId, node: lease.session.address, remote: lease.session.remote, handle: lease });
      lease.job.addReplicas(lease.index, out.more);
      return out.canary ? jv.pickCanary(lease.session.address) : undefined;
    },
    canaryIssued(lease, pick) {
      lease.job.verification.canaryIssued(pick, { leaseId: lease.leaseId, node: lease.session.address, remote: lease.session.remote });
    },
    verifiedCapacity: (node) => (book.isNewcomer(node.address) ? Math.max(1, node.capabilities.slots) : node.capacity),
    onProbation: (node) => book.isNewcomer(node.address),
    probationFirst: () => false,
  };
  const networkView = () => ({ distinctRemotes: online, established: book.establishedOnline() });

  const scheduler = new Scheduler({
    clock,
    trust: hooks,
    onLeaseLost(lease) {
      const { job, index } = lease;
      if (lease.kind === 'canary') return job.verification.canaryLost(lease.leaseId);
      if (job.verification.setOf(index)) return apply(job, index, job.verification.lost(index, lease.leaseId));
      job.enqueue(index);
    },
  });
  const pump = scheduler.pump.bind(scheduler);
  scheduler.pump = () => timed('scheduler', pump);

  let online = 0;
  let sessionSeq = 0;
  const connect = (d) => {
    const session = {
      id: `s${sessionSeq++}`,
      address: d.address,
      remote: d.address,
      capabilities: { slots: d.type.slots, memoryMiB: d.type.memoryMiB, pricePerTask: '1000000000000000', pricePerFuel: '0', benchmark: d.type.speed },
      inflight: 0,
      capacity: scheduler.capacityOf(d.type.slots),
      draining: false,
      leases: new Map(),
      sendLeases(leases) {
        for (const l of leases) d.waiting.push(l.leaseId);
        run(d);
      },
      sendCancel(ids) {
        for (const id of ids) d.cancelled.add(id);
      },
    };
    d.session = session;
    d.online = true;
    online++;
    book.connected(d.address);
    timed('scheduler', () => scheduler.addSession(session));
  };
  const disconnect = (d) => {
    const s = d.session;
    d.online = false;
    d.session = null;
    d.waiting.length = 0;
    d.running = 0;
    d.cancelled.clear();
    online--;
    book.disconnected(d.address);
    timed('scheduler', () => scheduler.removeSession(s));
  };
  /** Starts the device's waiting leases on free slots; each ends at a time from its speed. */
  const run = (d) => {
    while (d.running < d.type.slots && d.waiting.length > 0) {
      const leaseId = d.waiting.shift();
      d.running++;
      const ms = ((o.taskS * 1000) / d.type.speed) * (0.8 + 0.4 * random());
      heap.push(now + ms, { d, session: d.session, leaseId, ms });
    }
  };

  gc();
  const heapBefore = heapMiB();
  for (let i = 0; i < o.devices; i++) {
    let r = random();
    const type = KINDS.find((k) => (r -= k.share) < 0) ?? KINDS[KINDS.length - 1];
    const address = `0x${i.toString(16).padStart(40, '0')}`;
    devices.push({ address, type, liar: random() < o.liars, online: false, session: null, waiting: [], running: 0, cancelled: new Set(), served: 0 });
  }
  // A running network, not a new one: `established` of the devices (liars too — they earned their
  // record before they started lying) come with 20 right checks on record.
  for (const d of devices) if (random() < o.established) for (let k = 0; k < 20; k++) book.recordValid(d.address);
  for (const d of devices) if (random() < 0.9) connect(d);
  gc();
  const heapPerDevice = ((heapMiB() - heapBefore) * 2 ** 20) / o.devices;

  // ---- what the gateway does with an answer (as JobManager + executor + revisions)
  const answerOf = (d, job, index) => (d.liar && random() < o.lie ? `wrong|${d.address}|${job.id}|${index}` : truth(job, index));
  let seq = 0;
  function apply(job, index, dec) {
    if (dec.kind === 'more') return job.addReplicas(index, dec.count);
    if (dec.kind === 'accept') {
      if (!dec.reopened) {
        job.decided++;
        stats.accepted++;
      }
      job.setState(index, TaskState.Done);
      // The answer the task ends with (a re-verification may replace a wrong one).
      if (dec.winner.key !== truth(job, index)) wrong.add(`${job.id}:${index}`);
      else wrong.delete(`${job.id}:${index}`);
      for (const v of dec.agreeing) if (v !== dec.reopened?.original) receipts.push({ jobId: job.id, index, payee: v.node, amount: 10n ** 15n });
      if (dec.agreeing.length >= 2) for (const v of dec.agreeing) passed(v.node, v.payload.seq);
      for (const v of dec.wrong) strike(v.node);
      scheduler.cancelLeases(dec.cancel.map((c) => c.handle).filter(Boolean));
      if (dec.agreeing.length === 1 && !policy.trivial && !dec.reopened) {
        const v = dec.winner;
        lone.add({ jobId: job.id, index, node: v.node, key: v.key, seq: v.payload.seq, receivedAt: now, leaseId: '', session: null });
      }
      return;
    }
    if (dec.kind === 'fail') {
      if (!dec.reopened) {
        job.decided++;
        stats.failed++;
        job.setState(index, TaskState.Failed);
      } else {
        job.setState(index, TaskState.Done);
        wrong.delete(`${job.id}:${index}`); // a caught node's result no answer confirmed is withdrawn
      }
      scheduler.cancelLeases(dec.cancel.map((c) => c.handle).filter(Boolean));
    }
  }
  function passed(node, at) {
    book.recordValid(node);
    lone.passed(node, at);
    auditing.delete(node);
  }
  const byAddress = new Map(devices.map((d) => [d.address, d]));
  /** Decides a result taken on one node's word alone again (as jobs/revisions.ts): caught, or an audit. */
  function reopen(r, reason) {
    const job = jobs.get(r.jobId); // finished jobs too: the gateway reopens them (jobs/revisions.ts)
    if (!job) return;
    const original = { node: r.node, key: r.key, credibility: 0, newcomer: false, kind: 'replica', payload: { node: r.node, seq: r.seq } };
    const n = job.verification.reopen(r.index, { reason, original });
    if (n > 0) {
      job.setState(r.index, TaskState.Leased);
      job.addReplicas(r.index, n);
      if (!job.scheduled) {
        job.scheduled = true;
        scheduler.addJob(job);
      }
    }
  }
  const auditing = new Set();
  /** Nodes whose oldest result taken alone is too old are audited: their latest such result is decided again. */
  function audits() {
    for (const node of lone.due(now)) {
      if (auditing.has(node)) continue;
      const r = lone.latest(node);
      if (!r) continue;
      auditing.add(node);
      lone.remove(r.jobId, r.index);
      reopen(r, 'audit');
    }
  }

  function strike(node) {
    const strikes = book.recordWrong(node);
    for (const r of lone.takeAll(node)) reopen(r, 'caught');
    const d = byAddress.get(node);
    if (strikes >= book.maxStrikes && d && !d.refused) {
      d.refused = true;
      stats.refused++;
      if (!d.liar) stats.refusedHonest++;
      if (d.online) disconnect(d);
    }
  }
  function answered(item) {
    const { d, session, leaseId, ms } = item;
    if (session !== d.session) return; // the device left meanwhile: its leases were lost
    d.running--;
    if (d.cancelled.delete(leaseId)) return run(d);
    const lease = timed('scheduler', () => scheduler.complete(session, leaseId, ms));
    run(d);
    if (!lease) return;
    const job = lease.job;
    const key = answerOf(d, job, lease.index);
    const at = ++seq;
    stats.executions++;
    timed('verifier', () => {
      if (lease.kind === 'canary') {
        const r = job.verification.canaryVoted(leaseId, key);
        if (r?.valid) passed(d.address, at);
        else if (r) strike(d.address);
        return;
      }
      apply(job, lease.index, job.verification.voted(lease.index, leaseId, { node: d.address, seq: at }, key));
    });
  }

  /**
   * Settlement: the receipts so far, in batches of at most batchReceipts (Merkle tree included).
   * Every `planEvery`-th batch is planned (and timed): the planner's cost is per receipt, and
   * planning all of 10M takes the better part of an hour.
   */
  function settle() {
    for (let i = 0; i < receipts.length; i += o.batchReceipts) {
      if (stats.batches++ % o.planEvery !== 0) continue;
      const batch = receipts.slice(i, i + o.batchReceipts);
      const plan = timed('planner', () => planBatch(batch, 100));
      stats.planned += batch.length;
      stats.payees += plan.payouts.length;
    }
    stats.receipts += receipts.length;
    receipts = [];
  }

  // ---- the loop: 1 s ticks of simulated time
  const keepQueued = () => {
    let queued = 0;
    for (const j of jobs.values()) if (j.scheduled) queued += j.counts.queued;
    while (tasksLeft > 0 && queued < 2 * online * 8) {
      const j = newJob();
      queued += j.taskCount;
      scheduler.addJob(j);
    }
  };
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  let peakHeap = heapMiB();
  let tick = 0;
  let lastProgress = 0;
  keepQueued();
  for (;;) {
    now += 1000;
    tick++;
    while (heap.size > 0 && heap.peek() <= now) answered(heap.pop());
    net = undefined;
    // Parked tasks are decided again as records grow (as JobVerification.reconsider on the gateway's timer).
    if (tick % 5 === 0)
      timed('verifier', () => {
        audits();
        for (const job of jobs.values())
          if (job.verification.parkedCount > 0)
            for (const { index, decision } of job.verification.reconsider(trustConfig.maxParkMs)) apply(job, index, decision);
      });
    // Finished jobs leave the scheduler (kept: a result of theirs may be decided again); new ones come while the task budget lasts.
    let open = 0;
    for (const job of jobs.values()) {
      if (!job.scheduled) continue;
      if (job.decided >= job.taskCount && job.verification.inVerification === 0) {
        scheduler.removeJob(job);
        job.scheduled = false;
      } else open++;
    }
    keepQueued();
    if (tick % 60 === 0) {
      // Churn: a share of the online devices leave, as many offline ones (not refused) come back.
      const leaving = Math.round(online * o.churn);
      for (let k = 0, tries = 0; k < leaving && tries < 20 * leaving; tries++) {
        const d = devices[Math.floor(random() * devices.length)];
        if (d.online) {
          disconnect(d);
          stats.churned++;
          k++;
        }
      }
      for (let k = 0, tries = 0; k < leaving && tries < 20 * leaving; tries++) {
        const d = devices[Math.floor(random() * devices.length)];
        if (!d.online && !d.refused) {
          connect(d);
          k++;
        }
      }
      peakHeap = Math.max(peakHeap, heapMiB());
    }
    if (tick % 600 === 0 || receipts.length >= o.batchReceipts * 4) settle();
    // Yield: the scheduler's coalesced pump (schedulePump → setImmediate) runs once per tick, as on the gateway.
    await new Promise((r) => setImmediate(r));
    if (open === 0 && tasksLeft === 0) break;
    if (performance.now() - lastProgress > 5000) {
      lastProgress = performance.now();
      log(`  ${o.devices} devices: ${stats.accepted + stats.failed}/${o.tasks} tasks, ${(now / 60_000).toFixed(1)} simulated min, ${online} online`);
    }
    if (tick > 1e7) throw new Error('the simulation did not end');
  }
  settle();
  const used = process.cpuUsage(cpu0);
  const decided = stats.accepted + stats.failed;
  const plannerMs = (cpu.planner / Math.max(1, stats.planned)) * stats.receipts;
  const gateway = (cpu.scheduler + cpu.verifier + plannerMs) / 1000; // s, the planner extrapolated to every receipt
  return {
    devices: o.devices,
    tasks: o.tasks,
    decided,
    simulatedS: now / 1000,
    wallS: (performance.now() - wall0) / 1000,
    processCpuS: (used.user + used.system) / 1e6,
    gatewayCpuS: gateway,
    usPerTask: {
      total: (gateway * 1e6) / decided,
      scheduler: (cpu.scheduler * 1000) / decided,
      verifier: (cpu.verifier * 1000) / decided,
      // per receipt planned, times receipts per task
      planner: ((cpu.planner * 1000) / Math.max(1, stats.planned)) * (stats.receipts / decided),
    },
    heapPerDeviceBytes: Math.round(heapPerDevice),
    peakHeapMiB: Math.round(peakHeap),
    simTasksPerS: decided / (now / 1000),
    tasksPerGatewayCpuS: decided / gateway,
    wrongAccepted: wrong.size,
    extraCompute: stats.executions / decided - 1,
    failed: stats.failed,
    refusedLiars: stats.refused - stats.refusedHonest,
    refusedHonest: stats.refusedHonest,
    liars: devices.filter((d) => d.liar).length,
    churned: stats.churned,
    receipts: stats.receipts,
    batches: stats.batches,
    plannedReceipts: stats.planned,
    payeesPerPlannedReceipt: stats.payees / Math.max(1, stats.planned),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (!globalThis.gc) log('(run with node --expose-gc for steadier memory figures)');
  const sizes = a.devices.split(',').map(Number);
  const rows = [];
  for (const devices of sizes) {
    log(`simulating ${devices.toLocaleString('en-US')} devices…`);
    const r = await runScale({
      devices,
      tasks: devices * Number(a['tasks-per-device']),
      churn: Number(a.churn),
      liars: Number(a.liars),
      lie: Number(a.lie),
      taskS: Number(a['task-s']),
      jobTasks: Number(a['job-tasks']),
      batchReceipts: Number(a['batch-receipts']),
      // Plan every batch up to 100,000 devices, then a sample (the cost per receipt is what is reported).
      planEvery: a['plan-every'] ? Number(a['plan-every']) : Math.max(1, Math.round(devices / 100_000)),
      seed: Number(a.seed),
      established: Number(a.established),
    });
    rows.push(r);
    gc();
  }
  const f = (n, d = 1) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
  console.log(
    '\n| devices | tasks | simulated | sim tasks/s | gateway µs/task (sched / verify / settle) | tasks per gateway CPU s | heap/device | wrong accepted | extra compute | liars refused (honest) |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    console.log(
      `| ${r.devices.toLocaleString('en-US')} | ${r.tasks.toLocaleString('en-US')} | ${f(r.simulatedS / 60)} min | ${f(r.simTasksPerS, 0)} | ${f(r.usPerTask.total)} (${f(r.usPerTask.scheduler)} / ${f(r.usPerTask.verifier)} / ${f(r.usPerTask.planner)}) | ${f(r.tasksPerGatewayCpuS, 0)} | ${f(r.heapPerDeviceBytes / 1024, 2)} KiB | ${r.wrongAccepted} (${((r.wrongAccepted / r.decided) * 1e6).toFixed(1)} ppm) | ${f(r.extraCompute * 100)} % | ${r.refusedLiars}/${r.liars} (${r.refusedHonest}) |`,
    );
  }
  const dir = join(ROOT, 'bench/results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `sim-scale-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify({ options: a, rows }, null, 2)}\n`);
  log(`wrote ${file}`);
}
