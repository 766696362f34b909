/** `lode node` — contribute this machine: connect to a gateway and run its tasks. */
import { InvalidArgumentError, type Command } from 'commander';
import pino from 'pino';
import { amount, globalsOf, logLevelOption, positiveInt, withExamples, withJson, type LogLevel } from '../context.js';
import { printJson } from '../output.js';
import { loadOrCreateAccount } from '@lode/keystore';
import { loadNode } from '../peers.js';
import { watchSignals } from '../signals.js';

interface Options {
  slots?: number;
  price: string;
  pricePerFuel: string;
  claim: boolean;
  claimInterval: number;
  restake?: boolean;
  gatewayAddress?: string;
  logLevel: LogLevel;
  json?: boolean;
}

/** A message a node started by `lode up` sends its parent over IPC. */
export type NodeIpcMessage = { type: 'ready'; address: string };

export function registerNode(program: Command): void {
  const cmd = program
    .command('node')
    .description('run a provider node: connect to --gateway (ws:// or http://), take tasks, run them in the WASM sandbox')
    .option('--slots <n>', 'tasks run at once (default: one per CPU core)', positiveInt('--slots'))
    .option('--price <amount>', "price per task, in the token's smallest unit", amount('--price'), '0')
    .option(
      '--price-per-fuel <amount>',
      "price per unit of fuel a task uses (≈ one WASM instruction), in the token's smallest unit",
      amount('--price-per-fuel'),
      '0',
    )
    .option('--no-claim', 'do not claim settled payouts automatically (claim later with `lode wallet claim`)')
    .option('--claim-interval <ms>', 'how often to claim settled payouts', positiveInt('--claim-interval'), 30_000)
    .option('--restake', 'stake claimed earnings instead of receiving them')
    .option(
      '--gateway-address <address>',
      "the gateway's account: sign hellos only for it (default: the account the gateway named at first contact, kept in <data-dir>/gateways.json)",
      (v: string) => {
        if (!/^0x[0-9a-fA-F]{40}$/.test(v)) throw new InvalidArgumentError(`--gateway-address needs a 0x-prefixed 20-byte address, got "${v}".`);
        return v;
      },
    )
    .addOption(logLevelOption('node log level (logs go to stderr)'));
  withJson(cmd);
  withExamples(cmd, 'lode node --gateway ws://127.0.0.1:7070', 'lode node --gateway ws://gw.example:7070 --data-dir ~/.lode-node --slots 2');
  cmd.action(async (opts: Options) => {
    const { dataDir, gateway } = globalsOf(cmd);
    const shutdown = watchSignals();
    const { startNode } = await loadNode();
    const log = pino({ name: 'lode-node', level: opts.logLevel }, pino.destination(2));
    const { account, address, path, created } = await loadOrCreateAccount(dataDir, { create: true, log });
    const node = await startNode({
      gateway,
      dataDir,
      slots: opts.slots,
      pricePerTask: opts.price,
      pricePerFuel: opts.pricePerFuel,
      account,
      log,
      autoClaim: opts.claim,
      claimIntervalMs: opts.claimInterval,
      restake: opts.restake,
      gatewayAddress: opts.gatewayAddress,
    });
    const caps = node.capabilities;
    if (opts.json) printJson({ address, keystore: path, created, gateway, capabilities: caps });
    else {
      process.stdout.write(
        `Node ${address}${created ? ` (new account; back up ${path})` : ''}\n` +
          `  gateway: ${gateway}\n` +
          `  offers:  ${caps.slots} slot(s), ${caps.cores} cores, ${caps.memoryMiB} MiB, ${caps.os}/${caps.arch} (${caps.kind}), price ${caps.pricePerTask}/task + ${caps.pricePerFuel}/fuel, benchmark ${caps.benchmark}\n` +
          `Press Ctrl-C to drain and stop.\n`,
      );
    }
    process.send?.({ type: 'ready', address } satisfies NodeIpcMessage);

    const status = liveStatus(!opts.json && process.stdout.isTTY === true);
    node.on('connected', () => status.set('connected'));
    node.on('disconnected', (e) =>
      status.set(e.retryInMs === null ? 'closed' : `disconnected (${e.reason || e.code}), retrying in ${Math.ceil(e.retryInMs / 1000)} s`),
    );
    node.on('task', (t) => status.task(t.status === 'ok'));
    // Refusals the node cannot fix by retrying are said once, with what to do.
    const said = new Set<string>();
    node.on('error', (e) => {
      const { code, meta } = e as { code?: string; meta?: { code?: string } };
      if (code !== 'HELLO_REFUSED') return;
      const why = meta?.code ?? code;
      if (said.has(why)) return;
      said.add(why);
      const hint =
        why === 'STAKE_REQUIRED'
          ? `\n  stake from this node's account: lode wallet faucet --data-dir ${dataDir} && lode stake add 100 --data-dir ${dataDir}`
          : '';
      process.stderr.write(`\nerror [${why}]: ${e.message}${hint}\n  (the node keeps retrying; it connects as soon as this is fixed)\n`);
    });
    node.on('claimed', (c) => {
      if (!opts.json) process.stderr.write(`\nclaimed ${Number(c.amount) / 1e18} LODE from ${c.batches} settlement batch(es) (tx ${c.txHash})\n`);
    });

    // Started by `lode up`: when the parent goes away, leave too.
    const parentGone = new Promise<string>((resolve) => process.once('disconnect', () => resolve('parent exited')));
    const reason = await Promise.race([shutdown.requested, process.send ? parentGone : new Promise<never>(() => {})]);
    status.stop();
    shutdown.onForce(() => {
      process.stderr.write('Stopping now; running tasks are abandoned (the gateway gives them to other nodes).\n');
      void node.stop().then(() => process.exit(0));
    });
    process.stderr.write(`${reason}: draining — finishing running tasks (Ctrl-C again to stop now)…\n`);
    await node.drain();
    shutdown.dispose();
    if (!opts.json) process.stdout.write(`Node stopped after ${status.done} task(s) done, ${status.failed} failed.\n`);
  });
}

/** The live "tasks done" line (rewritten in place on a TTY, silent otherwise). */
function liveStatus(tty: boolean) {
  let state = 'connecting';
  const counts = { done: 0, failed: 0 };
  let timer: NodeJS.Timeout | undefined;
  const render = () => process.stdout.write(`\r\x1b[2K${state} — ${counts.done} task(s) done, ${counts.failed} failed`);
  const schedule = () => {
    if (tty && !timer) timer = setTimeout(() => ((timer = undefined), render()), 200);
  };
  if (tty) render();
  return {
    get done() {
      return counts.done;
    },
    get failed() {
      return counts.failed;
    },
    set(s: string) {
      state = s;
      schedule();
    },
    task(ok: boolean) {
      counts[ok ? 'done' : 'failed']++;
      schedule();
    },
    stop() {
      clearTimeout(timer);
      if (tty) {
        render();
        process.stdout.write('\n');
      }
    },
  };
}
