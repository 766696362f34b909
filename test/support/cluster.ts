/**
 * Starts a real Lode network for integration tests: a gateway process and provider-node
 * processes, each started through the `lode` CLI exactly as a user would, on real sockets.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const CLI = join(ROOT, 'packages/cli/bin/lode.js');

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

export interface Proc {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

/**
 * A `lode` process with its output kept. `nice`: run it at that CPU niceness (1–19, through
 * coreutils' `nice`), as if it were a machine of its own beside the test's other processes.
 */
export function lode(args: string[], opts: { env?: Record<string, string>; cwd?: string; nice?: number } = {}): Proc {
  const [command, argv] = opts.nice ? ['nice', ['-n', String(opts.nice), process.execPath, CLI, ...args]] : [process.execPath, [CLI, ...args]];
  const child = spawn(command as string, argv as string[], {
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, LODE_LOG_LEVEL: process.env.LODE_LOG_LEVEL ?? 'warn', ...opts.env }, // the --log-level of gateways and nodes
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  // 'exit' can come before the last of the child's piped output is read: wait for its pipes to end
  // too, but not past a second (a grandchild may hold them open).
  const pipesEnded = Promise.all([child.stdout!, child.stderr!].map((s) => new Promise((r) => s.once('end', r))));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code))).then(async (code) => {
    await Promise.race([pipesEnded, new Promise((r) => setTimeout(r, 1000).unref())]);
    return code;
  });
  return { child, output: () => out, exited };
}

/** Runs the CLI to completion. */
export async function lodeRun(args: string[], opts: { env?: Record<string, string>; cwd?: string } = {}) {
  const p = lode(args, opts);
  let stdout = '';
  let stderr = '';
  p.child.stdout!.on('data', (d) => (stdout += d));
  p.child.stderr!.on('data', (d) => (stderr += d));
  const code = await p.exited;
  return { code, stdout, stderr };
}

/** Throws if a process logged the CLI's unhandled-rejection guard line (packages/cli/src/guard.ts). */
export function assertNoUnhandledRejections(procs: Proc[]): void {
  for (const p of procs) {
    const line = p
      .output()
      .split('\n')
      .find((l) => l.includes('UNHANDLED_REJECTION'));
    if (line) throw new Error(`a process logged an unhandled promise rejection: ${line.slice(0, 2000)}`);
  }
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 30_000, everyMs = 50): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export interface ClusterOptions {
  nodes: number;
  /** Extra args for `lode gateway`. */
  gatewayArgs?: string[];
  /** Extra args for each `lode node`. */
  nodeArgs?: string[];
  databaseUrl?: string;
  /**
   * Run the gateway with its embedded ledger, and give every node gas, LODE and the minimum
   * stake before it starts (as `lode up` does). @default false — `--ledger off`: free jobs
   */
  ledger?: boolean;
}

export class Cluster {
  readonly dir = mkdtempSync(join(tmpdir(), 'lode-e2e-'));
  port = 0;
  gateway?: Proc;
  nodes: Proc[] = [];

  constructor(private readonly opts: ClusterOptions) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }
  get wsUrl(): string {
    return `ws://127.0.0.1:${this.port}/v1/nodes/ws`;
  }

  async start(): Promise<this> {
    this.port = await freePort();
    await this.startGateway();
    if (this.opts.ledger) for (let i = 0; i < this.opts.nodes; i++) await this.provision(join(this.dir, `node-${i}`), true);
    for (let i = 0; i < this.opts.nodes; i++) this.addNode();
    await this.waitForNodes(this.opts.nodes);
    return this;
  }

  async startGateway(): Promise<void> {
    const args = [
      'gateway',
      '--port',
      String(this.port),
      '--data-dir',
      join(this.dir, 'gateway'),
      ...(this.opts.ledger ? [] : ['--ledger', 'off']),
      ...(this.opts.gatewayArgs ?? []),
    ];
    if (this.opts.databaseUrl) args.push('--database-url', this.opts.databaseUrl);
    this.gateway = lode(args);
    const g = this.gateway;
    await waitFor('gateway /healthz', async () => {
      if (g.child.exitCode !== null) throw new Error(`gateway exited: ${g.output()}`);
      const r = await fetch(`${this.url}/healthz`);
      return r.ok;
    });
  }

  addNode(): Proc {
    const i = this.nodes.length;
    const p = lode(['node', '--gateway', this.wsUrl, '--data-dir', join(this.dir, `node-${i}`), ...(this.opts.nodeArgs ?? [])]);
    this.nodes.push(p);
    return p;
  }

  /**
   * Starts `lode node` on `dataDir` with `args`, and waits until `online` nodes are online (the
   * node's output is in the error when it does not come).
   */
  async startNode(dataDir: string, args: string[], online = 1): Promise<Proc> {
    const p = lode(['node', '--gateway', this.wsUrl, '--data-dir', dataDir, ...args]);
    this.nodes.push(p);
    await this.waitForNodes(online).catch((err: Error) => {
      throw new Error(`${err.message}; the node said:\n${p.output()}`);
    });
    return p;
  }

  /**
   * Starts a provider from sim/node.js — the real agent and sandbox whose answers lie as `mode`
   * says (always, p=0.3, collude, lazy, turn=N; see that file) — staked first when the cluster
   * has a ledger. Resolves to its process and address once it is connected.
   */
  async addSimNode(mode: string): Promise<{ proc: Proc; address: string }> {
    const dataDir = join(this.dir, `sim-node-${this.nodes.length}`);
    if (this.opts.ledger) await this.provision(dataDir, true);
    const child = spawn(process.execPath, [join(ROOT, 'sim/node.js'), '--gateway', this.wsUrl, '--data-dir', dataDir, '--mode', mode], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    const proc: Proc = { child, output: () => out, exited: new Promise((r) => child.once('exit', (code) => r(code))) };
    this.nodes.push(proc);
    const address = await waitFor(`sim node (${mode}) connected`, async () => {
      if (child.exitCode !== null) throw new Error(`sim node exited: ${out}`);
      return /"ready":"(0x[0-9a-fA-F]{40})"/.exec(out)?.[1]?.toLowerCase();
    });
    return { proc, address };
  }

  /**
   * Creates the account in `dataDir` (if needed), funds it from the gateway's faucet and, for a
   * node, stakes the minimum. Returns the account's address.
   */
  async provision(dataDir: string, asNode: boolean): Promise<`0x${string}`> {
    const { loadOrCreateAccount } = await import('@lode/keystore');
    const { createLedgerClient, ledgerAddressesSchema, stake } = await import('@lode/ledger/client');
    const { account } = await loadOrCreateAccount(dataDir, { create: true });
    const info = (await (await fetch(`${this.url}/v1/ledger`)).json()) as { chainId: number; contracts: object; params: { minStake: string } };
    const r = await fetch(`${this.url}/v1/ledger/faucet`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ address: account.address }),
    });
    if (r.status === 429) {
      // Every provisioned account is a faucet grant from 127.0.0.1, counted like any client's.
      throw new Error(
        `the faucet refused (${await r.text()}); a test that needs many accounts raises the limits: gatewayArgs ['--faucet-per-ip-day', 'N', '--faucet-per-day', 'N']`,
      );
    }
    if (!r.ok) throw new Error(`faucet answered ${r.status}: ${await r.text()}`);
    if (asNode) {
      const client = createLedgerClient({
        rpcUrl: `${this.url}/rpc`,
        addresses: ledgerAddressesSchema.parse({ ...info.contracts, chainId: info.chainId }),
        account,
      });
      await stake(client, { amount: BigInt(info.params.minStake) });
    }
    return account.address;
  }

  async onlineNodes(): Promise<number> {
    const r = await fetch(`${this.url}/v1/nodes`);
    const body = (await r.json()) as { nodes: Array<{ online: boolean }> };
    return body.nodes.filter((n) => n.online).length;
  }

  async waitForNodes(n: number, timeoutMs = 60_000): Promise<void> {
    await waitFor(`${n} nodes online`, async () => (await this.onlineNodes()) >= n, timeoutMs, 100);
  }

  /** Kills the gateway process (SIGKILL: no graceful shutdown) and waits for it to exit. */
  async killGateway(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const g = this.gateway!;
    g.child.kill(signal);
    await g.exited;
  }

  /**
   * Kills every process and removes the data. Fails (after cleaning up) if any process logged a
   * promise rejection nobody handled: the CLI's guard keeps such a process serving, so a test
   * would not notice otherwise.
   */
  async stop(): Promise<void> {
    const all = [...this.nodes, ...(this.gateway ? [this.gateway] : [])];
    for (const p of all) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    await Promise.all(all.map((p) => (p.child.exitCode === null ? p.exited : undefined)));
    rmSync(this.dir, { recursive: true, force: true });
    assertNoUnhandledRejections(all);
  }
}
