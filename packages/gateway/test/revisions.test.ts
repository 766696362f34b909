/**
 * No wrong result survives its liar, on a real gateway with nodes driven by hand: a node earns
 * trust, passes an audit, then lies on results it is trusted to give alone. When it is caught,
 * every result it gave alone since that audit is re-verified by other nodes, the wrong ones
 * replaced by the right answer before the job is final, and the requester's view says which
 * tasks were revised and why. (Money — the liar unpaid, the requester refunded to the wei, a job
 * revised after it was final — is in revisions-ledger.test.ts.)
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { resultDigest, type Lease } from '@lode/protocol';
import { startGateway, testGatewayOptions, type GatewayHandle } from '../src/index.js';
import { fakeNode, pollJson, submitJob, type FakeNode } from './support/fakeNode.js';
import { fetchAs } from './support/session.js';

const requester = privateKeyToAccount(generatePrivateKey());
/** What every task's right answer is (the fake nodes' "computation"), computed apart from any node. */
const expected = (index: number) => `task-${index}`;
const TARGET = { kind: 'target', errorRate: 0.01 } as const;

let gw: GatewayHandle;
let dir: string;
const nodes: FakeNode[] = [];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lode-revisions-'));
  // No random audits: the only checks of a trusted node's lone results are the ones under test.
  gw = await startGateway(testGatewayOptions({ dataDir: dir, logLevel: 'silent', trust: { spotCheck: 0, canary: 0, stragglers: false } }));
});
afterEach(async () => {
  for (const n of nodes.splice(0)) n.ws.close();
  await gw?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function node(answer: (l: Lease) => string | undefined, account = privateKeyToAccount(generatePrivateKey())): Promise<FakeNode> {
  const n = await fakeNode(gw.wsUrl, {}, account);
  nodes.push(n);
  n.serve(answer);
  return n;
}

const finished = (id: string) => pollJson(`${gw.url}/v1/jobs/${id}`, (j) => j.finishedAt !== null, 600, requester);
const results = async (id: string) => ((await (await fetchAs(requester, `${gw.url}/v1/jobs/${id}/results`)).json()) as any).results as any[];
const text = (b64: string) => Buffer.from(b64, 'base64').toString();

describe('a node that earns trust, then lies on the results it gives alone', () => {
  it('is caught by the audit its job waits for; every result it gave alone since its last passed check is re-verified and the wrong ones replaced before the job is final', async () => {
    let lying = false;
    const lies = new Map<string, Set<number>>(); // job → tasks the liar answered wrongly
    const liar = await node((l) => {
      if (!lying) return expected(l.taskIndex);
      let s = lies.get(l.jobId);
      if (!s) lies.set(l.jobId, (s = new Set()));
      s.add(l.taskIndex);
      return 'forged';
    });
    for (let i = 0; i < 4; i++) await node((l) => expected(l.taskIndex));

    // 1. Everyone honest: records grow (newcomers' tasks replicated), then trusted nodes' results
    //    are taken alone; before the job is final each node with such results is audited once.
    const first = await submitJob(gw.url, requester, 60, { verification: TARGET });
    const a = await finished(first);
    expect(a.status).toBe('completed');
    expect((await results(first)).map((r) => text(r.stdout))).toEqual(Array.from({ length: 60 }, (_, i) => expected(i)));
    expect(a.revisions).toBeUndefined();
    expect(a.verification.reverified).toBeGreaterThan(0); // the audits: results taken alone, checked by another node
    expect(a.verification.revised).toBe(0);
    expect(a.unaudited).toBeUndefined();
    const liarView = async () => ((await (await fetch(`${gw.url}/v1/nodes`)).json()) as any).nodes.find((n: any) => n.address === liar.address);
    expect((await liarView()).reputation).toMatchObject({ invalid: 0, probation: false });
    // Its results are taken alone only once its record meets the job's error rate (a number of
    // right checks in a row): under load the first job may have given it fewer tasks than that,
    // so more honest jobs run until it has earned that trust — the premise of what follows.
    for (let extra = 0; (await liarView()).reputation.credibility < 1 - TARGET.errorRate; extra++) {
      expect(extra, 'the liar never earned the trust its results need to be taken alone').toBeLessThan(10);
      expect((await finished(await submitJob(gw.url, requester, 60, { verification: TARGET }))).status).toBe('completed');
    }

    // 2. It turns: its results are forged from now on. Nothing checks a trusted node's lone
    //    result here but the audit its job waits for before it is final.
    lying = true;
    const second = await submitJob(gw.url, requester, 40, { verification: TARGET });
    const b = await finished(second);
    const rs = await results(second);
    // Every result is right — checked against the independent computation, not the nodes' word.
    expect(rs.map((r) => text(r.stdout))).toEqual(Array.from({ length: 40 }, (_, i) => expected(i)));
    expect(b.status).toBe('completed');
    expect(rs.every((r) => r.node !== liar.address)).toBe(true);

    // The liar was proven wrong, with evidence (stored beside the job's own writes: it may land
    // just after the job is final), and each result it had given alone was revised.
    const evidence = await pollJson(`${gw.url}/v1/nodes/${liar.address}/evidence`, (e) => e.evidence?.length >= 1, 100);
    expect(evidence.evidence.length).toBeGreaterThanOrEqual(1);
    const forgedHash = resultDigest({ exitCode: 0, stdout: new TextEncoder().encode('forged'), stderr: new Uint8Array(), files: [] });
    const revisedTasks = rs.filter((r) => r.revised).map((r) => r.index);
    if (revisedTasks.length === 0) {
      // Seen under the full suite's load: the liar's first lie was on another node's task that it
      // was given to check (an audit or a replica), where it was outvoted and refused before any
      // result of its own was taken alone — nothing of it was accepted, so nothing needs revising
      // (every result above is right, none is its). Said, so a run that did not reach the
      // revision path is visible; test/e2e/revisions.test.ts revises a final job in every run.
      console.warn('revisions.test: the liar was caught checking another node before any lone result of its own was accepted');
      expect(b.revisions).toBeUndefined();
      expect(b.verification.wrong).toBeGreaterThanOrEqual(1);
      return;
    }
    for (const r of rs.filter((x) => x.revised)) {
      expect(r.revised).toMatchObject({ previousNode: liar.address, previousResultHash: forgedHash, reason: expect.stringMatching(/proven wrong/) });
    }
    // The view names exactly those tasks (the liar's lies that had been accepted alone).
    expect(b.revisions).toMatchObject({ revised: revisedTasks.length, refunded: '0' }); // a free job: nothing to refund
    expect(b.revisions.tasks.map((t: any) => t.index).sort((x: number, y: number) => x - y)).toEqual(revisedTasks);
    expect(b.revisions.tasks.every((t: any) => t.previousNode === liar.address)).toBe(true);
    expect(b.verification.revised).toBe(revisedTasks.length);
    // Every revised task was one it lied on; the lies not among them never got accepted (outvoted in replication).
    const lied = lies.get(second) ?? new Set<number>();
    for (const i of revisedTasks) expect(lied.has(i)).toBe(true);
    expect(b.verification.wrong).toBeGreaterThanOrEqual(revisedTasks.length);
  }, 120_000);

  it('keeps what it gave alone across a gateway restart: a job final with its forged results is revised once it is caught after the restart', async () => {
    let lying = false;
    const liarAccount = privateKeyToAccount(generatePrivateKey());
    const honestAccounts = Array.from({ length: 4 }, () => privateKeyToAccount(generatePrivateKey()));
    const liarAnswer = (l: Lease) => (lying ? 'forged' : expected(l.taskIndex));
    const liar = await node(liarAnswer, liarAccount);
    for (const a of honestAccounts) await node((l) => expected(l.taskIndex), a);
    const warm = await submitJob(gw.url, requester, 60, { verification: TARGET });
    expect((await finished(warm)).status).toBe('completed');

    // Alone online, it turns: nobody can check it, and its job is final with its forged results.
    for (const n of nodes.splice(1)) n.ws.close();
    await pollJson(`${gw.url}/v1/nodes`, (b) => b.nodes.filter((n: any) => n.online).length === 1);
    lying = true;
    const alone = await submitJob(gw.url, requester, 5, { verification: TARGET });
    expect((await finished(alone)).status).toBe('completed');
    expect((await results(alone)).map((r) => text(r.stdout))).toEqual(Array(5).fill('forged'));

    // The gateway restarts; what rested on the liar alone is still remembered.
    liar.ws.close();
    nodes.splice(0);
    await gw.close();
    gw = await startGateway(testGatewayOptions({ dataDir: dir, logLevel: 'silent', trust: { spotCheck: 0, canary: 0, stragglers: false } }));
    await node(liarAnswer, liarAccount);
    for (const a of honestAccounts) await node((l) => expected(l.taskIndex), a);

    // Caught on its next job (by the audit that job waits for): the earlier job is revised.
    const next = await submitJob(gw.url, requester, 20, { verification: TARGET });
    await finished(next);
    const revised = await pollJson(`${gw.url}/v1/jobs/${alone}`, (j) => j.revisions?.revised === 5, 600, requester);
    expect(revised.revisions.tasks.every((t: any) => t.previousNode === liarAccount.address.toLowerCase())).toBe(true);
    expect((await results(alone)).map((r) => text(r.stdout))).toEqual(Array.from({ length: 5 }, (_, i) => expected(i)));
    expect((await results(next)).map((r) => text(r.stdout))).toEqual(Array.from({ length: 20 }, (_, i) => expected(i)));
  }, 120_000);
});
