/** `lode gateway` — run a gateway alone (nodes connect to it with `lode node`). */
import { InvalidArgumentError, type Command } from 'commander';
import { globalsOf, logLevelOption, withExamples, withJson, type LogLevel } from '../context.js';
import { printJson } from '../output.js';
import { isWildcardHost, remoteUrl } from '../network.js';
import { loadGateway } from '../peers.js';
import { watchSignals } from '../signals.js';

export interface GatewayFlags {
  port: number;
  host: string;
  databaseUrl?: string;
  logLevel: LogLevel;
  json?: boolean;
}

/** Adds the flags `lode gateway` and `lode up` share. */
export function withGatewayFlags(cmd: Command): Command {
  return cmd
    .option('--port <port>', 'TCP port for HTTP and node WebSockets (0 picks a free one)', parsePort, 7070)
    .option('--host <host>', 'interface to listen on (0.0.0.0 to accept other machines)', '127.0.0.1')
    .option('--database-url <url>', 'a PostgreSQL server (default: the embedded database in --data-dir)')
    .addOption(logLevelOption('gateway log level (logs go to stdout)'));
}

export function registerGateway(program: Command): void {
  const cmd = program.command('gateway').description('run a gateway: the HTTP API for requesters and the WebSocket endpoint for nodes');
  withGatewayFlags(cmd);
  withJson(cmd);
  withExamples(cmd, 'lode gateway --port 7070', 'lode gateway --host 0.0.0.0 --database-url postgres://lode@db/lode');
  cmd.action(async (opts: GatewayFlags) => {
    const { dataDir } = globalsOf(cmd);
    const shutdown = watchSignals();
    const { startGateway } = await loadGateway();
    const gw = await startGateway({ port: opts.port, host: opts.host, dataDir, databaseUrl: opts.databaseUrl, logLevel: opts.logLevel });
    // On every interface, gw.url says 127.0.0.1: other machines need this machine's address.
    const remote = { url: remoteUrl(gw.url, opts.host), wsUrl: remoteUrl(gw.wsUrl, opts.host) };
    const summary = {
      url: gw.url,
      wsUrl: gw.wsUrl,
      ...(remote.url && remote.wsUrl ? { remoteUrl: remote.url, remoteWsUrl: remote.wsUrl } : {}),
      port: gw.port,
      dataDir,
      database: opts.databaseUrl ? 'postgresql' : 'embedded',
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
