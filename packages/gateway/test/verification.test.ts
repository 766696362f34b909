/**
 * Verification on a real gateway: nodes driven by hand answer right, wrong or not at all, and
 * the gateway must accept only what its policy verifies, prove the liars wrong with evidence a
 * third party can check, and never give two replicas of a task to one account.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { checkEvidence, verifyDeviceCredential, verifyNodeReputation, type Evidence, type Lease } from '@lode/protocol';
import { verifyCredential } from 'did-jwt-vc';
import { Resolver } from 'did-resolver';
import { getResolver } from 'pkh-did-resolver';
import { startGateway, testGatewayOptions, type GatewayHandle, type GatewayOptions } from '../src/index.js';
import { baseCaps, fakeNode, pollJson, submitJob, type FakeNode } from './support/fakeNode.js';
import { fetchAs } from './support/session.js';

const requester = privateKeyToAccount(generatePrivateKey());
const right = (l: Lease) => `task-${l.taskIndex}`;

let gw: GatewayHandle;
let dir: string;
const nodes: FakeNode[] = [];

async function start(over: GatewayOptions = {}) {
  gw = await startGateway(testGatewayOptions({ dataDir: dir, logLevel: 'silent', ...over, trust: { stragglers: false, ...over.trust } }));
}
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'lode-verify-'));
});
afterEach(async () => {
  for (const n of nodes.splice(0)) n.ws.close();
  await gw?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function node(answer?: (l: Lease) => string | undefined, account = privateKeyToAccount(generatePrivateKey())): Promise<FakeNode> {
  const n = await fakeNode(gw.wsUrl, {}, account);
  nodes.push(n);
  if (answer) n.serve(answer);
  return n;
}

const finished = (id: string) => pollJson(`${gw.url}/v1/jobs/${id}`, (j) => j.finishedAt !== null, 400, requester);
const results = async (id: string) => ((await (await fetchAs(requester, `${gw.url}/v1/jobs/${id}/results`)).json()) as any).results as any[];
const nodeView = async (address: string) => ((await (await fetch(`${gw.url}/v1/nodes`)).json()) as any).nodes.find((n: any) => n.address === address);

describe('replicate(k)', () => {
  it('accepts a task only when k accounts agree; a node that answers wrong is proven wrong with evidence anyone can check', async () => {
    await start();
    const id = await submitJob(gw.url, requester, 6, { verification: { kind: 'replicate', k: 2 } });
    const liar = await node(() => 'wrong'); // connected first: it gets the first task
    await pollJson(`${gw.url}/v1/jobs/${id}`, (j) => j.counts.leased > 0, 200, requester);
    for (let i = 0; i < 4; i++) await node(right);

    const job = await finished(id);
    expect(job.status).toBe('completed');
    expect(job.verification).toMatchObject({ policy: 'replicate(2)', accepted: 6 });
    expect(job.verification.wrong).toBeGreaterThanOrEqual(1);
    const rs = await results(id);
    expect(rs.map((r) => Buffer.from(r.stdout, 'base64').toString())).toEqual([0, 1, 2, 3, 4, 5].map((i) => `task-${i}`));
    expect(rs.every((r) => r.node !== liar.address)).toBe(true);

    const rep = (await nodeView(liar.address)).reputation;
    expect(rep).toMatchObject({ validated: 0, probation: true });
    expect(rep.invalid).toBe(job.verification.wrong);
    const { evidence } = (await (await fetch(`${gw.url}/v1/nodes/${liar.address}/evidence`)).json()) as any;
    expect(evidence.length).toBe(rep.invalid);
    const e = evidence[0];
    expect(e).toMatchObject({ node: liar.address, jobId: id, kind: 'quorum', slash: 'none' });
    const body = e.evidence as Evidence;
    expect(await checkEvidence(body)).toBeNull();
    expect(body.offending.message.node.toLowerCase()).toBe(liar.address);
    expect(body.agreed.message.agreeing.length).toBeGreaterThanOrEqual(2);
    expect(body.session?.node.toLowerCase()).toBe(liar.address);
    // The one piece of evidence is served by its hash too.
    expect(((await (await fetch(`${gw.url}/v1/evidence/${e.hash}`)).json()) as any).hash).toBe(e.hash);
    // Honest nodes that agreed gained a record.
    const honest = await Promise.all(nodes.slice(1).map((n) => nodeView(n.address)));
    expect(honest.some((n) => n.reputation.validated > 0 && n.reputation.invalid === 0)).toBe(true);
  });

  it('never gives two replicas of a task to one account, even over two sessions, and says why the task waits', async () => {
    await start();
    const id = await submitJob(gw.url, requester, 1, { verification: { kind: 'replicate', k: 2 } });
    const account = privateKeyToAccount(generatePrivateKey());
    const first = await node(right, account);
    await pollJson(`${gw.url}/v1/jobs/${id}`, (j) => j.verification.inVerification === 1 && first.seen.length === 1, 200, requester);
    const second = await node(right, account); // same account, another session
    const waiting = await pollJson(`${gw.url}/v1/jobs/${id}`, (j) => /distinct-account/.test(j.waiting ?? ''), 200, requester);
    expect(waiting.waiting).toMatch(/need results from more nodes/);
    await new Promise((r) => setTimeout(r, 200));
    expect(first.seen.length + second.seen.length).toBe(1);
    // Two other accounts: newcomers only, so the answer needs a vote to spare (3 agreeing).
    await node(right);
    await node(right);
    const job = await finished(id);
    expect(job.status).toBe('completed');
    expect(first.seen.length + second.seen.length).toBe(1);
  });

  it('fails a task whose results never agree with VERIFICATION_FAILED after 2k + 1 results', async () => {
    await start();
    const id = await submitJob(gw.url, requester, 1, { verification: { kind: 'replicate', k: 2 } });
    for (let i = 0; i < 5; i++) await node((l) => `nondeterministic ${i} ${l.taskIndex}`);
    const job = await finished(id);
    expect(job.status).toBe('failed');
    const [r] = await results(id);
    expect(r.error.code).toBe('VERIFICATION_FAILED');
    expect(r.error.message).toMatch(/deterministic/);
    expect(job.verification).toMatchObject({ failed: 1, executions: 5, wrong: 0 });
  });
});

describe('target(errorRate)', () => {
  it('replicates newcomers, trusts nodes with a record, and a known-answer task catches a trusted node that starts lying', async () => {
    await start({ trust: { canary: 1, spotCheck: 0 } });
    const id = await submitJob(gw.url, requester, 80, { verification: { kind: 'target', errorRate: 0.01 } });
    // Newcomers only at first: an answer needs four agreeing (credibility 0.8 each: odds 4⁴ → 0.996 ≥ 0.99).
    let turned = 0;
    const turncoat = await node((l) => (turned++ < 30 ? right(l) : 'lie'));
    for (let i = 0; i < 4; i++) await node(right);
    const job = await finished(id);
    expect(job.status).not.toBe('running');
    expect(job.verification.canaries).toBeGreaterThan(0);
    // Less than 3 replicas per task on average: trusted nodes' results are taken alone.
    expect(job.verification.executions / 80).toBeLessThan(3);
    const { evidence } = (await (await fetch(`${gw.url}/v1/nodes/${turncoat.address}/evidence`)).json()) as any;
    expect(evidence.map((e: any) => e.kind)).toContain('canary');
    const canary = evidence.find((e: any) => e.kind === 'canary').evidence as Evidence;
    expect(await checkEvidence(canary)).toBeNull();
    expect((await nodeView(turncoat.address)).reputation.invalid).toBeGreaterThanOrEqual(1);
  });
});

describe('reputation credentials', () => {
  it('a node carries its record, signed by one gateway, to another that trusts that gateway (as a capped prior)', async () => {
    await start();
    const id = await submitJob(gw.url, requester, 4, { verification: { kind: 'replicate', k: 2 } });
    for (let i = 0; i < 4; i++) await node(right);
    await finished(id);
    const views = await Promise.all(nodes.map((n) => nodeView(n.address)));
    const best = views.sort((a, b) => b.reputation.consecutiveValid - a.reputation.consecutiveValid)[0];
    expect(best.reputation.consecutiveValid).toBeGreaterThan(0);
    const credential = (await (await fetch(`${gw.url}/v1/nodes/${best.address}/credential`)).json()) as any;
    expect(await verifyNodeReputation(credential)).toBe(true);
    expect(credential.message).toMatchObject({
      node: expect.stringMatching(new RegExp(best.address.slice(2), 'i')),
      consecutiveValid: String(best.reputation.consecutiveValid),
      invalid: '0',
    });
    const issuer = credential.message.gateway as string;

    const other = async (trustedIssuers: string[]) => {
      const d = mkdtempSync(join(tmpdir(), 'lode-verify-other-'));
      return { d, g: await startGateway(testGatewayOptions({ dataDir: d, logLevel: 'silent', trust: { trustedIssuers } })) };
    };
    const post = (g: GatewayHandle, body: unknown) =>
      fetch(`${g.url}/v1/nodes/credentials`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const trusting = await other([issuer]);
    const stranger = await other([]);
    try {
      const r = await post(trusting.g, credential);
      expect(r.status).toBe(200);
      expect(await r.json()).toMatchObject({ node: best.address, counted: Math.min(16, best.reputation.consecutiveValid), reputation: { probation: false } });
      const refused = await post(stranger.g, credential);
      expect(refused.status).toBe(400);
      expect(((await refused.json()) as any).error.message).toMatch(/not among this gateway's trusted issuers/);
      const forged = await post(trusting.g, { ...credential, message: { ...credential.message, consecutiveValid: '999' } });
      expect(((await forged.json()) as any).error.message).toMatch(/does not verify/);
    } finally {
      for (const o of [trusting, stranger]) {
        await o.g.close();
        rmSync(o.d, { recursive: true, force: true });
      }
    }
  });
});

describe('device credentials', () => {
  it("serves a node's record as a W3C VC that verifies offline — with Lode's verifier and with did-jwt-vc alone — offences included", async () => {
    await start();
    const id = await submitJob(gw.url, requester, 6, { verification: { kind: 'replicate', k: 2 } });
    const liar = await node(() => 'wrong'); // connected first: it gets the first task
    await pollJson(`${gw.url}/v1/jobs/${id}`, (j) => j.counts.leased > 0, 200, requester);
    for (let i = 0; i < 4; i++) await node(right);
    await finished(id);
    const identity = (await (await fetch(`${gw.url}/v1/identity`)).json()) as { gateway: string; chainId: number };
    const get = (address: string) => fetch(`${gw.url}/v1/nodes/${address}/device-credential`);

    const res = await get(liar.address);
    expect(res.status).toBe(200);
    const view = (await res.json()) as any;
    const v = await verifyDeviceCredential(view.jwt, { chainId: identity.chainId, trustedIssuers: [identity.gateway] });
    if (!v.ok) throw new Error(`${v.code}: ${v.reason}`);
    expect(v.issuer).toBe(view.issuer);
    expect(v.subject).toEqual(view.subject);
    expect(v.expiresAt).toBe(view.expiresAt);
    const rep = (await nodeView(liar.address)).reputation;
    const { evidence } = (await (await fetch(`${gw.url}/v1/nodes/${liar.address}/evidence`)).json()) as any;
    expect(rep.invalid).toBeGreaterThanOrEqual(1);
    expect(v.subject).toMatchObject({
      id: `did:pkh:eip155:${identity.chainId}:${liar.address}`,
      node: liar.address,
      capabilities: { cores: baseCaps.cores, memoryMiB: baseCaps.memoryMiB, os: baseCaps.os, arch: baseCaps.arch, slots: baseCaps.slots },
      checks: { validated: rep.validated, invalid: rep.invalid, consecutiveValid: rep.consecutiveValid },
      offences: { count: evidence.length, slashedWei: '0' }, // no ledger: nothing slashed
      availability: null,
    });
    expect(v.subject.capabilities).not.toHaveProperty('pricePerTask');

    // A third party needs nothing of Lode: did-jwt-vc and the did:pkh resolver.
    const independent = await verifyCredential(view.jwt, new Resolver(getResolver()));
    expect(independent.issuer.toLowerCase()).toBe(`did:pkh:eip155:${identity.chainId}:${identity.gateway.toLowerCase()}`);
    expect(independent.verifiableCredential.credentialSubject.checks.invalid).toBe(rep.invalid);

    const honest = await verifyDeviceCredential(((await (await get(nodes[1]!.address)).json()) as any).jwt);
    expect(honest.ok && honest.subject.offences.count).toBe(0);

    const unknown = await get(privateKeyToAccount(generatePrivateKey()).address);
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as any).error.code).toBe('NOT_FOUND');
    expect((await get('0x1234')).status).toBe(400);
  });
});

describe('stragglers', () => {
  it('gives a straggling lease a speculative copy on another node; the first result wins and the other lease is cancelled', async () => {
    await start({ trust: { stragglers: true } });
    const id = await submitJob(gw.url, requester, 4);
    const slow = await node((l) => (l.taskIndex === 2 ? undefined : right(l))); // holds task 2
    await pollJson(`${gw.url}/v1/jobs/${id}`, (j) => j.counts.done === 3, 200, requester);
    const fast = await node(right);
    const job = await finished(id);
    expect(job.status).toBe('completed');
    expect(job.verification.speculative).toBe(1);
    expect(fast.seen.map((l) => l.taskIndex)).toEqual([2]);
    const cancel = await slow.next('cancel');
    expect(cancel.leaseIds).toEqual([slow.seen.find((l) => l.taskIndex === 2)!.leaseId]);
    const rs = await results(id);
    expect(rs.map((r) => Buffer.from(r.stdout, 'base64').toString())).toEqual([0, 1, 2, 3].map((i) => `task-${i}`));
    expect(rs[2].node).toBe(fast.address);
  });
});
