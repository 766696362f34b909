#!/usr/bin/env node
/**
 * The verifier's model, without processes: simulated nodes (honest or lying) take leases from the
 * gateway's own verification code (JobVerification, ReputationBook, the policies) in a
 * discrete-event loop. Thousands of tasks per second, so parameters (prior, lie rate, audit
 * rates) can be explored before the real-process simulation (`npm run sim`) measures them.
 *
 *   node sim/model.js [--nodes 20] [--tasks 10000] [--liars 0.1] [--mode always|p=0.3|collude|lazy|turn=N]
 *                     [--policy target:1e-4|replicate:3|none] [--depth 4] [--runs 5] [--seed 1] [--no-reverify]
 *
 * Results taken on one node's word alone are remembered (verify/loneResults.ts) and re-verified
 * when their node is proven wrong, and each node with such results is audited once before the
 * job ends — as the gateway does (jobs/revisions.ts); `--no-reverify` models the gateway before
 * that was built.
 */
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { verify } from '@lode/gateway';
import { rng } from './rng.js';

const { values: a } = parseArgs({
  options: {
    nodes: { type: 'string', default: '20' },
    tasks: { type: 'string', default: '10000' },
    liars: { type: 'string', default: '0.1' },
    mode: { type: 'string', default: 'always' },
    policy: { type: 'string', default: 'target:1e-4' },
    depth: { type: 'string', default: '4' },
    runs: { type: 'string', default: '5' },
    seed: { type: 'string', default: '1' },
    spot: { type: 'string' },
    canary: { type: 'string' },
    prior: { type: 'string' },
    lie: { type: 'string' },
    'no-reverify': { type: 'boolean', default: false },
  },
});

export function parsePolicy(s) {
  const [kind, arg] = s.split(':');
  if (kind === 'none') return { kind: 'none' };
  if (kind === 'replicate') return { kind: 'replicate', k: Number(arg) };
  return { kind: 'target', errorRate: Number(arg) };
}

/** One run: returns { tasks, executions, wrongAccepted, failed, refused, time }. */
export async function runModel(o) {
  const random = rng(o.seed);
  const trust = { ...verify.DEFAULT_TRUST_PARAMS, ...(o.prior ? { priorLiarFraction: o.prior } : {}), ...(o.lie ? { minLieRate: o.lie } : {}) };
  const audit = { spotCheck: o.spot ?? verify.DEFAULT_TRUST_CONFIG.audit.spotCheck, canary: o.canary ?? verify.DEFAULT_TRUST_CONFIG.audit.canary };
  const store = { loadReputations: async () => [], saveReputations: async () => {} };
  let now = 0;
  const rep = new verify.ReputationBook({ store, log: pino({ level: 'silent' }), now: () => now, trust, persistMs: 1e9 });
  const policy = verify.policyFor(o.policy, { audit });
  const reverify = o.reverify !== false;
  const lone = new verify.LoneResults();
  let seq = 0; // the answer order
  const jv = new verify.JobVerification(policy, {
    // A node with maxPerNode unaudited results is not taken alone (as TrustService.credibility).
    credibility: (n) => (lone.of(n).length >= lone.maxPerNode ? Math.min(rep.credibility(n), 0.5) : rep.credibility(n)),
    isNewcomer: (n) => rep.isNewcomer(n),
    establishedAvailable: () => nodes.some((n) => !n.refused && !rep.isNewcomer(n.id)),
    random,
    now: () => now,
  });

  const liarCount = Math.round(o.nodes * o.liars);
  const liarAt = new Set();
  while (liarAt.size < liarCount) liarAt.add(Math.floor(random() * o.nodes));
  const nodes = Array.from({ length: o.nodes }, (_, i) => ({
    id: `0x${String(i).padStart(4, '0')}`,
    liar: liarAt.has(i),
    queue: [],
    busyUntil: 0,
    refused: false,
    last: null,
    served: 0,
  }));
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const correct = (t) => `ok|${t}`;
  const answer = (node, task) => {
    node.served++;
    if (!node.liar) return correct(task);
    const m = o.mode;
    if (m.startsWith('turn=')) return node.served > Number(m.slice(5)) ? `wrong|${node.id}|${task}` : correct(task);
    if (m === 'always') return `wrong|${node.id}|${task}`;
    if (m === 'collude') return `collude|${task}`;
    if (m === 'lazy') {
      const prev = node.last;
      node.last = task;
      return prev === null ? correct(task) : correct(prev);
    }
    const p = Number(m.split('=')[1]);
    return random() < p ? `wrong|${node.id}|${task}` : correct(task);
  };

  const queue = [];
  for (let t = 0; t < o.tasks; t++) queue.push(t);
  let head = 0;
  const extra = []; // tasks needing more replicas (priority)
  const done = new Set();
  const accepted = new Map(); // task → the answer it ends with (a revision replaces it)
  const canaryTask = new Map(); // leaseId → task index
  let leaseSeq = 0;
  let failed = 0;
  let executions = 0;
  let revised = 0;
  let reverified = 0;
  const auditing = new Set();
  const net = { distinctRemotes: 1, established: 0 };

  const depthOf = (n) => (rep.isNewcomer(n.id) ? 1 : o.depth);

  function nextFor(node) {
    // Replicas still wanted first, then new tasks.
    net.established = nodes.filter((n) => !n.refused && !rep.isNewcomer(n.id)).length;
    const cand = { address: node.id, remote: 'r', newcomer: rep.isNewcomer(node.id) };
    for (let i = 0; i < extra.length; i++) {
      const t = extra[i];
      if (done.has(t)) {
        extra.splice(i--, 1);
        continue;
      }
      if (jv.allows(t, cand, net).ok) {
        extra.splice(i, 1);
        return t;
      }
    }
    if (head < queue.length) return queue[head++];
    return -1;
  }

  function fill(node) {
    while (!node.refused && node.queue.length < depthOf(node)) {
      const t = nextFor(node);
      if (t < 0) return;
      const leaseId = `l${leaseSeq++}`;
      node.queue.push({ leaseId, task: t });
      const r = jv.issued(t, { leaseId, node: node.id, remote: 'r' });
      for (let k = 0; k < r.more; k++) extra.push(t);
      if (r.canary) {
        const known = jv.pickCanary(node.id);
        if (known) {
          const cid = `c${leaseSeq++}`;
          jv.canaryIssued(known, { leaseId: cid, node: node.id, remote: 'r' });
          canaryTask.set(cid, known.index);
          node.queue.push({ leaseId: cid, task: known.index, canary: true });
        }
      }
    }
  }

  function onResult(node, l) {
    const key = answer(node, l.task);
    const at = ++seq;
    if (l.canary) {
      const r = jv.canaryVoted(l.leaseId, key);
      executions++;
      if (!r) return;
      if (r.valid) passed(node.id, at);
      else strike(node);
      return;
    }
    apply(l.task, jv.voted(l.task, l.leaseId, { node: node.id, seq: at }, key));
  }

  /** A check of `node`'s answer at `at` passed: what it gave alone up to it is audited. */
  function passed(node, at) {
    rep.recordValid(node);
    if (reverify) lone.passed(node, at);
  }

  /** Decides a task taken on one node's word alone again (as Revisions.reopenEntry). */
  function reopen(r, reason) {
    const original = { node: r.node, key: r.key, credibility: 0, newcomer: false, kind: 'replica', payload: { node: r.node, seq: r.seq } };
    const n = jv.reopen(r.index, { reason, original });
    if (n < 0) return;
    done.delete(r.index);
    for (let k = 0; k < n; k++) extra.push(r.index);
  }

  function auditNode(node) {
    if (auditing.has(node)) return;
    const r = lone.latest(node);
    if (!r) return;
    auditing.add(node);
    reopen(r, 'audit');
  }

  /** What a verifier decision means for the model's books. */
  function apply(task, d) {
    if (d.kind === 'more') for (let k = 0; k < d.count; k++) extra.push(task);
    else if (d.kind === 'accept') {
      done.add(task);
      if (d.reopened) {
        reverified++;
        auditing.delete(d.reopened.original.node);
        if (d.winner.key !== d.reopened.original.key) revised++;
      }
      executions += d.agreeing.length + d.wrong.length - (d.reopened ? 1 : 0); // the original was counted when first accepted
      accepted.set(task, d.winner.key);
      if (d.winner.key !== correct(task) && process.env.DEBUG) {
        console.log(
          'WRONG',
          task,
          now.toFixed(1),
          d.reason,
          [...d.agreeing, ...d.wrong]
            .map((v) => `${v.key.slice(0, 8)}@${v.node}:${v.credibility.toFixed(3)}${v.newcomer ? 'N' : ''}${byId.get(v.node).liar ? 'L' : ''}`)
            .join(' '),
        );
      }
      if (d.agreeing.length >= 2) for (const v of d.agreeing) passed(v.node, v.payload.seq);
      for (const v of d.wrong) strike(byId.get(v.node));
      for (const c of d.cancel) for (const n of nodes) n.queue = n.queue.filter((q) => q.leaseId !== c.leaseId);
      if (reverify && d.agreeing.length === 1 && !policy.trivial) {
        const v = d.winner;
        if (lone.add({ jobId: 'j', index: task, node: v.node, key: v.key, seq: v.payload.seq, receivedAt: now, leaseId: '', session: null })) auditNode(v.node);
      }
    } else if (d.kind === 'fail') {
      if (process.env.DEBUG)
        console.log(
          'fail',
          task,
          now.toFixed(1),
          d.reason,
          d.votes.map((v) => `${v.key.slice(0, 8)}@${v.node}:${v.credibility.toFixed(3)}${byId.get(v.node).liar ? 'L' : ''}`).join(' '),
        );
      done.add(task);
      if (d.reopened) {
        // A caught node's result no answer could confirm is withdrawn; an audited node's stands.
        reverified++;
        auditing.delete(d.reopened.original.node);
        executions += d.votes.length - 1;
        if (d.reopened.reason === 'caught') {
          accepted.delete(task);
          failed++;
        }
        return;
      }
      failed++;
      executions += d.votes.length;
    }
  }

  function strike(node) {
    const strikes = rep.recordWrong(node.id);
    if (reverify) for (const r of lone.takeAll(node.id)) reopen(r, 'caught');
    if (strikes >= rep.maxStrikes && !node.refused) {
      node.refused = true;
      for (const q of node.queue) {
        if (q.canary) jv.canaryLost(q.leaseId);
        else {
          apply(q.task, jv.lost(q.task, q.leaseId));
        }
      }
      node.queue = [];
    }
  }

  // Event loop: every node runs its queue one task at a time, each taking 1 ± 0.5 time units.
  for (const n of nodes) fill(n);
  let guard = 0;
  let endAudits = false;
  for (;;) {
    if (done.size >= o.tasks) {
      // Every task decided: before the job is final, each node with results taken alone is
      // audited once (if another node could check it).
      if (!reverify || endAudits || lone.size === 0) break;
      endAudits = true;
      for (const node of [...lone.nodes()]) if (nodes.some((n) => !n.refused && n.id !== node)) auditNode(node);
      for (const n of nodes) fill(n);
      if (done.size >= o.tasks) break;
    }
    if (guard++ >= o.tasks * 50) break;
    const active = nodes.filter((n) => !n.refused && n.queue.length > 0);
    if (active.length === 0) {
      for (const n of nodes) fill(n);
      if (!nodes.some((n) => n.queue.length)) break;
      continue;
    }
    let next = active[0];
    for (const n of active) if (n.busyUntil < next.busyUntil) next = n;
    now = Math.max(now, next.busyUntil);
    const l = next.queue.shift();
    next.busyUntil = now + 0.5 + random();
    onResult(next, l);
    // Parked tasks (at their cap) are decided again as records grow; the model's time unit is one task.
    if (jv.parkedCount > 0) for (const { index, decision } of jv.reconsider(120)) apply(index, decision);
    for (const n of nodes) fill(n);
  }
  if (process.env.DEBUG && done.size < o.tasks) {
    const missing = [];
    for (let t = 0; t < o.tasks && missing.length < 5; t++) if (!done.has(t)) missing.push(t);
    console.log(
      'not done',
      missing,
      'extra',
      extra.length,
      'head',
      head,
      missing.map((t) => jv.setOf(t) && { wanted: jv.setOf(t).wanted, out: jv.setOf(t).out.size, votes: jv.setOf(t).votes.length }),
    );
  }
  let wrongAccepted = 0;
  for (const [task, key] of accepted) if (key !== correct(task)) wrongAccepted++;
  return {
    tasks: o.tasks,
    done: done.size,
    executions,
    extra: executions / o.tasks - 1,
    wrongAccepted,
    reverified,
    revised,
    failed,
    refused: nodes.filter((n) => n.refused).map((n) => (n.liar ? 'liar' : 'HONEST')),
    stats: jv.stats,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const runs = Number(a.runs);
  const rows = [];
  for (let r = 0; r < runs; r++) {
    const res = await runModel({
      nodes: Number(a.nodes),
      tasks: Number(a.tasks),
      liars: Number(a.liars),
      mode: a.mode,
      policy: parsePolicy(a.policy),
      depth: Number(a.depth),
      seed: Number(a.seed) + r,
      spot: a.spot === undefined ? undefined : Number(a.spot),
      canary: a.canary === undefined ? undefined : Number(a.canary),
      prior: a.prior === undefined ? undefined : Number(a.prior),
      lie: a.lie === undefined ? undefined : Number(a.lie),
      reverify: !a['no-reverify'],
    });
    rows.push(res);
    console.log(
      `run ${r}: done ${res.done}/${res.tasks} wrong-accepted ${res.wrongAccepted} failed ${res.failed} extra ${(res.extra * 100).toFixed(1)}% re-verified ${res.reverified} (revised ${res.revised}) refused ${JSON.stringify(res.refused)} canaries ${res.stats.canaries} spot ${res.stats.spotChecks}`,
    );
  }
  const mean = (f) => rows.reduce((s, r) => s + f(r), 0) / rows.length;
  console.log(`mean: wrong-accepted ${mean((r) => r.wrongAccepted).toFixed(2)} extra ${(mean((r) => r.extra) * 100).toFixed(1)}%`);
}
