/**
 * Long because it is the page's whole provider state machine (start, pause rules, changing
 * cores, staking, the ledger view); the protocol itself is @lode/provider's.
 *
 * The contributor: everything the "Contribute this device" button starts, without React —
 * the account key (IndexedDB), the capabilities, the Web Worker sandbox, the blob cache, the
 * gateway connection and the agent, plus the pause rules (the person's pause button, a hidden
 * tab if asked, a low battery). The page renders `state` and calls the methods.
 *
 * Guarantees:
 * - `state` is an immutable snapshot, replaced (never mutated) on change, and published at
 *   most every `publishMs` — a fast stream of tiny tasks does not re-render the page per task.
 * - Paused means idle at once: the session is closed, queued leases are dropped and running
 *   tasks are stopped (the gateway requeues them for other nodes); resuming opens a new session.
 * - Changing the number of cores lets running tasks finish (up to `drainMs`), then reconnects
 *   with a new hello, because the slots a node offers are part of what it signs.
 */
import type { Hex } from 'viem';
import { LodeError } from '@lode/protocol';
import {
  createAgent,
  createBlobStore,
  createConnection,
  createLog,
  formatLine,
  nodeSocketUrl,
  systemClock,
  type Agent,
  type Clock,
  type ConnectionState,
  type GatewayConnection,
  type Logger,
  type LogLevel,
  type LogLine,
  type SocketFactory,
  type SocketLike,
  type TaskEvent,
  type TaskStart,
} from '@lode/provider';
import { detectBrowserCapabilities, type NavigatorLike } from './capabilities.js';
import { idbStore, loadKey, loadOrCreateKey, type KeyValueStore, type LoadedKey } from '@lode/keystore/browser';
import type { LedgerInfo, StakeStep } from './ledger.js';

/** The ledger code (viem's chain actions) loads only when a gateway has a ledger. */
const ledgerModule = () => import('./ledger.js');
import { createPowerMonitor, type BatteryLike, type DocumentLike, type PauseReason, type PowerMonitor, type PowerState } from './power.js';
import type { WorkerSandbox } from './sandbox.js';

export type ContributorStatus = 'idle' | 'starting' | 'connecting' | 'contributing' | 'paused' | 'needs-stake' | 'error';

/** What the ledger says about this account (all amounts in the token's smallest unit). */
export interface LedgerState {
  /** undefined until the gateway has said; false: it runs without a ledger (nothing is paid). */
  enabled: boolean | undefined;
  minStake?: string;
  faucet?: boolean;
  staked?: string;
  eligible?: boolean;
  earnings?: { net: string; claimed: string; tasks: number; claimable: string };
  /** A claim in progress. */
  claiming?: boolean;
  /** The gateway refused this node's hello for want of stake. */
  stakeRequired: boolean;
  /** Where a stake in progress is. */
  staking?: StakeStep;
  error?: string;
}

export type RunningTask = TaskStart;

export interface ContributorState {
  status: ContributorStatus;
  /** The account (checksummed), once a key exists. */
  address?: Hex;
  keyCreatedAt?: number;
  slots: number;
  maxSlots: number;
  /** Asked per task, in the token's smallest unit (a decimal string). */
  pricePerTask: string;
  connection: ConnectionState;
  sessionId?: string;
  /** Tasks finished by this page since it was opened. */
  tasksDone: number;
  /** Of those, tasks the sandbox stopped (trap, timeout, …). */
  tasksFailed: number;
  running: RunningTask[];
  last?: TaskEvent;
  /** Why it is paused now (empty when not). */
  pausedBy: PauseReason[];
  power: PowerState;
  ledger: LedgerState;
  benchmark?: number;
  error?: string;
  log: string[];
}

export interface ContributorOptions {
  /** The gateway's HTTP origin (the page's own origin on the contributor page). */
  gateway: string;
  /** Cores to give at first. */
  slots: number;
  /** Price asked per task at first (token's smallest unit). @default '0' */
  pricePerTask?: string;
  pauseWhenHidden: boolean;
  /** Creates the sandbox (a pool of `workers` Web Workers on the page). */
  createSandbox: (workers: number) => WorkerSandbox;
  keys?: KeyValueStore;
  socket?: SocketFactory;
  clock?: Clock;
  nav?: NavigatorLike;
  /** A fixed benchmark figure (tests); by default it is measured at start. */
  benchmark?: number;
  doc?: DocumentLike;
  getBattery?: () => Promise<BatteryLike>;
  /** @default 'info' */
  logLevel?: LogLevel;
  /** Log lines kept for display. @default 40 */
  keepLog?: number;
  /** @default 100 */
  publishMs?: number;
  /** How long a change of cores waits for running tasks. @default 15_000 */
  drainMs?: number;
  /** @default 8 */
  maxBatch?: number;
  /** How often earnings and stake are read again while contributing. @default 10_000 */
  ledgerRefreshMs?: number;
}

interface Session {
  key: LoadedKey;
  sandbox: WorkerSandbox;
  connection: GatewayConnection;
  agent: Agent;
}

export class Contributor {
  #state: ContributorState;
  readonly #listeners = new Set<() => void>();
  readonly #options: ContributorOptions;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #power: PowerMonitor;
  readonly #running = new Map<string, RunningTask>();
  #done = 0;
  #failed = 0;
  #lines: string[] = [];
  #session: Session | undefined;
  #userPaused = false;
  #publishTimer: ReturnType<typeof setTimeout> | undefined;
  #dirty: Partial<ContributorState> = {};
  #reconfiguring: Promise<void> | undefined;
  #ledgerInfo: LedgerInfo | undefined;
  #ledgerTimer: ReturnType<typeof setInterval> | undefined;

  constructor(options: ContributorOptions) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    const keep = options.keepLog ?? 40;
    this.#log = createLog({
      level: options.logLevel ?? 'info',
      sink: (line: LogLine) => {
        this.#lines = [...this.#lines.slice(-(keep - 1)), `${new Date(line.at).toLocaleTimeString()}  ${formatLine(line)}`];
        this.#update({ log: this.#lines });
      },
    });
    this.#power = createPowerMonitor({ pauseWhenHidden: options.pauseWhenHidden, doc: options.doc, getBattery: options.getBattery });
    const maxSlots = Math.max(1, Math.floor(options.nav?.hardwareConcurrency ?? globalThis.navigator?.hardwareConcurrency ?? 1));
    this.#state = {
      status: 'idle',
      slots: clamp(options.slots, 1, maxSlots),
      pricePerTask: options.pricePerTask ?? '0',
      maxSlots,
      connection: 'stopped',
      tasksDone: 0,
      tasksFailed: 0,
      running: [],
      pausedBy: [],
      power: this.#power.state,
      ledger: { enabled: undefined, stakeRequired: false },
      log: [],
    };
    this.#power.on('change', (power) => {
      this.#update({ power }, true);
      this.#apply();
    });
  }

  /** The current snapshot (stable between changes, for React's useSyncExternalStore). */
  get state(): ContributorState {
    return this.#state;
  }

  subscribe = (listener: () => void): (() => void) => {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  };

  getState = (): ContributorState => this.#state;

  /** Shows the address of an existing key (without creating one) and what the ledger says of it. */
  async init(): Promise<void> {
    const key = await loadKey(this.#options.keys ?? idbStore).catch(() => undefined);
    if (key) this.#update({ address: key.account.address, keyCreatedAt: key.createdAt }, true);
    await this.refreshLedger();
  }

  /** The stored key (created if needed), e.g. to export it. */
  async key(): Promise<LoadedKey> {
    const key = await loadOrCreateKey(this.#options.keys ?? idbStore);
    this.#update({ address: key.account.address, keyCreatedAt: key.createdAt }, true);
    return key;
  }

  /** Starts contributing: key, capabilities, workers, connection. */
  async start(): Promise<void> {
    if (this.#session || this.#state.status === 'starting') return;
    this.#update({ status: 'starting', error: undefined }, true);
    try {
      const key = await this.key();
      this.#log.info('account ready', { address: key.account.address, created: key.created });
      const capabilities = await detectBrowserCapabilities({
        slots: this.#state.slots,
        pricePerTask: this.#state.pricePerTask,
        nav: this.#options.nav,
        benchmark: this.#options.benchmark,
      });
      this.#log.info('capabilities', {
        cores: capabilities.cores,
        slots: capabilities.slots,
        memoryMiB: capabilities.memoryMiB,
        benchmark: capabilities.benchmark,
      });
      const sandbox = this.#options.createSandbox(capabilities.slots);
      const blobs = createBlobStore({ gateway: this.#options.gateway, log: this.#log, maxMemoryBytes: 128 * 1024 * 1024 });
      const connection = createConnection({
        url: nodeSocketUrl(this.#options.gateway),
        account: key.account,
        capabilities,
        log: this.#log,
        clock: this.#clock,
        socket: this.#options.socket ?? browserSocket,
        backoff: { initialMs: 500, maxMs: 30_000 },
      });
      const agent = createAgent({ connection, sandbox, blobs, log: this.#log, clock: this.#clock, maxBatch: this.#options.maxBatch ?? 8 });
      this.#wire(connection, agent);
      agent.start();
      this.#session = { key, sandbox, connection, agent };
      this.#update({ benchmark: capabilities.benchmark }, true);
      this.#apply();
      void this.refreshLedger();
      this.#ledgerTimer = setInterval(() => void this.refreshLedger(), this.#options.ledgerRefreshMs ?? 10_000);
    } catch (err) {
      this.#log.error('could not start', { err: String(err) });
      this.#update({ status: 'error', error: err instanceof Error ? err.message : String(err) }, true);
    }
  }

  /** Stops contributing at once; running tasks go back to the gateway's queue. */
  async stop(): Promise<void> {
    const s = this.#session;
    this.#session = undefined;
    this.#userPaused = false;
    clearInterval(this.#ledgerTimer);
    this.#ledgerTimer = undefined;
    if (s) {
      s.agent.stop();
      void s.connection.stop();
      await s.sandbox.close();
      this.#log.info('stopped contributing');
    }
    this.#running.clear();
    this.#update({ status: 'idle', running: [], sessionId: undefined, pausedBy: [] }, true);
  }

  /** The person's own pause (the pause button). */
  setPaused(paused: boolean): void {
    this.#userPaused = paused;
    this.#apply();
  }

  setPauseWhenHidden(on: boolean): void {
    this.#power.setPauseWhenHidden(on);
  }

  /** Changes the cores given; a running session reconnects once its tasks are done. */
  async setSlots(slots: number): Promise<void> {
    const next = clamp(slots, 1, this.#state.maxSlots);
    if (next === this.#state.slots) return;
    this.#update({ slots: next }, true);
    await this.#reconfigure(`${next} cores`);
  }

  /** Changes the price asked per task (token's smallest unit, a decimal string); reconnects like `setSlots`. */
  async setPrice(pricePerTask: string): Promise<void> {
    if (!/^(0|[1-9][0-9]{0,77})$/.test(pricePerTask)) throw new RangeError(`not a price: ${pricePerTask}`);
    if (pricePerTask === this.#state.pricePerTask) return;
    this.#update({ pricePerTask }, true);
    await this.#reconfigure(`price ${pricePerTask} per task`);
  }

  /**
   * Announces the current slots and price: they are signed in the hello, so a live session
   * finishes its running tasks (up to `drainMs`; the rest go back to the gateway), closes, and a
   * new one starts. Changes made meanwhile are applied in order; the last one wins.
   */
  async #reconfigure(what: string): Promise<void> {
    const s = this.#session;
    if (!s) return;
    const previous = this.#reconfiguring ?? Promise.resolve();
    const run = previous.then(async () => {
      const { slots, pricePerTask } = this.#state;
      const caps = s.connection.capabilities;
      if (this.#session !== s || (caps.slots === slots && caps.pricePerTask === pricePerTask)) return;
      if (s.connection.state !== 'stopped') {
        this.#log.info('announcing a change: finishing running tasks, then reconnecting', { change: what });
        const drainMs = this.#options.drainMs ?? 15_000;
        await Promise.race([s.agent.drain(drainMs), new Promise((r) => setTimeout(r, drainMs))]);
        s.agent.release();
        void s.connection.stop();
      }
      s.sandbox.resize(slots);
      s.connection.setCapabilities({ ...caps, slots, pricePerTask });
      s.agent.resume();
      this.#apply();
    });
    this.#reconfiguring = run.finally(() => {
      if (this.#reconfiguring === run) this.#reconfiguring = undefined;
    });
    await run;
  }

  /**
   * Reads whether the gateway settles payments and, if it does, this account's stake and
   * earnings. Never throws: a failure is shown in `ledger.error`.
   */
  async refreshLedger(): Promise<void> {
    const address = this.#state.address;
    try {
      const res = await fetch(`${this.#options.gateway}/v1/stats`, { headers: { accept: 'application/json' } });
      const stats = (await res.json()) as { ledger?: { enabled: boolean } };
      const enabled = stats.ledger?.enabled ?? false;
      if (!enabled) return this.#patchLedger({ enabled: false, error: undefined });
      const { earnings, ledgerInfo, stakeStatus } = await ledgerModule();
      this.#ledgerInfo ??= await ledgerInfo(this.#options.gateway);
      const info = this.#ledgerInfo;
      const patch: Partial<LedgerState> = { enabled: true, minStake: info.params.minStake, faucet: info.faucet, error: undefined };
      if (address) {
        const [stake, paid] = await Promise.all([stakeStatus(info, address), earnings(this.#options.gateway, address)]);
        patch.staked = stake.staked.toString();
        patch.eligible = stake.eligible;
        patch.earnings = { net: paid.net, claimed: paid.claimed, tasks: paid.tasks, claimable: paid.claimable };
      }
      this.#patchLedger(patch);
    } catch (err) {
      this.#patchLedger({ error: `Could not read the ledger: ${err instanceof Error ? err.message : String(err)}` });
    }
  }

  /**
   * Stakes the gateway's minimum from this browser's key (test funds from the faucet when the
   * account has none and the gateway has one), then reconnects.
   */
  async stake(): Promise<void> {
    const s = this.#session;
    if (!s || this.#state.ledger.staking) return;
    try {
      const { ledgerInfo, stakeMinimum } = await ledgerModule();
      this.#ledgerInfo ??= await ledgerInfo(this.#options.gateway);
      this.#patchLedger({ staking: 'approve', error: undefined });
      await stakeMinimum(this.#options.gateway, this.#ledgerInfo, s.key.account, (step) => {
        this.#log.info('staking', { step });
        this.#patchLedger({ staking: step });
      });
      this.#patchLedger({ staking: undefined, stakeRequired: false });
      await this.refreshLedger();
      if (this.#session === s) {
        void s.connection.stop();
        this.#apply();
      }
    } catch (err) {
      this.#log.warn('staking failed', { err: err instanceof Error ? err.message : String(err) });
      this.#patchLedger({ staking: undefined, error: err instanceof Error ? err.message : String(err) });
    }
  }

  /** Claims the account's settled payouts that are past their challenge window (one transaction). */
  async claim(): Promise<void> {
    const address = this.#state.address;
    if (!address || this.#state.ledger.claiming) return;
    this.#patchLedger({ claiming: true, error: undefined });
    let error: string | undefined;
    try {
      const { claimEarnings, ledgerInfo } = await ledgerModule();
      this.#ledgerInfo ??= await ledgerInfo(this.#options.gateway);
      const key = await this.key();
      const amount = await claimEarnings(this.#options.gateway, this.#ledgerInfo, key.account);
      this.#log.info('claimed earnings', { amount: amount.toString() });
    } catch (err) {
      error = `Could not claim: ${err instanceof Error ? err.message : String(err)}`;
    }
    await this.refreshLedger();
    this.#patchLedger({ claiming: false, ...(error ? { error } : {}) });
  }

  #patchLedger(patch: Partial<LedgerState>): void {
    this.#update({ ledger: { ...this.#state.ledger, ...this.#dirty.ledger, ...patch } }, true);
  }

  /** Releases the page's listeners (the page is going away). */
  async dispose(): Promise<void> {
    await this.stop();
    this.#power.stop();
  }

  #pauseReasons(): PauseReason[] {
    return [...(this.#userPaused ? (['you'] as const) : []), ...this.#power.state.reasons];
  }

  /** Opens or closes the session to match the pause reasons. */
  #apply(): void {
    const s = this.#session;
    const pausedBy = this.#pauseReasons();
    if (!s) {
      this.#update({ pausedBy }, true);
      return;
    }
    if (pausedBy.length > 0) {
      if (s.connection.state !== 'stopped') {
        this.#log.info('pausing', { why: pausedBy.join(', ') });
        s.agent.release();
        void s.connection.stop();
      }
      this.#running.clear();
      this.#update({ status: 'paused', pausedBy, running: [], sessionId: undefined }, true);
      return;
    }
    if (this.#state.ledger.stakeRequired) {
      // Reconnecting would be refused again: wait for `stake()`.
      this.#update({ status: 'needs-stake', pausedBy }, true);
      return;
    }
    if (s.connection.state === 'stopped') {
      s.agent.resume();
      s.connection.start();
    }
    this.#update({ status: s.connection.established ? 'contributing' : 'connecting', pausedBy }, true);
  }

  #wire(connection: GatewayConnection, agent: Agent): void {
    connection.on('state', (state) => {
      const paused = this.#pauseReasons().length > 0;
      const status: ContributorStatus = paused
        ? 'paused'
        : state === 'established'
          ? 'contributing'
          : state === 'stopped' || this.#state.ledger.stakeRequired
            ? this.#state.status
            : 'connecting';
      this.#update({ connection: state, status, sessionId: connection.sessionId }, true);
    });
    connection.on('error', (err) => {
      if (err instanceof LodeError && err.meta?.code === 'STAKE_REQUIRED') {
        // Every reconnect would be refused the same way until the account stakes.
        this.#log.info('this gateway asks each node for a minimum stake', { minStake: this.#state.ledger.minStake });
        this.#patchLedger({ stakeRequired: true });
        void connection.stop();
        this.#update({ status: 'needs-stake', error: undefined }, true);
        void this.refreshLedger();
        return;
      }
      this.#update({ error: err.message }, true);
    });
    connection.on('welcome', () => {
      this.#update({ error: undefined }, true);
      if (this.#state.ledger.stakeRequired) this.#patchLedger({ stakeRequired: false });
    });
    agent.on('start', (tasks) => {
      for (const t of tasks) this.#running.set(t.leaseId, t);
      this.#update({ running: [...this.#running.values()] });
    });
    agent.on('task', (t) => {
      this.#running.delete(t.leaseId);
      this.#done++;
      if (t.status === 'failed') this.#failed++;
      this.#update({ running: [...this.#running.values()], tasksDone: this.#done, tasksFailed: this.#failed, last: t });
    });
    agent.on('dropped', (ids) => {
      for (const id of ids) this.#running.delete(id);
      this.#update({ running: [...this.#running.values()] });
    });
  }

  /** Records a change; publishes it now (`immediate`) or within `publishMs`. */
  #update(patch: Partial<ContributorState>, immediate = false): void {
    this.#dirty = { ...this.#dirty, ...patch };
    if (immediate) return this.#publish();
    if (this.#publishTimer === undefined) this.#publishTimer = setTimeout(() => this.#publish(), this.#options.publishMs ?? 100);
  }

  #publish(): void {
    if (this.#publishTimer !== undefined) clearTimeout(this.#publishTimer);
    this.#publishTimer = undefined;
    this.#state = { ...this.#state, ...this.#dirty };
    this.#dirty = {};
    for (const l of [...this.#listeners]) l();
  }
}

function clamp(n: number, lo: number, hi: number): number {
  return Math.max(lo, Math.min(hi, Math.floor(Number.isFinite(n) ? n : lo)));
}

/** The page's own WebSocket. */
const browserSocket: SocketFactory = (url) => new WebSocket(url) as unknown as SocketLike;
