/**
 * `lode credential verify`, spawned as a user would run it: device credentials (W3C VCs as JWTs)
 * issued here with a throwaway gateway key are checked offline — no gateway runs. Needs
 * `packages/cli/dist` (`npx tsc -b packages/cli`).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { issueDeviceCredential, LIMITS, type DeviceClaimsInit } from '@lode/protocol';

const BIN = fileURLToPath(new URL('../bin/lode.js', import.meta.url));
const DIST = fileURLToPath(new URL('../dist/main.js', import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the bin; `stdin` is written to its standard input, which is then closed. */
function lode(args: string[], stdin?: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [BIN, ...args],
      { env: { ...process.env, LODE_GATEWAY: '', LODE_DATA_DIR: '' }, timeout: 20_000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin?.end(stdin ?? '');
  });
}

const gateway = privateKeyToAccount(generatePrivateKey());
const node = privateKeyToAccount(generatePrivateKey());
const chainId = 31337;
const claims: DeviceClaimsInit = {
  node: node.address,
  capabilities: { cores: 8, memoryMiB: 16_384, os: 'linux', arch: 'x64', kind: 'server', slots: 4, benchmark: 812.5, agent: 'lode-node/0.1.0' },
  uptimeSeconds: 7260,
  firstSeenAt: 1_750_000_000,
  checks: { validated: 12, invalid: 1, consecutiveValid: 9 },
  offences: { count: 1, slashedWei: '5000000000000000000' },
  availability: null,
};
const issue = (now = Date.now(), account = gateway) => issueDeviceCredential({ subject: claims, account, chainId, now, ttlSeconds: 3600 });

let dir: string;
beforeAll(async () => {
  if (!existsSync(DIST)) throw new Error(`${DIST} is missing: build the CLI first (npx tsc -b packages/cli).`);
  dir = await mkdtemp(join(tmpdir(), 'lode-cli-vc-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function file(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

describe.concurrent('lode credential verify', () => {
  it('accepts a genuine credential offline and says who issued it, what it states and until when', async () => {
    const path = await file('ok.jwt', `${await issue()}\n`);
    const { code, stdout, stderr } = await lode(['credential', 'verify', path, '--chain-id', String(chainId), '--issuer', gateway.address]);
    expect(code, stderr).toBe(0);
    expect(stdout).toContain('valid Lode device credential');
    expect(stdout).toContain(`did:pkh:eip155:${chainId}:${gateway.address.toLowerCase()}`);
    expect(stdout).toMatch(/server, 8 cores, 16384 MiB, linux\/x64/);
    expect(stdout).toMatch(/12 right \/ 1 wrong \(streak 9\)/);
    expect(stdout).toMatch(/1 evidence record\(s\), 5000000000000000000 wei slashed/);
    expect(stdout).toMatch(/availability: not reported/);
  });

  it('prints the verified claims as JSON with --json, reading the JWT from stdin or from the JSON `export --vc --json` writes', async () => {
    const jwt = await issue();
    const fromStdin = await lode(['credential', 'verify', '-', '--json'], jwt);
    expect(fromStdin.code, fromStdin.stderr).toBe(0);
    expect(JSON.parse(fromStdin.stdout)).toMatchObject({
      ok: true,
      chainId,
      gateway: gateway.address.toLowerCase(),
      subject: { node: node.address.toLowerCase() },
    });
    const wrapped = await file('view.json', JSON.stringify({ jwt, issuer: 'x' }));
    expect((await lode(['credential', 'verify', wrapped])).code).toBe(0);
  });

  it.each([
    ['an expired credential', async () => issue(Date.now() - 2 * 3600_000), [], 'CREDENTIAL_EXPIRED', /expired at .*lode credential export --vc/],
    ['a credential for another chain', async () => issue(), ['--chain-id', '1'], 'CREDENTIAL_WRONG_CHAIN', /issued on chain 31337; chain 1 was expected/],
    ['another issuer', async () => issue(), ['--issuer', node.address], 'CREDENTIAL_UNTRUSTED_ISSUER', /not among the trusted issuers/],
    [
      'a credential signed by another key in the gateway’s name',
      async () => {
        const [h, p] = (await issue()).split('.');
        const [, , s] = (await issue(Date.now(), node)).split('.');
        return `${h}.${p}.${s}`;
      },
      [],
      'CREDENTIAL_FORGED',
      /does not recover to the issuer/,
    ],
    ['text that is no credential', async () => 'hello', [], 'CREDENTIAL_MALFORMED', /not a JWT/],
  ] as const)('refuses %s in words and exits 1', async (_what, make, flags, code, reason) => {
    const path = await file(`${code}-${Math.random()}.jwt`, await make());
    const human = await lode(['credential', 'verify', path, ...flags]);
    expect(human.code).toBe(1);
    expect(human.stderr).toMatch(new RegExp(`^error \\[${code}\\]: `));
    expect(human.stderr).toMatch(reason);
    const json = await lode(['credential', 'verify', path, ...flags, '--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout).error.code).toBe(code);
  });

  it('treats a missing file, an oversized input and a bad flag as usage errors (exit 2)', async () => {
    expect((await lode(['credential', 'verify', join(dir, 'nope.jwt')])).stderr).toMatch(/^error \[USAGE\]: Could not read/);
    const big = await lode(['credential', 'verify', await file('big.jwt', 'a'.repeat(4 * LIMITS.maxDeviceCredentialBytes + 1))]);
    expect(big.code).toBe(2);
    expect(big.stderr).toMatch(/holds more than/);
    expect((await lode(['credential', 'verify', '-', '--chain-id', '-3'])).code).toBe(2);
    expect((await lode(['credential', 'verify', '-', '--issuer', 'gateway'])).code).toBe(2);
  });

  it.each([['export'], ['verify']])('explains `lode credential %s` with examples and --json', async (verb) => {
    const { code, stdout } = await lode(['credential', verb, '--help']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/Examples:\n\s+\$ lode credential/);
    expect(stdout).toContain('--json');
    if (verb === 'export') expect(stdout).toContain('--vc');
  });
});
