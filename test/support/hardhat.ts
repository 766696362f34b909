/**
 * An EVM chain that is not Lode's code, for integration tests: Hardhat Network (`hardhat node`
 * from the `hardhat` 2.x package, a devDependency; Hardhat 3 needs Node 22) started as its own
 * process on a real port. Lode talks to it over JSON-RPC like any chain (`--rpc-url`).
 *
 * Why Hardhat Network: it is maintained (Nomic Foundation; its EVM is EDR, in Rust, shipped as
 * npm packages — nothing is downloaded at run time), installs and runs on Node 20, mines each
 * transaction at once (automine), and answers the standard eth_* methods plus
 * `hardhat_setBalance`, which funds test accounts without a faucet. Ganache is archived;
 * Anvil comes only as a downloaded binary.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { freePort, type Proc, ROOT, waitFor } from './cluster.js';

const HARDHAT_CLI = createRequire(import.meta.url).resolve('hardhat/internal/cli/bootstrap.js');
/** Inside the project (Hardhat refuses to run from anywhere else); it writes only under the test's `dir`. */
const CONFIG = join(ROOT, 'test/support/hardhat.config.cjs');
/** The most of the node's log kept for a failure message. */
const LOG_TAIL = 64 * 1024;

export interface ExternalChain {
  url: string;
  chainId: number;
  proc: Proc;
  /** Sets an account's ETH balance (gas money), as a test chain allows. */
  fund(address: string, wei: bigint): Promise<void>;
  /** Stops the node (its process only) and waits for it to exit. */
  stop(): Promise<void>;
}

async function rpc<T>(url: string, method: string, params: unknown[]): Promise<T> {
  const r = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  const body = (await r.json()) as { result?: T; error?: { message: string } };
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return body.result as T;
}

/** Starts `hardhat node` on a free port of 127.0.0.1, its files in `dir`; resolves once it answers. */
export async function startHardhat(dir: string, chainId = 31337): Promise<ExternalChain> {
  const port = await freePort();
  const child = spawn(process.execPath, [HARDHAT_CLI, '--config', CONFIG, 'node', '--hostname', '127.0.0.1', '--port', String(port)], {
    cwd: ROOT,
    env: { ...process.env, HARDHAT_DISABLE_TELEMETRY_PROMPT: 'true', LODE_HARDHAT_DIR: dir, LODE_HARDHAT_CHAIN_ID: String(chainId) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // It logs every JSON-RPC call: keep the tail only.
  let out = '';
  const keep = (d: Buffer) => {
    out = (out + d.toString()).slice(-LOG_TAIL);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const proc: Proc = { child, output: () => out, exited: new Promise((r) => child.once('exit', (code) => r(code))) };
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    'hardhat node answering',
    async () => {
      if (child.exitCode !== null) throw new Error(`hardhat node exited: ${out}`);
      return (await rpc<string>(url, 'eth_chainId', []).catch(() => undefined)) !== undefined;
    },
    60_000,
    200,
  );
  return {
    url,
    chainId,
    proc,
    fund: (address, wei) => rpc(url, 'hardhat_setBalance', [address, `0x${wei.toString(16)}`]).then(() => undefined),
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await proc.exited;
    },
  };
}
