/**
 * The gateway's HTTP API and node WebSocket, against a real gateway on a real socket, fed bad
 * input of every kind. Each case checks the error code and that the gateway keeps serving.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import {
  JobSpec,
  PROTOCOL_VERSION,
  capabilitiesHash,
  nodeHelloTypedData,
  originOf,
  sha256Hex,
  signJob as signJobFor,
  type Capabilities,
  type GatewayMessage,
} from '@lode/protocol';
import { startGateway, testGatewayOptions, type GatewayHandle } from '../src/index.js';

const realSetInterval = globalThis.setInterval;
const realClearInterval = globalThis.clearInterval;
import { fetchAs, identityOf } from './support/session.js';

const HELLO_WAT = `(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1 1)
  (data (i32.const 16) "hi\\n")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 16)) (i32.store (i32.const 4) (i32.const 3))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))`;

async function wat(src: string): Promise<Uint8Array> {
  const wabt = await (await import('wabt')).default();
  return new Uint8Array(wabt.parseWat('m.wat', src).toBinary({}).buffer);
}

let gw: GatewayHandle;
let dir: string;
const account = privateKeyToAccount(generatePrivateKey());

/** Signs a job for the gateway under test (its identity is the EIP-712 domain). */
const signJob = async (signer: typeof account, s: JobSpec) => signJobFor(signer, s, await identityOf(gw.url));

async function put(bytes: Uint8Array): Promise<string> {
  const sha = sha256Hex(bytes);
  const r = await fetchAs(account, `${gw.url}/v1/blobs/${sha}`, { method: 'PUT', body: bytes, headers: { 'content-type': 'application/octet-stream' } });
  expect(r.status).toBe(201);
  return sha;
}

function spec(module: string, over: Partial<JobSpec> = {}): JobSpec {
  return JobSpec.parse({
    version: 1,
    requester: account.address,
    module,
    tasks: [{ args: ['x'] }],
    deadline: Date.now() + 60_000,
    nonce: `0x${randomBytes(32).toString('hex')}`,
    ...over,
  });
}

async function postJob(body: unknown, raw = false) {
  const r = await fetchAs(account, `${gw.url}/v1/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: raw ? (body as string) : JSON.stringify(body),
  });
  return { status: r.status, body: (await r.json()) as any };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lode-api-'));
  gw = await startGateway(testGatewayOptions({ dataDir: dir }));
});
afterAll(async () => {
  await gw?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('HTTP API', () => {
  it('stores and serves blobs by content address, refusing bytes that do not match', async () => {
    const bytes = new TextEncoder().encode('hello blob');
    const sha = await put(bytes);
    const got = await fetch(`${gw.url}/v1/blobs/${sha}`);
    expect(new Uint8Array(await got.arrayBuffer())).toEqual(bytes);
    const bad = await fetchAs(account, `${gw.url}/v1/blobs/${'0'.repeat(64)}`, {
      method: 'PUT',
      body: bytes,
      headers: { 'content-type': 'application/octet-stream' },
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as any).error.code).toBe('BLOB_HASH_MISMATCH');
    const missing = await fetch(`${gw.url}/v1/blobs/${'1'.repeat(64)}`);
    expect(missing.status).toBe(404);
    const notSha = await fetch(`${gw.url}/v1/blobs/nope`);
    expect(notSha.status).toBe(400);
  });

  it('answers malformed JSON with 400 MALFORMED_JSON', async () => {
    const r = await postJob('{"spec": ', true);
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('MALFORMED_JSON');
  });

  it('answers a body that is not a signed JobSpec with 400 INVALID_REQUEST and the offending path', async () => {
    const r = await postJob({ spec: { version: 2 }, signature: '0x' });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('INVALID_REQUEST');
    expect(r.body.error.details).toMatch(/spec/);
  });

  it('refuses a forged signature with 401', async () => {
    const module = await put(await wat(HELLO_WAT));
    const signed = await signJob(account, spec(module));
    const other = privateKeyToAccount(generatePrivateKey());
    const forged = await signJob(other as typeof account, signed.spec);
    const r = await postJob(forged);
    expect(r.status).toBe(401);
    expect(r.body.error.code).toBe('INVALID_SIGNATURE');
    // a tampered spec under a valid signature fails too
    const tampered = { ...signed, spec: { ...signed.spec, tasks: [{ ...signed.spec.tasks[0], args: ['y'] }] } };
    expect((await postJob(tampered)).status).toBe(401);
  });

  it('refuses a job whose module is not on the gateway (422 MISSING_BLOB)', async () => {
    const r = await postJob(await signJob(account, spec('2'.repeat(64))));
    expect(r.status).toBe(422);
    expect(r.body.error.code).toBe('MISSING_BLOB');
  });

  it('refuses a module that is not WebAssembly (422 INVALID_MODULE)', async () => {
    const module = await put(new TextEncoder().encode('#!/bin/sh\necho not wasm\n'));
    const r = await postJob(await signJob(account, spec(module)));
    expect(r.status).toBe(422);
    expect(r.body.error.code).toBe('INVALID_MODULE');
  });

  it('accepts a valid job once; resubmitting the same signed job returns the same job', async () => {
    const module = await put(await wat(HELLO_WAT));
    const signed = await signJob(account, spec(module));
    const a = await postJob(signed);
    expect(a.status).toBe(201);
    expect(a.body.status).toBe('queued');
    const b = await postJob(signed);
    expect(b.status).toBe(200);
    expect(b.body.id).toBe(a.body.id);
    const list = (await (await fetchAs(account, `${gw.url}/v1/jobs`)).json()) as any;
    expect(list.jobs.filter((j: any) => j.id === a.body.id).length).toBe(1);
  });

  it('refuses an over-size module at submit and an over-size blob at upload (413 TOO_LARGE)', async () => {
    const dir2 = mkdtempSync(join(tmpdir(), 'lode-api-small-'));
    const small = await startGateway(testGatewayOptions({ dataDir: dir2, maxModuleBytes: 64, maxBlobBytes: 4096 }));
    try {
      const module = await wat(HELLO_WAT); // > 64 bytes, < 4096
      expect(module.byteLength).toBeGreaterThan(64);
      const sha = sha256Hex(module);
      const up = await fetchAs(account, `${small.url}/v1/blobs/${sha}`, {
        method: 'PUT',
        body: module,
        headers: { 'content-type': 'application/octet-stream' },
      });
      expect(up.status).toBe(201);
      const signed = await signJobFor(account, spec(sha), await identityOf(small.url));
      const r = await fetchAs(account, `${small.url}/v1/jobs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(signed),
      });
      expect(r.status).toBe(413);
      expect(((await r.json()) as any).error.code).toBe('TOO_LARGE');
      const big = new Uint8Array(5000);
      const b = await fetchAs(account, `${small.url}/v1/blobs`, { method: 'POST', body: big, headers: { 'content-type': 'application/octet-stream' } });
      expect(b.status).toBe(413);
      expect(((await b.json()) as any).error.code).toBe('TOO_LARGE');
    } finally {
      await small.close();
      rmSync(dir2, { recursive: true, force: true });
    }
  });

  it('answers unknown ids with 404 NOT_FOUND', async () => {
    for (const path of ['/v1/jobs/deadbeef', '/v1/jobs/deadbeef/results', '/v1/jobs/deadbeef/tasks', '/v1/jobs/deadbeef/events', '/v1/nope']) {
      const r = await fetchAs(account, gw.url + path);
      expect(r.status, path).toBe(404);
      expect(((await r.json()) as any).error.code).toBe('NOT_FOUND');
    }
  });

  it('refuses to start on a port in use with PORT_IN_USE, naming the way out, and leaves no timer behind', async () => {
    const dir3 = mkdtempSync(join(tmpdir(), 'lode-api-port-'));
    // Every interval the failed start set up (the scheduler's scan, the silent-node check, …) is cleared.
    const started = new Set<unknown>();
    const setSpy = vi.spyOn(globalThis, 'setInterval').mockImplementation(((fn: () => void, ms?: number) => {
      const handle = realSetInterval(fn, ms);
      started.add(handle);
      return handle;
    }) as typeof setInterval);
    const clearSpy = vi.spyOn(globalThis, 'clearInterval').mockImplementation(((handle: Parameters<typeof clearInterval>[0]) => {
      started.delete(handle);
      realClearInterval(handle);
    }) as typeof clearInterval);
    try {
      await expect(startGateway(testGatewayOptions({ dataDir: dir3, port: gw.port }))).rejects.toMatchObject({
        code: 'PORT_IN_USE',
        shortMessage: expect.stringMatching(/--port/),
      });
      expect(started.size).toBe(0);
    } finally {
      setSpy.mockRestore();
      clearSpy.mockRestore();
      rmSync(dir3, { recursive: true, force: true });
    }
  });

  it('serves health and Prometheus metrics', async () => {
    expect(((await (await fetch(`${gw.url}/healthz`)).json()) as any).ok).toBe(true);
    const m = await (await fetch(`${gw.url}/metrics`)).text();
    expect(m).toMatch(/lode_jobs_submitted_total \d+/);
  });
});

describe('node WebSocket', () => {
  const caps: Capabilities = { cores: 1, memoryMiB: 1024, os: 'linux', arch: 'x64', kind: 'server', slots: 1, pricePerTask: '0', benchmark: 1, agent: 'test' };

  function connect() {
    const ws = new WebSocket(gw.wsUrl);
    const inbox: GatewayMessage[] = [];
    const waiters: Array<() => void> = [];
    ws.on('message', (d) => {
      inbox.push(JSON.parse(d.toString()));
      for (const w of waiters.splice(0)) w();
    });
    const closed = new Promise<number>((r) => ws.on('close', (code) => r(code)));
    const next = async (t: string): Promise<any> => {
      for (;;) {
        const i = inbox.findIndex((m) => m.t === t);
        if (i >= 0) return inbox.splice(i, 1)[0];
        await new Promise<void>((r) => waiters.push(r));
      }
    };
    return { ws, next, closed };
  }

  async function hello(c: ReturnType<typeof connect>, signer = privateKeyToAccount(generatePrivateKey()), claimed?: string) {
    const { challenge, gateway, chainId } = await c.next('challenge');
    const expiresAt = Date.now() + 60_000;
    const node = (claimed ?? signer.address) as `0x${string}`;
    const origin = originOf(gw.wsUrl);
    const signature = await signer.signTypedData(
      nodeHelloTypedData({ node, challenge, capabilitiesHash: capabilitiesHash(caps), origin, expiresAt: BigInt(expiresAt) }, { gateway, chainId }),
    );
    c.ws.send(JSON.stringify({ t: 'hello', protocol: PROTOCOL_VERSION, node, capabilities: caps, origin, expiresAt, signature }));
  }

  it('welcomes a node whose hello is signed over this session’s challenge', async () => {
    const c = connect();
    await hello(c);
    expect((await c.next('welcome')).sessionId).toBeTruthy();
    c.ws.close();
  });

  it('refuses a hello signed by another key and closes the session', async () => {
    const c = connect();
    await hello(c, privateKeyToAccount(generatePrivateKey()), privateKeyToAccount(generatePrivateKey()).address);
    expect((await c.next('error')).code).toBe('HELLO_REFUSED');
    expect(await c.closed).toBe(4004);
  });

  it('answers malformed frames with errors and closes after three', async () => {
    const c = connect();
    await c.next('challenge');
    c.ws.send('{not json');
    expect((await c.next('error')).code).toBe('MALFORMED_JSON');
    c.ws.send(JSON.stringify({ t: 'results', results: [] }));
    expect((await c.next('error')).code).toBe('INVALID_REQUEST');
    c.ws.send(JSON.stringify({ t: 'heartbeat', running: 0 }));
    expect((await c.next('error')).code).toBe('PROTOCOL_VIOLATION');
    expect(await c.closed).toBe(4002);
    expect(((await (await fetch(`${gw.url}/healthz`)).json()) as any).ok).toBe(true);
  });

  it('refuses a result for a lease the session does not hold', async () => {
    const c = connect();
    await hello(c);
    await c.next('welcome');
    c.ws.send(
      JSON.stringify({
        t: 'results',
        results: [{ leaseId: 'nope.1', status: 'ok', exitCode: 0, stdout: '', stderr: '', files: [], deleted: [], resultHash: 'a'.repeat(64), durationMs: 1 }],
      }),
    );
    const err = await c.next('error');
    expect(err.code).toBe('UNKNOWN_LEASE');
    expect(err.leaseId).toBe('nope.1');
    c.ws.close();
  });
});
