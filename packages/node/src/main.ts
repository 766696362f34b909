/**
 * `startNode`: wires the platform's parts (keystore, capabilities, disk blob cache, Worker-thread
 * sandbox, `ws` socket, pino) into @lode/provider's connection and agent: one running node.
 */
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import type { LocalAccount } from 'viem';
import type { Capabilities } from '@lode/protocol';
import { createAgent, createBlobStore, createConnection, Emitter, systemClock, type BackoffOptions, type Clock, type TaskEvent } from '@lode/provider';
import { blobFiles } from './blobFiles.js';
import { createClaimer, type ClaimerEvents } from './claimer.js';
import { detectCapabilities } from './capabilities.js';
import { NODE_DEFAULTS } from './config.js';
import { gatewayPins } from './gatewayPins.js';
import { loadOrCreateAccount } from '@lode/keystore';
import { pinoLog } from './log.js';
import { collectGarbageSoon } from './memory.js';
import type { Sandbox } from './sandboxTypes.js';
import { wsSocketFactory } from './socket.js';
import { gatewayUrls } from './urls.js';
import { gatewayList } from '@lode/sdk';

export interface NodeOptions {
  /**
   * The gateway: `http://host:port`, `ws://host:port` or the full `ws://host:port/v1/nodes/ws` —
   * or several gateways of one cluster, comma-separated: the node connects to one at random and
   * moves to another, at random, when it goes away.
   */
  gateway: string;
  /** Holds `keystore.json` and the blob cache (`blobs/`). */
  dataDir: string;
  /** Tasks (task groups) run at once. @default sandbox.concurrency */
  slots?: number;
  /** Price per task, decimal string in the token's smallest unit. @default '0' */
  pricePerTask?: string;
  /** Price per unit of fuel a task uses, decimal string in the token's smallest unit. @default '0' */
  pricePerFuel?: string;
  /** The node's account. @default the keystore in `dataDir`, created if absent */
  account?: LocalAccount;
  /** Warm the sandbox workers up before connecting (only a sandbox the node creates itself). @default true */
  warmUp?: boolean;
  /** The sandbox to run tasks in; the caller keeps ownership. @default createNodeSandbox({ workers: slots }), closed by stop() */
  sandbox?: Sandbox;
  /** @default pino at info level */
  log?: Logger;
  clock?: Clock;
  /** A benchmark figure to report instead of measuring (`false` reports 0). */
  benchmark?: number | false;
  backoff?: BackoffOptions;
  /** @default NODE_DEFAULTS.blobCacheBytes */
  blobCacheBytes?: number;
  /** @default NODE_DEFAULTS.drainTimeoutMs */
  drainTimeoutMs?: number;
  /** @default NODE_DEFAULTS.handshakeTimeoutMs */
  handshakeTimeoutMs?: number;
  /** @default NODE_DEFAULTS.keepaliveMs */
  keepaliveMs?: number;
  /** @default NODE_DEFAULTS.maxBatch */
  maxBatch?: number;
  /** Claim settled payouts automatically (when the gateway has a ledger). @default true */
  autoClaim?: boolean;
  /** @default NODE_DEFAULTS.claimIntervalMs */
  claimIntervalMs?: number;
  /** Stake claimed earnings instead of receiving them. @default false */
  restake?: boolean;
  /**
   * The gateway's account, when known (`--gateway-address`): the node signs hellos only for it.
   * @default the account it named at the first welcome, kept in `<dataDir>/gateways.json`
   */
  gatewayAddress?: string;
}

export interface NodeEvents extends Record<string, unknown> {
  /** A gateway session was established. */
  connected: { sessionId: string; gateway: string };
  /** The session closed; `retryInMs` is when the next attempt starts (null once stopping). */
  disconnected: { code: number; reason: string; retryInMs: number | null };
  /** A task finished (ok or failed). */
  task: TaskEvent;
  /** A problem the node recovered from (refused hello, bad frame, gateway error, a failed claim). */
  error: Error;
  /** Payouts claimed from settlement batches. */
  claimed: ClaimerEvents['claimed'];
}

export interface NodeHandle {
  /** The node's account address (checksummed). */
  readonly address: string;
  /** What the node announced in its hello. */
  readonly capabilities: Capabilities;
  /** True while a gateway session is established. */
  readonly connected: boolean;
  /**
   * Graceful exit: tells the gateway, finishes every held lease, sends the results, waits
   * (up to `drainTimeoutMs`) for their acks, then closes. Safe to call more than once.
   */
  drain(): Promise<void>;
  /** Immediate exit: closes the session; running tasks' results are discarded. */
  stop(): Promise<void>;
  on<K extends keyof NodeEvents>(event: K, fn: (payload: NodeEvents[K]) => void): () => void;
  off<K extends keyof NodeEvents>(event: K, fn: (payload: NodeEvents[K]) => void): void;
}

/**
 * Starts a provider node and resolves once it is connecting (it does not wait for the
 * gateway: an unreachable gateway is retried with backoff until `stop()`/`drain()`).
 * Throws `KeystoreInvalidError` for a bad keystore and a ZodError for invalid options.
 */
/** How long after its last task a node collects its garbage once. */
const IDLE_COLLECT_MS = 60_000;

export async function startNode(options: NodeOptions): Promise<NodeHandle> {
  const log = options.log ?? pino({ name: 'lode-node' });
  const clock = options.clock ?? systemClock;
  // One gateway, or several of one cluster (a comma-separated list): the connection moves between them.
  const all = gatewayList(options.gateway).map(gatewayUrls);
  if (all.length === 0) throw new TypeError('startNode needs a gateway URL');
  const urls = all[0]!;
  const httpOf = new Map(all.map((u) => [u.ws, u.http]));

  let account = options.account;
  if (!account) {
    const loaded = await loadOrCreateAccount(options.dataDir, { create: true, log });
    if (loaded.created) log.warn({ address: loaded.address, path: loaded.path }, 'created a new node account; back up its keystore');
    account = loaded.account;
  }

  const ownsSandbox = !options.sandbox;
  const sandbox = options.sandbox ?? (await defaultSandbox(options.slots));
  try {
    if (ownsSandbox && options.warmUp !== false) {
      // A few thousand tiny tasks per worker before the first lease: a fresh node then runs its
      // first job at full speed instead of while its threads are still compiling the sandbox.
      const { warmUp } = await import('@lode/sandbox');
      log.info({ ms: Math.round(await warmUp(sandbox)) }, 'sandbox workers warmed up');
      collectGarbageSoon(); // the warm-up's results: garbage an idle node would keep for minutes
    }
    const slots = options.slots ?? sandbox.concurrency;
    const capabilities = await detectCapabilities({
      slots,
      pricePerTask: options.pricePerTask ?? NODE_DEFAULTS.pricePerTask,
      pricePerFuel: options.pricePerFuel ?? '0',
      ...(options.benchmark !== undefined ? { benchmark: options.benchmark } : {}),
    });
    log.info({ address: account.address, gateways: all.map((u) => u.ws), capabilities }, 'starting node');

    const providerLog = pinoLog(log);
    const handshakeTimeoutMs = options.handshakeTimeoutMs ?? NODE_DEFAULTS.handshakeTimeoutMs;
    // Blobs and claims go to the gateway the node is connected to now.
    const current = () => httpOf.get(connection.url) ?? urls.http;
    const blobs = createBlobStore({
      gateway: current,
      cache: blobFiles(join(options.dataDir, 'blobs')),
      maxMemoryBytes: options.blobCacheBytes ?? NODE_DEFAULTS.blobCacheBytes,
      log: providerLog,
    });
    const connection = createConnection({
      url: urls.ws,
      urls: all.map((u) => u.ws),
      account,
      capabilities,
      log: providerLog,
      socket: wsSocketFactory({ handshakeTimeoutMs }),
      clock,
      backoff: options.backoff ?? NODE_DEFAULTS.backoff,
      handshakeTimeoutMs,
      keepaliveMs: options.keepaliveMs ?? NODE_DEFAULTS.keepaliveMs,
      pins: gatewayPins(options.dataDir, options.gatewayAddress),
    });
    const agent = createAgent({
      connection,
      sandbox,
      blobs,
      slots,
      log: providerLog,
      clock,
      maxBatch: options.maxBatch ?? NODE_DEFAULTS.maxBatch,
    });

    const events = new Emitter<NodeEvents>();
    connection.on('welcome', (w) => events.emit('connected', { sessionId: w.sessionId, gateway: connection.url }));
    connection.on('disconnected', (d) => events.emit('disconnected', { code: d.code, reason: d.reason, retryInMs: d.retryInMs }));
    connection.on('error', (e) => events.emit('error', e));
    agent.on('task', (t) => events.emit('task', t));
    agent.on('error', (e) => events.emit('error', e));
    // Memory back when the work stops: a minute after the last task ended (when the sandbox also
    // ends its workers), one full collection; an idle process would keep what the work left for
    // minutes (docs/benchmarks.md, footprint).
    let lastTaskAt = clock.now();
    let collected = true; // the warm-up's garbage was collected above
    agent.on('task', () => {
      lastTaskAt = clock.now();
      collected = false;
    });
    const idleCollector = setInterval(() => {
      if (collected || clock.now() - lastTaskAt < IDLE_COLLECT_MS) return;
      collected = true;
      collectGarbageSoon();
    }, 5_000);
    idleCollector.unref();

    const claimer =
      options.autoClaim === false
        ? undefined
        : createClaimer({
            gatewayHttp: current,
            account,
            log,
            clock,
            intervalMs: options.claimIntervalMs ?? NODE_DEFAULTS.claimIntervalMs,
            restake: options.restake,
          });
    claimer?.on('claimed', (c) => events.emit('claimed', c));
    claimer?.on('error', (e) => events.emit('error', e));

    agent.start();
    connection.start();
    claimer?.start();

    let closing: Promise<void> | undefined;
    const close = async (): Promise<void> => {
      clearInterval(idleCollector);
      await claimer?.stop();
      agent.stop();
      await connection.stop();
      if (ownsSandbox) await sandbox.close();
      log.info('node stopped');
    };

    return {
      address: account.address,
      capabilities,
      get connected() {
        return connection.established;
      },
      drain() {
        closing ??= agent.drain(options.drainTimeoutMs ?? NODE_DEFAULTS.drainTimeoutMs).then(close);
        return closing;
      },
      stop() {
        closing ??= close();
        return closing;
      },
      on: (event, fn) => events.on(event, fn),
      off: (event, fn) => events.off(event, fn),
    };
  } catch (err) {
    if (ownsSandbox) await sandbox.close().catch(() => {});
    throw err;
  }
}

async function defaultSandbox(slots: number | undefined): Promise<Sandbox> {
  // Imported lazily: a caller that injects a sandbox never loads the worker pool.
  const { createNodeSandbox } = await import('@lode/sandbox');
  return createNodeSandbox(slots !== undefined ? { workers: slots } : {});
}
