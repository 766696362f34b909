import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fromBase64, fromUtf8, resultDigest, SandboxErrorCode, sha256Hex, utf8 } from '@lode/protocol';
import { makeLease, startFakeGateway, waitFor, type FakeGateway } from '../test/fakeGateway.js';
import { FakeSandbox } from '../test/fakeSandbox.js';
import { startNode, type NodeHandle, type NodeOptions } from './main.js';

const log = pino({ level: 'silent' });
const MODULE = utf8('\0asm fake module bytes');

describe('node agent against a gateway', () => {
  let gw: FakeGateway;
  let dataDir: string;
  let sandbox: FakeSandbox;
  let node: NodeHandle | undefined;
  let moduleHash: string;

  beforeEach(async () => {
    gw = await startFakeGateway();
    dataDir = await mkdtemp(join(tmpdir(), 'lode-node-'));
    sandbox = new FakeSandbox(2);
    moduleHash = gw.putBlob(MODULE);
  });
  afterEach(async () => {
    await node?.stop();
    node = undefined;
    await gw.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  async function start(extra: Partial<NodeOptions> = {}): Promise<NodeHandle> {
    node = await startNode({
      gateway: gw.url,
      dataDir,
      account: privateKeyToAccount(generatePrivateKey()),
      sandbox,
      log,
      benchmark: false,
      backoff: { initialMs: 20, maxMs: 100 },
      ...extra,
    });
    await waitFor(() => node!.connected, 5000, 'welcome');
    return node;
  }

  it('signs its hello so that it recovers to the node address', async () => {
    const n = await start();
    const s = gw.current();
    expect(s.signer?.toLowerCase()).toBe(n.address.toLowerCase());
    expect(s.hello?.capabilities.slots).toBe(2); // sandbox.concurrency
  });

  it('runs leases and returns their results batched, with matching lease ids', async () => {
    await start();
    const s = gw.current();
    const input = gw.putBlob(utf8('file-content'));
    const leases = [
      makeLease(moduleHash, { input: { args: ['a'], stdin: Buffer.from('hi').toString('base64') } }),
      makeLease(moduleHash, { input: { args: ['b'], files: [{ path: '/in/x', blob: input }] } }),
      makeLease(moduleHash, { input: { args: ['c'], stdinBlob: input } }),
    ];
    gw.lease(s, leases);
    await waitFor(() => gw.results(s).length === 3, 5000, 'results');

    const results = gw.results(s);
    expect(results.map((r) => r.leaseId).sort()).toEqual(leases.map((l) => l.leaseId).sort());
    const frames = s.frames.filter((f) => f.t === 'results');
    expect(frames.length).toBeLessThan(3); // coalesced
    const byId = new Map(results.map((r) => [r.leaseId, r]));
    expect(fromUtf8(fromBase64(byId.get(leases[0]!.leaseId)!.stdout))).toBe('args=a;stdin=hi;files=');
    expect(fromUtf8(fromBase64(byId.get(leases[1]!.leaseId)!.stdout))).toBe('args=b;stdin=;files=/in/x=file-content');
    expect(fromUtf8(fromBase64(byId.get(leases[2]!.leaseId)!.stdout))).toBe('args=c;stdin=file-content;files=');
    for (const r of results) {
      expect(r.status).toBe('ok');
      const files = r.files.map((f) => ({ path: f.path, data: fromBase64(f.data) }));
      expect(r.resultHash).toBe(resultDigest({ exitCode: r.exitCode, stdout: fromBase64(r.stdout), stderr: fromBase64(r.stderr), files, deleted: r.deleted }));
    }
    expect(sandbox.addModuleCalls).toBe(1);
    // Each blob was fetched once and cached on disk.
    expect(gw.blobFetches.filter((h) => h === input)).toHaveLength(1);
    expect(await readdir(join(dataDir, 'blobs'))).toEqual(expect.arrayContaining([moduleHash, input]));
  });

  it('keeps every slot busy by splitting a deep queue over the free slots', async () => {
    await start({ slots: 2 });
    const s = gw.current();
    sandbox.modules.set(moduleHash, MODULE);
    gw.lease(
      s,
      Array.from({ length: 6 }, () => makeLease(moduleHash)),
    );
    await waitFor(() => gw.results(s).length === 6, 5000, 'results');
    expect(sandbox.batches.map((b) => b.length)).toEqual([3, 3]);
  });

  it('fails a task whose blob does not match its hash with SANDBOX_BLOB_UNAVAILABLE', async () => {
    await start();
    const s = gw.current();
    const claimed = sha256Hex('the real content');
    gw.putBlob(utf8('tampered content'), claimed);
    const bad = makeLease(moduleHash, { input: { files: [{ path: '/in/x', blob: claimed }] } });
    const missing = makeLease(moduleHash, { input: { stdinBlob: sha256Hex('never uploaded') } });
    const good = makeLease(moduleHash);
    gw.lease(s, [bad, missing, good]);
    await waitFor(() => gw.results(s).length === 3, 5000, 'results');
    const byId = new Map(gw.results(s).map((r) => [r.leaseId, r]));
    for (const l of [bad, missing]) {
      const r = byId.get(l.leaseId)!;
      expect(r.status).toBe('failed');
      expect(r.error?.code).toBe(SandboxErrorCode.BlobUnavailable);
      expect(r.exitCode).toBeNull();
    }
    expect(byId.get(bad.leaseId)!.error?.message).toMatch(/hash/);
    expect(byId.get(good.leaseId)!.status).toBe('ok');
    expect(await readdir(join(dataDir, 'blobs'))).not.toContain(claimed);
  });

  it('reconnects with backoff after the gateway closes the socket', async () => {
    const n = await start();
    const disconnects: Array<number | null> = [];
    n.on('disconnected', (d) => disconnects.push(d.retryInMs));
    const first = gw.current();
    first.ws.close(1011, 'restart');
    await waitFor(() => gw.sessions.filter((x) => x.hello).length === 2 && n.connected, 5000, 'reconnect');
    expect(gw.current()).not.toBe(first);
    expect(disconnects).toHaveLength(1);
    expect(disconnects[0]).toBeGreaterThan(0);
    expect(disconnects[0]).toBeLessThanOrEqual(100);
  });

  it('re-sends unacknowledged results after a reconnect and forgets them once acked', async () => {
    gw.setAutoAck(false);
    const n = await start();
    const first = gw.current();
    const lease = makeLease(moduleHash);
    gw.lease(first, [lease]);
    await waitFor(() => gw.results(first).length === 1, 5000, 'first result');
    gw.setAutoAck(true);
    first.ws.close(1011, 'restart');
    await waitFor(() => gw.sessions.filter((x) => x.hello).length === 2 && n.connected, 5000, 'reconnect');
    const second = gw.current();
    await waitFor(() => gw.results(second).length === 1, 5000, 're-sent result');
    expect(gw.results(second)[0]).toEqual(gw.results(first)[0]);
    // Acked now: a third session gets nothing re-sent.
    await new Promise((r) => setTimeout(r, 50));
    second.ws.close(1011, 'restart');
    await waitFor(() => gw.sessions.filter((x) => x.hello).length === 3 && n.connected, 5000, 'reconnect');
    await new Promise((r) => setTimeout(r, 50));
    expect(gw.results(gw.current())).toHaveLength(0);
  });

  it('drains: finishes held work, delivers results, then closes', async () => {
    const n = await start();
    const s = gw.current();
    sandbox.hold();
    const leases = [makeLease(moduleHash), makeLease(moduleHash), makeLease(moduleHash)];
    gw.lease(s, leases);
    await waitFor(() => sandbox.batches.length > 0, 5000, 'tasks running');
    const drained = n.drain();
    await waitFor(() => s.frames.some((f) => f.t === 'drain'), 5000, 'drain frame');
    expect(gw.results(s)).toHaveLength(0);
    sandbox.release();
    await drained;
    expect(
      gw
        .results(s)
        .map((r) => r.leaseId)
        .sort(),
    ).toEqual(leases.map((l) => l.leaseId).sort());
    await waitFor(() => s.closed, 2000, 'socket closed');
    expect(n.connected).toBe(false);
    expect(sandbox.closed).toBe(false); // injected sandbox stays the caller's
  });

  it('survives malformed frames and keeps working', async () => {
    const n = await start();
    const errors: Error[] = [];
    n.on('error', (e) => errors.push(e));
    const s = gw.current();
    gw.sendRaw(s, 'not json{');
    gw.sendRaw(s, JSON.stringify({ t: 'lease', leases: [{ leaseId: 1 }] }));
    gw.sendRaw(s, JSON.stringify({ t: 'bogus' }));
    s.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    gw.lease(s, [makeLease(moduleHash)]);
    await waitFor(() => gw.results(s).length === 1, 5000, 'result after bad frames');
    expect(errors.length).toBe(4);
    expect(n.connected).toBe(true);
    expect(gw.sessions.filter((x) => x.hello)).toHaveLength(1);
  });

  it('drops cancelled leases that have not started', async () => {
    await start({ slots: 1 });
    const s = gw.current();
    sandbox.modules.set(moduleHash, MODULE);
    sandbox.hold();
    const [a, b, c] = [makeLease(moduleHash), makeLease(moduleHash), makeLease(moduleHash)];
    gw.lease(s, [a!]);
    await waitFor(() => sandbox.batches.length === 1, 5000, 'first running');
    gw.lease(s, [b!, c!]);
    gw.send(s, { t: 'cancel', leaseIds: [b!.leaseId] });
    await new Promise((r) => setTimeout(r, 30));
    sandbox.release();
    await waitFor(() => gw.results(s).length === 2, 5000, 'results');
    expect(
      gw
        .results(s)
        .map((r) => r.leaseId)
        .sort(),
    ).toEqual([a!.leaseId, c!.leaseId].sort());
  });

  it('stops a running lease on cancel, sends no result for it, and still reports the rest of its group', async () => {
    await start({ slots: 1 });
    const s = gw.current();
    sandbox.modules.set(moduleHash, MODULE);
    sandbox.hold();
    const [a, b] = [makeLease(moduleHash), makeLease(moduleHash)];
    gw.lease(s, [a!, b!]);
    await waitFor(() => sandbox.batches.length === 1, 5000, 'group running');
    expect(sandbox.batches[0]).toHaveLength(2);
    gw.send(s, { t: 'cancel', leaseIds: [a!.leaseId] });
    await waitFor(() => sandbox.cancelled.size === 1, 5000, 'sandbox.cancel');
    expect(sandbox.cancelled.has(sandbox.batches[0]![0]!)).toBe(true);
    sandbox.release();
    await waitFor(() => gw.results(s).length === 1, 5000, 'result of the other lease');
    expect(gw.results(s)[0]!.leaseId).toBe(b!.leaseId);
    const c = makeLease(moduleHash);
    gw.lease(s, [c]);
    await waitFor(() => gw.results(s).length === 2, 5000, 'result of a later lease');
    expect(gw.results(s).map((r) => r.leaseId)).toEqual([b!.leaseId, c.leaseId]);
  });

  it('sends heartbeats with the running count', async () => {
    await gw.close();
    gw = await startFakeGateway({ heartbeatMs: 20 });
    moduleHash = gw.putBlob(MODULE);
    await start();
    const s = gw.current();
    sandbox.hold();
    gw.lease(s, [makeLease(moduleHash)]);
    await waitFor(() => s.frames.some((f) => f.t === 'heartbeat' && f.running === 1), 5000, 'heartbeat');
    sandbox.release();
  });
});
