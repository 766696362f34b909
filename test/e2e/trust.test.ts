/**
 * Verification, reputation and slashing on real processes: a gateway with its embedded chain,
 * honest `lode node` processes, and one staked provider that lies (sim/node.js: the real agent
 * and sandbox with its answers forged). A requester runs `lode run --verify replicate:2`; every
 * result must equal an independent sieve, the liar must be proven wrong with evidence any third
 * party can check, and its stake must drop by exactly the governed slash fraction per offence.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { Hex } from 'viem';
import { readContract } from 'viem/actions';
import { createLedgerClient, ledgerAddressesSchema, stakingAbi, type LedgerClient } from '@lode/ledger/client';
import { checkEvidence, evidenceHash, type Evidence } from '@lode/protocol';
import { Cluster, ROOT, lodeRun, waitFor } from '../support/cluster.js';
import { clientOf, primesBySieve } from '../support/requester.js';
import { getJob } from '@lode/sdk';

let c: Cluster;
let ledger: LedgerClient;
let liar: string;
let stakeBefore: bigint;
let slashBps: bigint;

const stakeOf = async (address: string) => {
  const [bonded, , unbonding] = await readContract(ledger, {
    address: ledger.addresses.staking,
    abi: stakingAbi,
    functionName: 'poolOf',
    args: [address as Hex],
  });
  return bonded + unbonding;
};

beforeAll(async () => {
  c = await new Cluster({ nodes: 4, ledger: true, nodeArgs: ['--claim-interval', '300'] }).start();
  const info = (await (await fetch(`${c.url}/v1/ledger`)).json()) as { chainId: number; contracts: object; params: { slashBps: number } };
  ledger = createLedgerClient({ rpcUrl: `${c.url}/rpc`, addresses: ledgerAddressesSchema.parse({ ...info.contracts, chainId: info.chainId }) });
  slashBps = BigInt(info.params.slashBps);
  ({ address: liar } = await c.addSimNode('always'));
  stakeBefore = await stakeOf(liar);
}, 180_000);
afterAll(async () => {
  await c?.stop();
});

describe('a lying provider on a real network', () => {
  it('lode run --verify replicate:2 returns only verified results; the liar is proven wrong, refused, and slashed by slashBps per offence', async () => {
    const requesterDir = join(c.dir, 'requester');
    await c.provision(requesterDir, false);
    const run = await lodeRun([
      'run',
      'primes',
      '--tasks',
      '24',
      '--verify',
      'replicate:2',
      '--json',
      '--gateway',
      c.url,
      '--data-dir',
      requesterDir,
      '--',
      '0',
      '240000',
    ]);
    expect(run.code, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout) as { jobId: string; answer: { count: string | number } };
    expect(Number(out.answer.count)).toBe(primesBySieve(0, 240_000));
    const job = (await getJob(await clientOf(c.url, requesterDir), { id: out.jobId })) as { verification: { policy: string; wrong: number; accepted: number } };
    expect(job.verification).toMatchObject({ policy: 'replicate(2)', accepted: 24 });
    expect(job.verification.wrong).toBeGreaterThanOrEqual(1);

    // Evidence against the liar, each piece checkable by anyone, each slashed once on chain.
    const evidence = await waitFor(
      'every offence slashed',
      async () => {
        const { evidence } = (await (await fetch(`${c.url}/v1/nodes/${liar}/evidence`)).json()) as {
          evidence: Array<{ hash: string; slash: string; slashed: string | null; evidence: Evidence }>;
        };
        return evidence.length > 0 && evidence.every((e) => e.slash === 'slashed') ? evidence : undefined;
      },
      60_000,
      250,
    );
    for (const e of evidence) {
      expect(await checkEvidence(e.evidence)).toBeNull();
      expect(evidenceHash(e.evidence)).toBe(e.hash);
      expect(e.evidence.offending.message.node.toLowerCase()).toBe(liar);
    }
    // Each slash takes slashBps of what was staked then: stake × (1 − bps/10⁴)ⁿ, rounded down each time.
    let expected = stakeBefore;
    const slashed = evidence.map((e) => BigInt(e.slashed!)).sort((a, b) => (a > b ? -1 : 1));
    for (const s of slashed) {
      expect(s).toBe((expected * slashBps) / 10_000n);
      expected -= s;
    }
    expect(await stakeOf(liar)).toBe(expected);

    const nodes = (await (await fetch(`${c.url}/v1/nodes`)).json()) as {
      nodes: Array<{ address: string; reputation: { invalid: number; refused: boolean; validated: number } }>;
    };
    const me = nodes.nodes.find((n) => n.address === liar)!;
    expect(me.reputation.invalid).toBe(evidence.length);
    expect(me.reputation.validated).toBe(0);
    // The honest nodes agreed with each other and gained a record; none was proven wrong.
    const honest = nodes.nodes.filter((n) => n.address !== liar);
    expect(honest.every((n) => n.reputation.invalid === 0)).toBe(true);
    expect(honest.some((n) => n.reputation.validated > 0)).toBe(true);
    if (me.reputation.invalid >= 3) expect(me.reputation.refused).toBe(true);
  });

  it('lode run --verify target:0.001 takes results of nodes with a record with fewer replicas, all right', async () => {
    // After the replicated job above, the honest nodes have records: the target is met with
    // fewer executions than replicate(2) took.
    const requesterDir = join(c.dir, 'requester');
    const run = await lodeRun([
      'run',
      'primes',
      '--tasks',
      '24',
      '--verify',
      'target:0.001',
      '--json',
      '--gateway',
      c.url,
      '--data-dir',
      requesterDir,
      '--',
      '240000',
      '480000',
    ]);
    expect(run.code, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout) as { jobId: string; answer: { count: string | number } };
    expect(Number(out.answer.count)).toBe(primesBySieve(240_000, 480_000));
    const job = (await getJob(await clientOf(c.url, requesterDir), { id: out.jobId })) as {
      verification: { policy: string; accepted: number; executions: number };
    };
    expect(job.verification).toMatchObject({ policy: 'target(0.001)', accepted: 24 });
    expect(job.verification.executions).toBeGreaterThanOrEqual(24);
    expect((JSON.parse(run.stdout) as { verification: { policy: string } }).verification.policy).toBe('target(0.001)');
  });

  it('a runaway loop stops at its fuel limit with a clear message, deterministically', async () => {
    const r = await lodeRun([
      'run',
      join(ROOT, 'workloads/build/bad-loop.wasm'),
      '--fuel',
      '50000000',
      '--gateway',
      c.url,
      '--data-dir',
      join(c.dir, 'requester'),
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/SANDBOX_FUEL_EXHAUSTED/);
    expect(r.stderr).toMatch(/Raise limits\.fuel/);
  });

  it("lode credential export writes a node's signed record; presenting it to the gateway that issued it is refused in words", async () => {
    const { nodes } = (await (await fetch(`${c.url}/v1/nodes`)).json()) as { nodes: Array<{ address: string; reputation: { validated: number } }> };
    const honest = nodes.find((n) => n.address !== liar && n.reputation.validated > 0)!;
    const file = join(c.dir, 'credential.json');
    const out = await lodeRun(['credential', 'export', honest.address, '--out', file, '--gateway', c.url]);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toMatch(new RegExp(`wrote .*credential\\.json: node 0x[0-9a-fA-F]{40}, ${honest.reputation.validated} right / 0 wrong`));
    // This gateway issued it: its own record already counts, so it refuses to count it twice.
    const again = await lodeRun(['credential', 'import', file, '--gateway', c.url]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^error \[INVALID_REQUEST\]: The credential was not counted: this gateway issued it/);
  });

  it('lode credential export --vc writes the liar’s record as a W3C VC; lode credential verify checks it offline, slashes included', async () => {
    const identity = (await (await fetch(`${c.url}/v1/identity`)).json()) as { gateway: string; chainId: number };
    const { evidence } = (await (await fetch(`${c.url}/v1/nodes/${liar}/evidence`)).json()) as { evidence: Array<{ slashed: string | null }> };
    const file = join(c.dir, 'liar.vc.jwt');
    const out = await lodeRun(['credential', 'export', '--vc', liar, '--out', file, '--gateway', c.url]);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toMatch(new RegExp(`wrote .*liar\\.vc\\.jwt: device credential for node ${liar} \\(0 right / ${evidence.length} wrong`));
    const v = await lodeRun(['credential', 'verify', file, '--chain-id', String(identity.chainId), '--issuer', identity.gateway, '--json']);
    expect(v.code, v.stderr).toBe(0);
    const slashed = evidence.reduce((sum, e) => sum + BigInt(e.slashed ?? 0), 0n);
    expect(JSON.parse(v.stdout)).toMatchObject({
      ok: true,
      chainId: identity.chainId,
      subject: { node: liar, checks: { validated: 0, invalid: evidence.length }, offences: { count: evidence.length, slashedWei: slashed.toString() } },
    });
    expect(slashed).toBeGreaterThan(0n);
    const elsewhere = await lodeRun(['credential', 'verify', file, '--chain-id', String(identity.chainId + 1)]);
    expect(elsewhere.code).toBe(1);
    expect(elsewhere.stderr).toMatch(/^error \[CREDENTIAL_WRONG_CHAIN\]: /);
  });

  it("lode nodes shows each node's reputation", async () => {
    const r = await lodeRun(['nodes', '--all', '--json', '--gateway', c.url]);
    expect(r.code, r.stderr).toBe(0);
    const body = JSON.parse(r.stdout) as { nodes: Array<{ address: string; reputation?: { invalid: number } }> };
    expect(body.nodes.find((n) => n.address === liar)?.reputation?.invalid).toBeGreaterThanOrEqual(1);
    const text = await lodeRun(['nodes', '--all', '--gateway', c.url]);
    expect(text.stdout).toMatch(/REPUTATION/);
    expect(text.stdout).toMatch(/credibility 0\.\d+|probation/);
  });
});
