/**
 * What every verb needs from the global flags: the data directory, the gateway, and (when the
 * verb signs) the requester's account — plus the shared `--json` flag and help examples.
 */
import { createLodeClient, gatewayList, gatewayOrigin, type LodeClient } from '@lode/sdk';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { loadAccount, loadOrCreateAccount } from '@lode/keystore';
import { LIMITS, type Verification } from '@lode/protocol';

/** @default http://127.0.0.1:7070 (env LODE_GATEWAY) */
export const DEFAULT_GATEWAY = 'http://127.0.0.1:7070';
/** @default ./.lode (env LODE_DATA_DIR) */
export const DEFAULT_DATA_DIR = './.lode';
/** @default warn (env LODE_LOG_LEVEL) */
export const DEFAULT_LOG_LEVEL = 'warn';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface GlobalOptions {
  dataDir: string;
  gateway: string;
}

/** Adds the global flags to the root command. */
export function addGlobalOptions(program: Command): Command {
  return program
    .addOption(new Option('--data-dir <dir>', 'where keys, the database and node state live').env('LODE_DATA_DIR').default(DEFAULT_DATA_DIR))
    .addOption(
      new Option('--gateway <url>', 'the gateway to talk to, or several of one cluster, comma-separated (used in turn when one cannot be reached)')
        .env('LODE_GATEWAY')
        .default(DEFAULT_GATEWAY),
    );
}

export function globalsOf(cmd: Command): GlobalOptions {
  const { dataDir, gateway } = cmd.optsWithGlobals<GlobalOptions>();
  return { dataDir, gateway };
}

/**
 * A client for `--gateway`. `account: 'load'` needs an existing key, `'create'` makes one on
 * first use (the requester's key in `--data-dir`), `'none'` is for read-only verbs.
 */
export async function clientOf(cmd: Command, account: 'none' | 'load' | 'create' = 'none'): Promise<LodeClient> {
  const { dataDir, gateway } = globalsOf(cmd);
  const origin = parseGateway(gateway);
  const keystore = account === 'none' ? undefined : account === 'load' ? await loadAccount(dataDir) : await loadOrCreateAccount(dataDir, { create: true });
  return createLodeClient({ gateway: origin, account: keystore?.account });
}

/** One gateway, or several of one cluster, comma-separated: each as its origin. */
function parseGateway(urls: string): string[] {
  try {
    const list = gatewayList(urls).map(gatewayOrigin);
    if (list.length === 0) throw new TypeError('give a gateway URL, e.g. http://127.0.0.1:7070');
    return list;
  } catch (err) {
    throw new InvalidArgumentError(`--gateway: ${(err as Error).message}`);
  }
}

/** The `--json` flag every verb has. */
export function withJson(cmd: Command): Command {
  return cmd.option('--json', 'print machine-readable JSON on stdout');
}

/** Appends examples to a verb's --help. */
export function withExamples(cmd: Command, ...examples: string[]): Command {
  return cmd.addHelpText('after', `\nExample${examples.length > 1 ? 's' : ''}:\n${examples.map((e) => `  $ ${e}`).join('\n')}\n`);
}

/** A parser for positive integer flags (`--tasks 64`). */
export function positiveInt(name: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a positive integer, got "${value}".`);
    return n;
  };
}

/** `--log-level` of the long-running verbs (gateway, node, up); LODE_LOG_LEVEL sets its default. */
export function logLevelOption(description: string): Option {
  return new Option('--log-level <level>', description).choices(LOG_LEVELS).env('LODE_LOG_LEVEL').default(DEFAULT_LOG_LEVEL);
}

/** A parser for token amounts (`--price 5`): a whole number of the token's smallest unit, kept as a decimal string. */
export function amount(name: string): (value: string) => string {
  return (value) => {
    if (!/^(0|[1-9][0-9]{0,77})$/.test(value)) throw new InvalidArgumentError(`${name} must be a whole number of the token's smallest unit, got "${value}".`);
    return value;
  };
}

/** A parser for repeatable flags (`--input a --input b`). */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/**
 * A verification policy as the CLI writes it: `none`, `replicate:K` (or `replicate(K)`),
 * `target:RATE` (or `target(RATE)`), e.g. `replicate:3`, `target:1e-4`.
 */
export function verificationPolicy(value: string): Verification {
  const m = /^(none|replicate|target)(?:[:(]([^)]*)\)?)?$/.exec(value.trim());
  const bad = () =>
    new InvalidArgumentError(`--verify takes none, replicate:K (K = 1–${LIMITS.maxReplicationK}) or target:RATE (0 < RATE ≤ 0.5), got "${value}".`);
  if (!m) throw bad();
  const [, kind, arg] = m;
  if (kind === 'none') {
    if (arg !== undefined) throw bad();
    return { kind: 'none' };
  }
  const n = Number(arg);
  if (kind === 'replicate') {
    if (!Number.isInteger(n) || n < 1 || n > LIMITS.maxReplicationK) throw bad();
    return { kind: 'replicate', k: n };
  }
  if (!(n >= LIMITS.minTargetErrorRate && n <= 0.5)) throw bad();
  return { kind: 'target', errorRate: n };
}
