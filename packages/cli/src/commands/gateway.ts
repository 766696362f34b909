/** `lode gateway` — run a gateway alone (nodes connect to it with `lode node`). */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { formatEther } from 'viem';
import { globalsOf, logLevelOption, positiveInt, withExamples, withJson, type LogLevel } from '../context.js';
import { printJson } from '../output.js';
import { isWildcardHost, remoteUrl } from '../network.js';
import { loadGateway } from '../peers.js';
import { watchSignals } from '../signals.js';

export interface GatewayFlags {
  port: number;
  host: string;
  databaseUrl?: string;
  clusterLeaseMs?: number;
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
  faucet?: boolean;
  faucetPerAddressDay?: number;
  faucetPerIpDay?: number;
  faucetPerDay?: number;
  rpcPerMinute?: number;
  rpcBudgetMs?: number;
  epochLength?: number;
  availability?: boolean;
  publicUrl?: string[];
  trustProxy?: string[];
  limit?: Record<string, number>;
}

/** The quotas `--limit name=value` may set (GatewayConfig.limits). */
const LIMIT_NAMES = [
  'requestsPerMinutePerIp',
  'jobsPerMinute',
  'jobsPerMinutePerIp',
  'maxTasksPerJob',
  'maxJobBytes',
  'maxOpenJobsPerAccount',
  'blobBytesPerAccount',
  'maxDeadlineMs',
  'nodeConnectionsPerIp',
  'eventStreamsPerAccount',
  'signInsPerMinutePerIp',
] as const;

function collectLimit(value: string, previous: Record<string, number> = {}): Record<string, number> {
  const m = /^([A-Za-z]+)=([0-9]+)$/.exec(value);
  if (!m || !(LIMIT_NAMES as readonly string[]).includes(m[1]!)) {
    throw new InvalidArgumentError(`--limit takes NAME=NUMBER with NAME one of ${LIMIT_NAMES.join(', ')}; got "${value}".`);
  }
  return { ...previous, [m[1]!]: Number(m[2]) };
}

function collectUrl(value: string, previous: string[] = []): string[] {
  try {
    new URL(value);
  } catch {
    throw new InvalidArgumentError(`--public-url needs a URL such as wss://gw.example.org, got "${value}".`);
  }
  return [...previous, value];
}

/** Who may reach the gateway and its quotas, from the shared flags (unset: the gateway's defaults). */
export function accessOptions(opts: GatewayFlags) {
  return { publicUrls: opts.publicUrl ?? [], trustProxy: opts.trustProxy ?? [], limits: opts.limit ?? {} };
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
  if (ledger === 'rpc' && !opts.rpcUrl)
    throw new InvalidArgumentError('--ledger rpc needs --rpc-url URL (and --ledger-addresses FILE from `lode ledger deploy`).');
  return {
    ledger,
    rpcUrl: opts.rpcUrl,
    ledgerAddressesFile: opts.ledgerAddresses,
    ...(opts.faucet !== undefined ? { faucet: opts.faucet } : {}),
    faucetLimits: {
      ...(opts.faucetPerAddressDay !== undefined ? { perAddress: opts.faucetPerAddressDay } : {}),
      ...(opts.faucetPerIpDay !== undefined ? { perIp: opts.faucetPerIpDay } : {}),
      ...(opts.faucetPerDay !== undefined ? { total: opts.faucetPerDay } : {}),
    },
    ...(opts.rpcPerMinute !== undefined ? { rpcPerMinute: opts.rpcPerMinute } : {}),
    ...(opts.rpcBudgetMs !== undefined ? { rpcBudgetMs: opts.rpcBudgetMs } : {}),
    ...(opts.epochLength !== undefined ? { ledgerParams: { epochLength: opts.epochLength } } : {}),
    ...(opts.availability === false ? { availability: false } : {}),
  } as const;
}

/** The faucet's settings as JSON (amounts in wei), or null without one. */
export function faucetJson(l: {
  faucetEnabled: boolean;
  faucetSettings: { grantLode: bigint; grantEth: bigint; perAddress: number; perIp: number; total: number };
}) {
  if (!l.faucetEnabled) return null;
  const s = l.faucetSettings;
  return { grantLode: s.grantLode.toString(), grantEth: s.grantEth.toString(), perAddressPerDay: s.perAddress, perIpPerDay: s.perIp, perDay: s.total };
}

/** One line about the faucet, for the start-up summaries (undefined when there is none). */
export function faucetLine(gw: {
  ledger?: { faucetEnabled: boolean; mode: string; faucetSettings: { grantLode: bigint; perAddress: number; perIp: number; total: number } };
}): string | undefined {
  const l = gw.ledger;
  if (!l?.faucetEnabled) return undefined;
  const s = l.faucetSettings;
  return `${formatEther(s.grantLode)} LODE and gas per grant; per 24 h at most ${s.perAddress} per address, ${s.perIp} per client IP, ${s.total} in all${l.mode === 'rpc' ? " (--faucet: from the gateway account's own LODE)" : ''}`;
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
    .option('--database-url <url>', 'a PostgreSQL server (default: the embedded database in --data-dir); gateways on one server form a cluster')
    .option(
      '--cluster-lease-ms <ms>',
      "with --database-url: how long this gateway's lease lasts without a heartbeat; a killed gateway's jobs move to another after it (default 8000)",
      positiveInt('--cluster-lease-ms'),
    )
    .addOption(
      new Option('--ledger <mode>', 'where payments settle: an EVM chain inside the gateway (embedded), an external chain (rpc), or none (off)')
        .choices(['embedded', 'rpc', 'off'])
        .default('embedded'),
    )
    .option('--rpc-url <url>', 'JSON-RPC endpoint of the chain to settle on (implies --ledger rpc)')
    .option('--ledger-addresses <file>', 'contract addresses written by `lode ledger deploy` (with --rpc-url)')
    .option(
      '--spot-check <p>',
      'probability that a result taken from one trusted node is checked by a second replica (target jobs; default 0.03)',
      rate('--spot-check'),
    )
    .option('--canary-rate <p>', 'probability that such a node also gets a hidden known-answer task (default 0.03)', rate('--canary-rate'))
    .option('--max-strikes <n>', 'results proven wrong after which a node is refused (default 3)', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`--max-strikes must be a positive integer, got "${v}".`);
      return n;
    })
    .option('--trusted-issuer <address>', 'a gateway whose reputation credentials count here (repeatable)', collectAddress)
    .option('--no-stragglers', 'do not give straggling leases a speculative copy')
    .option(
      '--faucet',
      "serve POST /v1/ledger/faucet on an external chain too (default: only with the embedded chain); it hands out the gateway account's own LODE",
    )
    .option('--no-faucet', 'serve no faucet, even with the embedded chain')
    .option('--faucet-per-address-day <n>', 'faucet grants per address per 24 h (default 1)', positiveInt('--faucet-per-address-day'))
    .option('--faucet-per-ip-day <n>', 'faucet grants per client IP (an IPv6 /64) per 24 h (default 10)', positiveInt('--faucet-per-ip-day'))
    .option('--faucet-per-day <n>', 'faucet grants in all per 24 h (default 100)', positiveInt('--faucet-per-day'))
    .option('--rpc-per-minute <n>', 'JSON-RPC requests (POST /rpc, the embedded chain) per client IP per minute (default 600)', positiveInt('--rpc-per-minute'))
    .option(
      '--rpc-budget-ms <ms>',
      'EVM time one JSON-RPC request may take; calls are also capped at the block gas limit (default 1000)',
      positiveInt('--rpc-budget-ms'),
    )
    .option(
      '--public-url <url>',
      'a URL nodes and requesters reach this gateway at (repeatable); hellos and sign-ins must name one of their hosts, and in a cluster idle gateways send nodes to the first (default: the host each request came to)',
      collectUrl,
    )
    .option(
      '--trust-proxy <address>',
      'a reverse proxy (IP or CIDR) whose X-Forwarded-For names the client, for per-IP quotas (repeatable; only the proxy you run)',
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .option(
      '--epoch-length <s>',
      'seconds per availability epoch, for a new embedded chain (default 300; later: `lode gov propose`)',
      positiveInt('--epoch-length'),
    )
    .option('--no-availability', 'do not challenge registered devices nor record availability rewards')
    .option('--limit <name=value>', `a quota (repeatable): ${LIMIT_NAMES.join(', ')} — see docs/security.md for the defaults`, collectLimit)
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
    const gw = await startGateway({
      port: opts.port,
      host: opts.host,
      dataDir,
      databaseUrl: opts.databaseUrl,
      ...(opts.clusterLeaseMs !== undefined ? { clusterLeaseMs: opts.clusterLeaseMs } : {}),
      logLevel: opts.logLevel,
      ...ledgerOptions(opts),
      trust: trustOptions(opts),
      ...accessOptions(opts),
    });
    // On every interface, gw.url says 127.0.0.1: other machines need this machine's address.
    const remote = { url: remoteUrl(gw.url, opts.host), wsUrl: remoteUrl(gw.wsUrl, opts.host) };
    const summary = {
      url: gw.url,
      wsUrl: gw.wsUrl,
      ...(remote.url && remote.wsUrl ? { remoteUrl: remote.url, remoteWsUrl: remote.wsUrl } : {}),
      port: gw.port,
      dataDir,
      database: opts.databaseUrl ? 'postgresql' : 'embedded',
      ledger: gw.ledger
        ? {
            mode: gw.ledger.mode,
            chainId: gw.ledger.chainId,
            rpcUrl: gw.ledger.mode === 'embedded' ? `${gw.url}/rpc` : opts.rpcUrl,
            contracts: gw.ledger.addresses,
            faucet: faucetJson(gw.ledger),
          }
        : null,
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
          (faucetLine(gw) ? `  faucet:   ${faucetLine(gw)}\n` : '') +
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
