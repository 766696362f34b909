/**
 * The real `lode` executable, spawned as a user would: help for every verb, the account
 * commands in a temporary data directory, and usage errors. Needs `packages/cli/dist` (built by
 * `npm run build`, or `npx tsc -b packages/cli`).
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../bin/lode.js', import.meta.url));
const DIST = fileURLToPath(new URL('../dist/main.js', import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function lode(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { env: { ...process.env, LODE_GATEWAY: '', LODE_DATA_DIR: '', ...env }, timeout: 20_000 },
      (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

/** Runs the bin with its stdout closed by the reader before anything is written (`lode … | head -c 0`). */
function lodeIntoClosedPipe(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, LODE_GATEWAY: '', LODE_DATA_DIR: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

const VERBS = [
  ['up'],
  ['gateway'],
  ['node'],
  ['run'],
  ['nodes'],
  ['job'],
  ['job', 'ls'],
  ['job', 'show'],
  ['job', 'cancel'],
  ['job', 'results'],
  ['account'],
  ['account', 'new'],
  ['account', 'show'],
  ['device'],
  ['device', 'register'],
  ['device', 'ls'],
  ['device', 'show'],
  ['device', 'transfer'],
  ['device', 'split'],
  ['device', 'unsplit'],
  ['device', 'claim'],
];

let dataDir: string;
beforeAll(async () => {
  if (!existsSync(DIST)) throw new Error(`${DIST} is missing: build the CLI first (npx tsc -b packages/cli).`);
  dataDir = await mkdtemp(join(tmpdir(), 'lode-cli-'));
});
afterAll(() => rm(dataDir, { recursive: true, force: true }));

// Each spawn loads viem (~0.5 s here), so the independent checks run concurrently.
describe.concurrent('lode --help', () => {
  it.each(VERBS)('explains `lode %s` with an example and exits 0', async (...verb) => {
    const { code, stdout } = await lode([...verb, '--help']);
    expect(code).toBe(0);
    expect(stdout).toContain(`Usage: lode ${verb.join(' ')}`);
    expect(stdout).toMatch(/Examples?:\n\s+\$ lode /);
    const isGroup = ['job', 'account', 'device'].includes(verb[0]!) && verb.length === 1;
    if (!isGroup) expect(stdout).toContain('--json');
  });
});

describe('lode account', () => {
  it('creates an account with a private keystore and shows it, never the key', async () => {
    const created = await lode(['--data-dir', dataDir, 'account', 'new', '--json']);
    expect(created.code).toBe(0);
    const account = JSON.parse(created.stdout) as { address: string; did: string; keystore: string };
    expect(account.address).toMatch(/^0x[0-9a-fA-F]{40}$/);
    expect(account.did).toBe(`did:pkh:eip155:1:${account.address}`);
    expect((await stat(account.keystore)).mode & 0o777).toBe(0o600);
    const key = JSON.parse(await readFile(account.keystore, 'utf8')).privateKey as string;

    const shown = await lode(['--data-dir', dataDir, 'account', 'show', '--json']);
    expect(shown.code).toBe(0);
    expect(JSON.parse(shown.stdout)).toEqual(account);
    const human = await lode(['account', 'show'], { LODE_DATA_DIR: dataDir });
    expect(human.stdout).toContain(account.address);
    for (const out of [created, shown, human]) expect(out.stdout + out.stderr).not.toContain(key.slice(2));
  });

  it('refuses to replace an account without --force', async () => {
    const again = await lode(['--data-dir', dataDir, 'account', 'new']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^error \[ACCOUNT_EXISTS\]: .*--force/);
    const forced = await lode(['--data-dir', dataDir, 'account', 'new', '--force', '--json']);
    expect(forced.code).toBe(0);
  });

  it('says how to create an account when there is none', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'lode-cli-empty-'));
    const { code, stderr, stdout } = await lode(['--data-dir', empty, 'account', 'show', '--json']);
    expect(code).toBe(1);
    expect(stderr).toMatch(/^error \[NO_ACCOUNT\]: .*lode account new/);
    expect(JSON.parse(stdout).error.code).toBe('NO_ACCOUNT');
    await rm(empty, { recursive: true });
  });
});

describe.concurrent('usage errors', () => {
  it.each([
    [['run', '--bogus', 'x']],
    [['job', 'show']],
    [['run', 'pi', '--tasks', 'zero']],
    [['up', '--port', '99999']],
    [['job', 'ls', '--status', 'sleeping']],
    [['frobnicate']],
    [['run', 'no-such-workload-or-file']],
    [['run', './x.wasm', '--env', 'NOEQUALS']],
  ])('exits 2 with one error line for `lode %s`', async (args) => {
    const { code, stderr } = await lode(args);
    expect(code).toBe(2);
    expect(stderr).toMatch(/^error \[USAGE\]: /);
    expect(stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('shows help and exits 2 for `lode` alone', async () => {
    const { code, stderr } = await lode([]);
    expect(code).toBe(2);
    expect(stderr).toContain('Usage: lode');
  });

  it('points at the --help of the verb even after a global flag with a value', async () => {
    const { code, stderr } = await lode(['--gateway', 'http://127.0.0.1:9', 'job', 'ls', '--bogus']);
    expect(code).toBe(2);
    expect(stderr).toBe("error [USAGE]: unknown option '--bogus'\n  See `lode job ls --help`.\n");
    const equals = await lode(['--data-dir=/tmp', 'job', 'show', '--bogus']);
    expect(equals.stderr).toContain('See `lode job show --help`.');
  });

  it('explains an unreachable gateway and exits 1', async () => {
    const { code, stderr } = await lode(['--gateway', 'http://127.0.0.1:9', 'nodes']);
    expect(code).toBe(1);
    expect(stderr).toMatch(/^error \[GATEWAY_UNAVAILABLE\]: .*lode up/);
  });

  it('lists jobs only as an account: without a key in --data-dir it says how to make one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lode-cli-nokey-'));
    const { code, stderr } = await lode(['--gateway', 'http://127.0.0.1:9', '--data-dir', dir, 'job', 'ls']);
    expect(code).toBe(1);
    expect(stderr).toMatch(/^error \[NO_ACCOUNT\]: /);
    expect(stderr).toMatch(/lode account new/);
  });
});

describe.concurrent('output into a closed pipe', () => {
  it.each([[['--help']], [['job', 'ls', '--help']]])('`lode %s | head -c 0` exits 0 without an EPIPE report', async (args) => {
    const { code, stderr } = await lodeIntoClosedPipe(args);
    expect(code).toBe(0);
    expect(stderr).toBe('');
  });

  it('`lode account show --json | head -c 0` exits 0 without an EPIPE report', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lode-cli-pipe-'));
    expect((await lode(['--data-dir', dir, 'account', 'new'])).code).toBe(0);
    const { code, stderr } = await lodeIntoClosedPipe(['--data-dir', dir, 'account', 'show', '--json']);
    expect(code).toBe(0);
    expect(stderr).toBe('');
    await rm(dir, { recursive: true });
  });
});

describe('long-running verbs', () => {
  it.each([['gateway'], ['node'], ['up']])('`lode %s` takes --log-level from LODE_LOG_LEVEL and refuses a level it does not know', async (verb) => {
    const help = await lode([verb, '--help']);
    expect(help.stdout).toMatch(/--log-level <level>[\s\S]*env:\s+LODE_LOG_LEVEL/);
    const bad = await lode(['--data-dir', dataDir, verb], { LODE_LOG_LEVEL: 'loud' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^error \[USAGE\]: .*'loud' from env 'LODE_LOG_LEVEL' is invalid/);
  });

  it('`lode up` on a port that is taken says PORT_IN_USE and exits 1, not an internal error', async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const port = (taken.address() as AddressInfo).port;
    const dir = await mkdtemp(join(tmpdir(), 'lode-cli-port-'));
    try {
      const { code, stderr } = await lode(['up', '--nodes', '1', '--port', String(port), '--data-dir', dir]);
      expect(code, stderr).toBe(1);
      expect(stderr).toMatch(new RegExp(`^error \\[PORT_IN_USE\\]: Port ${port} .*--port`));
      expect(stderr).not.toContain('INTERNAL');
    } finally {
      taken.close();
      await rm(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
