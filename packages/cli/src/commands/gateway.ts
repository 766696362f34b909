/** `lode gateway` — run a gateway alone (nodes connect to it with `lode node`). */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { globalsOf, logLevelOption, withExamples, withJson, type LogLevel } from '../context.js';
import { printJson } from '../output.js';
import { isWildcardHost, remoteUrl } from '../network.js';
import { loadGateway } from '../peers.js';
import { watchSignals } from '../signals.js';

export interface GatewayFlags {
  port: number;
  host: string;
  databaseUrl?: string;
  ledger: 'embedded' | 'rpc' | 'off';
  rpcUrl?: string;
  ledgerAddresses?: string;
  logLevel: LogLevel;
  json?: boolean;
  spotCheck?: number;
  canaryRate?: number;
  maxStrikes?: number;
  trustedIssuer?: string[];
  stragglers: boolean;
}

/** The trust settings of startGateway from the shared flags (unset: the gateway's defaults). */
export function trustOptions(opts: GatewayFlags) {
  return {
    ...(opts.spotCheck !== undefined ? { spotCheck: opts.spotCheck } : {}),
    ...(opts.canaryRate !== undefined ? { canary: opts.canaryRate } : {}),
    ...(opts.maxStrikes !== undefined ? { maxStrikes: opts.maxStrikes } : {}),
    ...(opts.trustedIssuer?.length ? { trustedIssuers: opts.trustedIssuer } : {}),
    stragglers: opts.stragglers,
  };
}

function rate(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!(n >= 0 && n <= 1)) throw new InvalidArgumentError(`${flag} is a probability from 0 to 1, got "${value}".`);
    return n;
  };
}

function collectAddress(value: string, previous: string[] = []): string[] {
  if (!/^0x[0-9a-fA-F]{40}$/.test(value)) throw new InvalidArgumentError(`--trusted-issuer needs a 0x-prefixed 20-byte address, got "${value}".`);
  return [...previous, value];
}

/** The ledger settings of startGateway from the shared flags (`--rpc-url` alone implies `--ledger rpc`). */
export function ledgerOptions(opts: GatewayFlags) {
  const ledger = opts.rpcUrl && opts.ledger === 'embedded' ? 'rpc' : opts.ledger;
  if (ledger === 'rpc' && !opts.rpcUrl) throw new InvalidArgumentError('--ledger rpc needs --rpc-url URL (and --ledger-addresses FILE from `lode ledger deploy`).');
  return { ledger, rpcUrl: opts.rpcUrl, ledgerAddressesFile: opts.ledgerAddresses } as const;
}

/** One line about where payments settle, for the start-up summaries. */
export function ledgerLine(gw: { url: string; ledger?: { mode: string; chainId: number; addresses: { escrow: string } } }): string {
  if (!gw.ledger) return 'off (jobs are free; prices only filter nodes)';
  return gw.ledger.mode === 'embedded'
    ? `embedded chain ${gw.ledger.chainId}, JSON-RPC ${gw.url}/rpc, JobEscrow ${gw.ledger.addresses.escrow}`
    : `chain ${gw.ledger.chainId}, JobEscrow ${gw.ledger.addresses.escrow}`;
}

/** Adds the flags `lode gateway` and `lode up` share. */
export function withGatewayFlags(cmd: Command): Command {
  return cmd
    .option('--port <port>', 'TCP port for HTTP and node WebSockets (0 picks a free one)', parsePort, 7070)
    .option('--host <host>', 'interface to listen on (0.0.0.0 to accept other machines)', '127.0.0.1')
    .option('--database-url <url>', 'a PostgreSQL server (default: the embedded database in --data-dir)')
    .addOption(
      new Option('--ledger <mode>', 'where payments settle: an EVM chain inside the gateway (embedded), an external chain (rpc), or none (off)')
        .choices(['embedded', 'rpc', 'off'])
        .default('embedded'),
    )
    .option('--rpc-url <url>', 'JSON-RPC endpoint of the chain to settle on (implies --ledger rpc)')
    .option('--ledger-addresses <file>', 'contract addresses written by `lode ledger deploy` (with --rpc-url)')
    .option('--spot-check <p>', 'probability that a result taken from one trusted node is checked by a second replica (target jobs; default 0.03)', rate('--spot-check'))
    .option('--canary-rate <p>', 'probability that such a node also gets a hidden known-answer task (default 0.03)', rate('--canary-rate'))
    .option('--max-strikes <n>', 'results proven wrong after which a node is refused (default 3)', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`--max-strikes must be a positive integer, got "${v}".`);
      return n;
    })
    .option('--trusted-issuer <address>', 'a gateway whose reputation credentials count here (repeatable)', collectAddress)
    .option('--no-stragglers', 'do not give straggling leases a speculative copy')
    .addOption(logLevelOption('gateway log level (logs go to stdout)'));
}

export function registerGateway(program: Command): void {
  const cmd = program.command('gateway').description('run a gateway: the HTTP API for requesters and the WebSocket endpoint for nodes');
  withGatewayFlags(cmd);
  withJson(cmd);
  withExamples(
    cmd,
    'lode gateway --port 7070',
    'lode gateway --host 0.0.0.0 --database-url postgres://lode@db/lode',
    'lode gateway --rpc-url https://rpc.example --ledger-addresses ledger.json',
    'lode gateway --ledger off                  # no payments',
  );
  cmd.action(async (opts: GatewayFlags) => {
    const { dataDir } = globalsOf(cmd);
    const shutdown = watchSignals();
    const { startGateway } = await loadGateway();
    const gw = await startGateway({ port: opts.port, host: opts.host, dataDir, databaseUrl: opts.databaseUrl, logLevel: opts.logLevel, ...ledgerOptions(opts), trust: trustOptions(opts) });
    // On every interface, gw.url says 127.0.0.1: other machines need this machine's address.
    const remote = { url: remoteUrl(gw.url, opts.host), wsUrl: remoteUrl(gw.wsUrl, opts.host) };
    const summary = {
      url: gw.url,
      wsUrl: gw.wsUrl,
      ...(remote.url && remote.wsUrl ? { remoteUrl: remote.url, remoteWsUrl: remote.wsUrl } : {}),
      port: gw.port,
      dataDir,
      database: opts.databaseUrl ? 'postgresql' : 'embedded',
      ledger: gw.ledger ? { mode: gw.ledger.mode, chainId: gw.ledger.chainId, rpcUrl: gw.ledger.mode === 'embedded' ? `${gw.url}/rpc` : opts.rpcUrl, contracts: gw.ledger.addresses } : null,
    };
    if (opts.json) printJson(summary);
    else {
      const nodes = remote.wsUrl
        ? `lode node --gateway ${remote.wsUrl}\n            (on this machine: lode node --gateway ${gw.wsUrl})`
        : `lode node --gateway ${gw.wsUrl}`;
      process.stdout.write(
        `Gateway listening on ${gw.url}${isWildcardHost(opts.host) ? ` and every other interface (--host ${opts.host})` : ''}\n` +
          `  API:      ${gw.url}/v1/jobs   (LODE_GATEWAY=${gw.url})\n` +
          (remote.url ? `            from other machines: ${remote.url}\n` : '') +
          `  nodes:    ${nodes}\n` +
          `  database: ${opts.databaseUrl ? 'PostgreSQL server' : `embedded, in ${dataDir}`}\n` +
          `  ledger:   ${ledgerLine(gw)}\n` +
          (gw.ledger ? `            nodes need a stake: lode wallet faucet && lode stake add 100 (with the node's --data-dir)\n` : '') +
          `Press Ctrl-C to stop.\n`,
      );
    }
    await shutdown.requested;
    shutdown.onForce(() => process.exit(1));
    if (!opts.json) process.stderr.write('Stopping the gateway…\n');
    await gw.close();
    shutdown.dispose();
  });
}

export function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError(`--port must be 0–65535, got "${value}".`);
  return n;
}
