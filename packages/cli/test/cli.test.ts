/**
 * The real `lode` executable, spawned as a user would: help for every verb, the account
 * commands in a temporary data directory, and usage errors. Needs `packages/cli/dist` (built by
 * `npm run build`, or `npx tsc -b packages/cli`).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
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
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, LODE_GATEWAY: '', LODE_DATA_DIR: '', ...env }, timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
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
    const isGroup = (verb[0] === 'job' || verb[0] === 'account') && verb.length === 1;
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

  it('explains an unreachable gateway and exits 1', async () => {
    const { code, stderr } = await lode(['--gateway', 'http://127.0.0.1:9', 'job', 'ls']);
    expect(code).toBe(1);
    expect(stderr).toMatch(/^error \[GATEWAY_UNAVAILABLE\]: .*lode up/);
  });
});
