/**
 * The browser agent (Contributor → connection → agent → Worker sandbox) against a real gateway
 * in this process, on a real socket (`ws` stands in for the browser's WebSocket, an in-thread
 * worker for the Web Worker — both run the same code paths as on the page). The browser itself
 * is covered by test/e2e/browser.test.ts.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { startGateway, testGatewayOptions, type GatewayHandle } from '@lode/gateway';
import { createNodeSandbox } from '@lode/sandbox';
import { taskSeed, type NodeView } from '@lode/protocol';
import { createLodeClient, getResults, listNodes, putBlob, submitJob, watchJob, type LodeClient } from '@lode/sdk';
import { primesTasks, readWorkload, reference } from '@lode/workloads';
import { Contributor, type ContributorState } from '../src/agent/contributor.js';
import { createWorkerSandbox } from '../src/agent/sandbox.js';
import type { KeyValueStore } from '@lode/keystore/browser';
import type { SocketLike } from '@lode/provider';
import { inlineWorker } from './inlineWorker.js';

let gateway: GatewayHandle;
let dir: string;
let requester: LodeClient;
const contributors: Contributor[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lode-web-agent-'));
  gateway = await startGateway(testGatewayOptions({ dataDir: dir, logLevel: 'silent' }));
  requester = createLodeClient({ gateway: gateway.url, account: privateKeyToAccount(generatePrivateKey()) });
});
afterEach(async () => {
  for (const c of contributors.splice(0)) await c.dispose();
});
afterAll(async () => {
  await gateway?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function memoryStore(): KeyValueStore {
  const m = new Map<string, unknown>();
  return { get: async (k) => m.get(k), set: async (k, v) => void m.set(k, v) };
}

function contributor(overrides: { slots?: number; keys?: KeyValueStore } = {}): Contributor {
  const c = new Contributor({
    gateway: gateway.url,
    slots: overrides.slots ?? 2,
    pauseWhenHidden: false,
    createSandbox: (workers) => createWorkerSandbox({ workers, spawn: () => inlineWorker() }),
    keys: overrides.keys ?? memoryStore(),
    socket: (url) => new WebSocket(url) as unknown as SocketLike,
    nav: { hardwareConcurrency: 4, userAgent: 'Mozilla/5.0 Chrome/140.0.0.0', platform: 'Linux x86_64' },
    benchmark: 1000,
    logLevel: 'warn',
    publishMs: 5,
  });
  contributors.push(c);
  return c;
}

async function until<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function nodeOf(address: string): Promise<NodeView | undefined> {
  return (await listNodes(requester)).find((n) => n.address === address.toLowerCase());
}

function contributing(c: Contributor): Promise<ContributorState> {
  return until('contributing', () => (c.state.status === 'contributing' ? c.state : undefined));
}

describe('the browser agent on a real gateway', () => {
  it("joins as a browser node and runs a primes job; every result equals the Node sandbox's, byte for byte", async () => {
    const c = contributor({ slots: 2 });
    await c.start();
    const { address } = await contributing(c);
    const node = await until('node listed', () => nodeOf(address!));
    expect(node.online).toBe(true);
    expect(node.capabilities).toMatchObject({ kind: 'browser', slots: 2, cores: 4, arch: 'wasm32', benchmark: 1000 });
    expect(node.capabilities.agent).toMatch(/^lode-web\/0\.1\.0 Chrome\/140$/);

    const wasm = readWorkload('primes');
    const { sha256 } = await putBlob(requester, { data: wasm });
    const ranges = primesTasks({ lo: 0, hi: 60_000, tasks: 6 });
    const job = await submitJob(requester, { module: sha256, tasks: ranges.map((r) => ({ args: r.args })), limits: { wallMs: 20_000, maxOutputBytes: 4096 } });
    const done = await watchJob(requester, { id: job.id });
    expect(done.status).toBe('completed');
    expect(done.counts.done).toBe(6);
    const results = (await getResults(requester, { id: job.id })).sort((a, b) => a.index - b.index);
    const total = results.reduce((n, r) => n + (JSON.parse(new TextDecoder().decode(r.stdout)) as { count: number }).count, 0);
    expect(total).toBe(reference.primesCount(0, 60_000));
    for (const r of results) expect(r.node).toBe(address!.toLowerCase());
    expect(c.state.tasksDone).toBe(6);

    // The same tasks in `lode node`'s own sandbox give the same result hashes.
    const nodeSandbox = createNodeSandbox({ workers: 1 });
    try {
      await nodeSandbox.addModule(sha256, wasm);
      for (const r of results) {
        const native = await nodeSandbox.run({
          moduleHash: sha256,
          args: ranges[r.index]!.args,
          env: {},
          stdin: new Uint8Array(),
          files: [],
          mounts: [],
          seed: taskSeed(job.id, r.index),
          limits: { memoryMiB: 256, wallMs: 20_000, maxOutputBytes: 4096 },
        });
        expect(r.resultHash, `task ${r.index}`).toBe(native.resultHash);
        if ('fuelUsed' in r) expect((r as { fuelUsed?: number | null }).fuelUsed, `fuel of task ${r.index}`).toBe(native.fuelUsed);
      }
    } finally {
      await nodeSandbox.close();
    }
  });

  it('pauses (the session closes, the node goes offline) and resumes with a new session', async () => {
    const c = contributor();
    await c.start();
    const first = await contributing(c);
    c.setPaused(true);
    expect(c.state.status).toBe('paused');
    expect(c.state.pausedBy).toEqual(['you']);
    await until('offline', async () => (await nodeOf(first.address!))?.online === false);
    c.setPaused(false);
    const again = await contributing(c);
    expect(again.sessionId).toBeDefined();
    expect(again.sessionId).not.toBe(first.sessionId);
    await until('online', async () => (await nodeOf(first.address!))?.online === true);
  });

  it('announces a new number of cores by reconnecting with a new signed hello', async () => {
    const c = contributor({ slots: 1 });
    await c.start();
    const { address } = await contributing(c);
    await until('1 slot', async () => (await nodeOf(address!))?.capabilities.slots === 1);
    await c.setSlots(3);
    await contributing(c);
    await until('3 slots', async () => {
      const n = await nodeOf(address!);
      return n?.online && n.capabilities.slots === 3;
    });
    expect(c.state.slots).toBe(3);
  });

  it('keeps one account per browser profile: a second start uses the stored key', async () => {
    const keys = memoryStore();
    const a = contributor({ keys });
    const first = await a.key();
    const b = contributor({ keys });
    await b.init();
    expect(b.state.address).toBe(first.account.address);
  });
});

describe('the browser agent on a gateway with a ledger', () => {
  let paid: GatewayHandle;
  let paidDir: string;
  beforeAll(async () => {
    paidDir = await mkdtemp(join(tmpdir(), 'lode-web-ledger-'));
    paid = await startGateway(testGatewayOptions({ dataDir: paidDir, logLevel: 'silent', ledger: 'embedded' }));
  }, 120_000);
  afterAll(async () => {
    await paid?.close();
    if (paidDir) await rm(paidDir, { recursive: true, force: true });
  });

  it('is refused for want of stake, stakes the minimum from its own key (faucet funds), and is then admitted', async () => {
    const c = new Contributor({
      gateway: paid.url,
      slots: 1,
      pauseWhenHidden: false,
      createSandbox: (workers) => createWorkerSandbox({ workers, spawn: () => inlineWorker() }),
      keys: memoryStore(),
      socket: (url) => new WebSocket(url) as unknown as SocketLike,
      nav: { hardwareConcurrency: 2 },
      benchmark: 1000,
      logLevel: 'warn',
      publishMs: 5,
    });
    contributors.push(c);
    await c.start();
    const refused = await until('needs-stake', () => (c.state.status === 'needs-stake' && c.state.ledger.minStake ? c.state : undefined), 30_000);
    expect(refused.ledger).toMatchObject({ enabled: true, stakeRequired: true, faucet: true, eligible: false, staked: '0' });
    expect(BigInt(refused.ledger.minStake!)).toBeGreaterThan(0n);

    await c.stake();
    const admitted = await contributing(c);
    expect(admitted.ledger).toMatchObject({ stakeRequired: false, eligible: true, staked: refused.ledger.minStake });
    expect(admitted.ledger.earnings).toEqual({ net: '0', claimed: '0', tasks: 0, claimable: '0' });
    const node = (await listNodes(createLodeClient({ gateway: paid.url }))).find((n) => n.address === admitted.address!.toLowerCase());
    expect(node?.online).toBe(true);
  }, 120_000);
});
