#!/usr/bin/env node
/**
 * A provider node for the Byzantine simulation: the real `@lode/node` agent and the real
 * sandbox, with one twist — its answers may be made to lie before they are sent, the way a
 * dishonest provider would patch its own node:
 *
 *   honest        every result as computed
 *   always        every result wrong (each liar its own wrong answer)
 *   p=0.3         a wrong result with probability 0.3, else the right one
 *   collude       every result wrong, and the same wrong answer as every other colluder
 *   lazy          replays its previous result instead of the task's (its first one is right)
 *   turn=N        right for its first N tasks (to earn trust), then always wrong
 *   turn=signal   right until the process gets SIGUSR2 (a test decides when), then always wrong
 *
 * A wrong result is made consistent (its resultHash recomputed), so only comparing it with
 * other nodes' results or with a known answer can catch it.
 *
 *   node sim/node.js --gateway ws://127.0.0.1:7070/v1/nodes/ws --data-dir DIR --mode collude [--slots 1]
 */
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { startNode } from '@lode/node';
import { createNodeSandbox } from '@lode/sandbox';
import { resultDigest, sha256Hex } from '@lode/protocol';

const { values: a } = parseArgs({
  options: {
    gateway: { type: 'string' },
    'data-dir': { type: 'string' },
    mode: { type: 'string', default: 'honest' },
    slots: { type: 'string', default: '1' },
    seed: { type: 'string', default: String(process.pid) },
    'log-level': { type: 'string', default: 'warn' },
  },
});

/** Wraps a sandbox so that its results lie as `mode` says. */
export function lyingSandbox(inner, mode, random = Math.random) {
  let previous;
  let served = 0;
  let turnAt = mode === 'turn=signal' ? Infinity : mode.startsWith('turn=') ? Number(mode.slice(5)) : Infinity;
  if (mode === 'turn=signal') process.once('SIGUSR2', () => (turnAt = served));
  const p = mode.startsWith('p=') ? Number(mode.slice(2)) : 0;
  const forge = (r, stdout) => {
    const enc = new TextEncoder().encode(stdout);
    const out = { ...r, status: 'ok', exitCode: 0, stdout: enc, stderr: new Uint8Array(), files: [], deleted: [], error: undefined };
    out.resultHash = resultDigest({ exitCode: 0, stdout: enc, stderr: out.stderr, files: [], deleted: [] });
    return out;
  };
  const lie = (task, r) => {
    served++;
    switch (true) {
      case mode === 'honest':
        return r;
      case mode === 'always':
        return forge(r, `wrong ${process.pid} ${task.seed}\n`);
      case p > 0:
        return random() < p ? forge(r, `wrong ${process.pid} ${task.seed}\n`) : r;
      case mode === 'collude':
        return forge(r, `colluded ${sha256Hex(task.seed).slice(0, 16)}\n`);
      case mode === 'lazy': {
        const replay = previous ?? r;
        previous = r;
        return { ...replay, durationMs: r.durationMs };
      }
      case served > turnAt:
        return forge(r, `turned ${process.pid} ${task.seed}\n`);
      default:
        return r;
    }
  };
  return {
    addModule: (h, b) => inner.addModule(h, b),
    hasModule: (h) => inner.hasModule(h),
    cancel: (t) => inner.cancel(t),
    close: () => inner.close(),
    get concurrency() {
      return inner.concurrency;
    },
    async run(task, o) {
      return lie(task, await inner.run(task, o));
    },
    async runBatch(tasks, o) {
      const rs = await inner.runBatch(tasks, o);
      return rs.map((r, i) => (r.error?.code === 'SANDBOX_CANCELLED' ? r : lie(tasks[i], r)));
    },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (!a.gateway || !a['data-dir']) {
    process.stderr.write('usage: node sim/node.js --gateway WS_URL --data-dir DIR [--mode honest|always|p=0.3|collude|lazy|turn=N|turn=signal] [--slots 1]\n');
    process.exit(2);
  }
  const slots = Number(a.slots);
  const sandbox = lyingSandbox(await createNodeSandbox({ workers: slots }), a.mode);
  const log = pino({ level: a['log-level'] }, pino.destination(2));
  const node = await startNode({ gateway: a.gateway, dataDir: a['data-dir'], slots, sandbox, log, benchmark: false, autoClaim: false });
  node.on('connected', () => process.stdout.write(`${JSON.stringify({ ready: node.address, mode: a.mode })}\n`));
  node.on('error', (e) => log.debug({ e }, 'node error'));
  const stop = () => void node.stop().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
