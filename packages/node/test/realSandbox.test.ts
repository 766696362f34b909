/**
 * Integration: the agent with the real @lode/sandbox worker pool, running a WASI module
 * assembled from WAT, against the in-test gateway.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromBase64, fromUtf8, resultDigest, SandboxErrorCode } from '@lode/protocol';
import { createNodeSandbox } from '@lode/sandbox';
import { loadOrCreateAccount } from '@lode/keystore';
import { startNode } from '../src/main.js';
import { makeLease, startFakeGateway, waitFor, type FakeGateway } from './fakeGateway.js';

// Writes "hello from wasm\n" to stdout, then exits 0 by returning from _start.
const HELLO_WAT = `(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1 1)
  (data (i32.const 16) "hello from wasm\\n")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 16))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))`;

// Never ends: only its wall-time limit or a cancel stops it.
const LOOP_WAT = `(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1 1)
  (func (export "_start") (loop $forever (br $forever))))`;

describe('node agent with the real sandbox', () => {
  let gw: FakeGateway;
  let dataDir: string;
  let moduleHash: string;
  let loopHash: string;

  beforeAll(async () => {
    const wabt = await (await import('wabt')).default();
    const assemble = (name: string, source: string): Uint8Array => {
      const parsed = wabt.parseWat(name, source);
      try {
        return new Uint8Array(parsed.toBinary({}).buffer);
      } finally {
        parsed.destroy();
      }
    };
    gw = await startFakeGateway();
    moduleHash = gw.putBlob(assemble('hello.wat', HELLO_WAT));
    loopHash = gw.putBlob(assemble('loop.wat', LOOP_WAT));
    dataDir = await mkdtemp(join(tmpdir(), 'lode-node-real-'));
  });
  afterAll(async () => {
    await gw?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  /** A node on a one-worker sandbox of its own, connected to the gateway. */
  async function startWithOneWorker() {
    const sandbox = createNodeSandbox({ workers: 1 });
    const node = await startNode({
      gateway: gw.url,
      dataDir,
      account: privateKeyToAccount(generatePrivateKey()),
      sandbox,
      log: pino({ level: 'silent' }),
      benchmark: false,
    });
    try {
      await waitFor(() => node.connected, 10_000, 'welcome');
    } catch (err) {
      await node.stop();
      await sandbox.close();
      throw err;
    }
    return { sandbox, node };
  }

  it('runs a WASI module leased by the gateway and returns its verified output', async () => {
    const { sandbox, node } = await startWithOneWorker();
    try {
      const s = gw.current();
      const leases = [makeLease(moduleHash), makeLease(moduleHash)];
      gw.lease(s, leases);
      await waitFor(() => gw.results(s).length === 2, 30_000, 'results');
      for (const r of gw.results(s)) {
        expect(r.status).toBe('ok');
        expect(r.exitCode).toBe(0);
        expect(fromUtf8(fromBase64(r.stdout))).toBe('hello from wasm\n');
        const files = r.files.map((f) => ({ path: f.path, data: fromBase64(f.data) }));
        expect(r.resultHash).toBe(
          resultDigest({ exitCode: r.exitCode, stdout: fromBase64(r.stdout), stderr: fromBase64(r.stderr), files, deleted: r.deleted }),
        );
      }
      await node.drain();
    } finally {
      await node.stop();
      await sandbox.close();
    }
  });

  it('stops a running endless task when its lease is cancelled, and takes the next lease at once', { timeout: 20_000 }, async () => {
    const { sandbox, node } = await startWithOneWorker();
    try {
      const s = gw.current();
      // Ten minutes of wall time: without cancelling, the only slot stays busy far past the test's timeout.
      const loop = makeLease(loopHash, { limits: { memoryMiB: 16, wallMs: 600_000, maxOutputBytes: 1024, fuel: Number.MAX_SAFE_INTEGER } });
      gw.lease(s, [loop]);
      await waitFor(() => gw.blobFetches.includes(loopHash), 10_000, 'loop module fetched');
      await new Promise((r) => setTimeout(r, 200)); // let the worker start it
      gw.send(s, { t: 'cancel', leaseIds: [loop.leaseId] });
      const next = makeLease(moduleHash);
      gw.lease(s, [next]);
      await waitFor(() => gw.results(s).length === 1, 10_000, 'result of the next lease');
      const [r] = gw.results(s);
      expect(r!.leaseId).toBe(next.leaseId);
      expect(r!.status).toBe('ok');
      expect(fromUtf8(fromBase64(r!.stdout))).toBe('hello from wasm\n');
      await node.drain();
      expect(gw.results(s).map((x) => x.leaseId)).toEqual([next.leaseId]); // nothing for the cancelled lease
    } finally {
      await node.stop();
      await sandbox.close();
    }
  });

  it('creates its own sandbox and account when given none, and fails a module that is not WASM', async () => {
    const notWasm = gw.putBlob(new TextEncoder().encode('definitely not wasm'));
    const node = await startNode({ gateway: gw.url, dataDir, slots: 1, log: pino({ level: 'silent' }), benchmark: false });
    try {
      await waitFor(() => node.connected, 10_000, 'welcome');
      expect(gw.current().signer?.toLowerCase()).toBe(node.address.toLowerCase());
      const s = gw.current();
      const good = makeLease(moduleHash);
      const bad = makeLease(notWasm);
      gw.lease(s, [good, bad]);
      await waitFor(() => gw.results(s).length === 2, 30_000, 'results');
      const byId = new Map(gw.results(s).map((r) => [r.leaseId, r]));
      expect(byId.get(good.leaseId)!.status).toBe('ok');
      expect(byId.get(bad.leaseId)!.status).toBe('failed');
      expect(byId.get(bad.leaseId)!.error?.code).toBe(SandboxErrorCode.InvalidModule);
    } finally {
      await node.stop();
    }
    await expect(loadOrCreateAccount(dataDir, { create: false })).resolves.toMatchObject({ address: node.address });
  });
});
