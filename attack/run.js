#!/usr/bin/env node
/**
 * `npm run attack` — every attack of the hostile-world issue (and the ones found since) against
 * a real network: a `lode gateway` process with its embedded chain and staked `lode node`
 * processes. After each attack an honest requester (another client address) runs a paid job
 * checked against a sieve, and the network must be intact: the same processes up, no promise
 * rejection left unhandled in any log, /healthz answering. Then the fuzzer sends `--fuzz N`
 * generated HTTP requests and node frames. Prints one line per attack and writes
 * bench/results/attack-<time>.json; exits 1 if any attack got through.
 *
 *   npm run attack -- [--only id,id] [--fuzz 100000] [--nodes 3]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, startNetwork } from './network.js';
import { honestJob } from './honest.js';
import { fuzzGateway, fuzzSeed } from './fuzz.js';
import * as faucet from './attacks/faucet.js';
import * as chain from './attacks/chain.js';
import * as settlement from './attacks/settlement.js';
import { exitMinusOne, hostileModules, nanBits } from './attacks/modules.js';
import * as quotas from './attacks/quotas.js';
import * as auth from './attacks/auth.js';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const ONLY = arg('only', '').split(',').filter(Boolean);
const FUZZ = Number(arg('fuzz', '100000'));
const NODES = Number(arg('nodes', '3'));
const log = (...a) => process.stderr.write(`${a.join(' ')}\n`);

const ATTACKS = [faucet, chain, settlement, exitMinusOne, hostileModules, nanBits, quotas, auth];

/** Runs the attacks on `net`; each followed by the honest job and the intact check. */
export async function runAttacks(net, attacks = ATTACKS, { onResult = () => {} } = {}) {
  const honest = await net.requester('honest', '10.0.0.1');
  const rows = [];
  for (const a of attacks) {
    log(`— ${a.id}: ${a.title}`);
    const t0 = performance.now();
    let outcome;
    try {
      outcome = await a.run(net);
    } catch (err) {
      outcome = { held: false, detail: `the attack itself failed: ${err.stack ?? err}` };
    }
    const seconds = (performance.now() - t0) / 1000;
    const job = await honestJob(honest, { tasks: 6 }).catch((err) => ({ ok: false, problem: String(err.message ?? err) }));
    const problems = await net.intact();
    const row = {
      id: a.id,
      title: a.title,
      held: outcome.held,
      honestJob: job.ok ? `right (${(job.ms / 1000).toFixed(1)} s)` : job.problem,
      intact: problems.length === 0 ? 'yes' : problems.join('; '),
      detail: outcome.detail,
      seconds,
      ...(outcome.figures ? { figures: outcome.figures } : {}),
    };
    row.ok = row.held && job.ok && problems.length === 0;
    rows.push(row);
    onResult(row);
    log(`  ${row.ok ? 'HELD' : 'BROKEN'} — ${row.detail}`);
    log(`  honest job: ${row.honestJob}; network intact: ${row.intact}`);
  }
  return rows;
}

/** The fuzzer against `net`, with an honest job running through it. */
export async function runFuzz(net, messages) {
  const honest = await net.requester('fuzz-honest', '10.0.0.2');
  // 2 GiB per task: the fuzzer's nodes (1 GiB) cannot take the honest job (a job without
  // verification takes whatever its node answers); its bait job below they can.
  const running = honestJob(honest, { tasks: 24, memoryMiB: 2048, paid: net.ledger });
  const { client, account } = await net.requester('fuzzer', '10.66.0.9');
  const { getIdentity, putBlob } = await import('@lode/sdk');
  const { JobSpec, signJob } = await import('@lode/protocol');
  const { readWorkload } = await import('@lode/workloads');
  const { sha256 } = await putBlob(client, { data: readWorkload('echo') });
  const identity = await getIdentity(client);
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
    { gateway: identity.gateway, chainId: identity.chainId },
  );
  const { submitPaid } = await import('./honest.js');
  await submitPaid(
    client,
    { module: sha256, tasks: Array.from({ length: 2000 }, (_, i) => ({ args: [String(i)] })), resources: { memoryMiB: 64 } },
    net.ledger,
  );
  const seed = await fuzzSeed({ url: net.url, client, account, jobId: '0'.repeat(32), signedJob });
  log(`— fuzz: ${messages} generated HTTP requests and node frames`);
  const fuzz = await fuzzGateway({ url: net.url, wsUrl: net.wsUrl, seed, messages, fetchAs: net.http('10.66.0.9'), ip: '10.66.0.9' });
  const job = await running;
  const problems = await net.intact();
  const row = {
    id: 'fuzz',
    title: `${fuzz.messages} generated HTTP requests and node frames`,
    held: fuzz.internal.length === 0,
    honestJob: job.ok ? `right (${(job.ms / 1000).toFixed(1)} s)` : job.problem,
    intact: problems.length === 0 ? 'yes' : problems.join('; '),
    detail: `${fuzz.http} requests (${Object.entries(fuzz.statuses)
      .map(([k, v]) => `${v}× ${k}`)
      .join(
        ', ',
      )}), ${fuzz.frames} frames, ${fuzz.perSecond.toFixed(0)} messages/s; ${fuzz.internal.length} unexpected answers${fuzz.internal.length ? `: ${fuzz.internal.slice(0, 3).join(' | ')}` : ''}`,
    seconds: fuzz.seconds,
    figures: { messages: fuzz.messages, perSecond: fuzz.perSecond, statuses: fuzz.statuses },
  };
  row.ok = row.held && job.ok && problems.length === 0;
  log(`  ${row.ok ? 'HELD' : 'BROKEN'} — ${row.detail}`);
  log(`  honest job: ${row.honestJob}; network intact: ${row.intact}`);
  return row;
}

async function main() {
  const started = new Date();
  log(`starting a network: a gateway (embedded chain) and ${NODES} staked nodes…`);
  const rows = [];
  const attacks = ONLY.length ? ATTACKS.filter((a) => ONLY.includes(a.id)) : ATTACKS;
  if (attacks.length) {
    const net = await startNetwork({ nodes: NODES });
    try {
      rows.push(...(await runAttacks(net, attacks)));
    } finally {
      await net.stop();
    }
  }
  if (FUZZ > 0 && (!ONLY.length || ONLY.includes('fuzz'))) {
    // Its own network: no ledger (the fuzzer's nodes must be admitted without stake to reach the
    // session frames) and the per-IP request quota lifted (it is here to reach deep code).
    log('starting a network for the fuzzer: a gateway without a ledger and 2 nodes…');
    const net = await startNetwork({
      nodes: 2,
      ledger: false,
      gatewayArgs: ['--limit', 'requestsPerMinutePerIp=10000000', '--limit', 'nodeConnectionsPerIp=100000'],
    });
    try {
      rows.push(await runFuzz(net, FUZZ));
    } finally {
      await net.stop();
    }
  }
  process.stdout.write(`\nattack                 held  honest job       intact\n`);
  for (const r of rows)
    process.stdout.write(
      `${r.id.padEnd(22)} ${(r.ok ? 'yes' : 'NO').padEnd(5)} ${String(r.honestJob).slice(0, 16).padEnd(16)} ${r.intact === 'yes' ? 'yes' : 'NO'}\n`,
    );
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
  const file = join(ROOT, 'bench/results', `attack-${started.toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify({ startedAt: started.toISOString(), nodes: NODES, rows }, null, 2)}\n`);
  process.stdout.write(`\nwrote ${file}\n`);
  const broken = rows.filter((r) => !r.ok);
  if (broken.length) {
    process.stdout.write(`${broken.length} attack(s) got through: ${broken.map((r) => r.id).join(', ')}\n`);
    process.exitCode = 1;
  } else process.stdout.write('every attack held; honest jobs completed after each.\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err) => {
    process.stderr.write(`${err.stack ?? err}\n`);
    process.exit(1);
  });
}
