import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { WebSocketServer } from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HelloRefusedError, PROTOCOL_VERSION } from '@lode/protocol';
import { detectCapabilities } from './capabilities.js';
import { createConnection, type GatewayConnection, type GatewayPins } from '@lode/provider';
import { gatewayPins } from './gatewayPins.js';
import { pinoLog } from './log.js';
import { wsSocketFactory } from './socket.js';
import { startFakeGateway, waitFor } from '../test/fakeGateway.js';

const log = pinoLog(pino({ level: 'silent' }));

describe('gateway connection', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function refusingGateway() {
    const server = createServer();
    const wss = new WebSocketServer({ server, path: '/v1/nodes/ws' });
    let connections = 0;
    wss.on('connection', (ws) => {
      connections++;
      ws.send(JSON.stringify({ t: 'challenge', challenge: `0x${'ab'.repeat(32)}`, protocol: PROTOCOL_VERSION, gateway: `0x${'cd'.repeat(20)}`, chainId: 0 }));
      ws.on('message', () => {
        ws.send(JSON.stringify({ t: 'error', code: 'HELLO_REFUSED', message: 'not today' }));
        ws.close(4004, 'bad signature');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(async () => {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
      await new Promise<void>((r) => server.close(() => r()));
    });
    return { url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/v1/nodes/ws`, connections: () => connections };
  }

  async function connect(url: string | string[], pins?: GatewayPins): Promise<GatewayConnection> {
    const conn = createConnection({
      url: [url].flat()[0]!,
      ...(Array.isArray(url) ? { urls: url } : {}),
      ...(pins ? { pins } : {}),
      account: privateKeyToAccount(generatePrivateKey()),
      capabilities: await detectCapabilities({ slots: 1, benchmark: false }),
      log,
      socket: wsSocketFactory({ handshakeTimeoutMs: 10_000 }),
      backoff: { initialMs: 10, maxMs: 40 },
    });
    cleanups.push(() => conn.stop());
    return conn;
  }

  it('reports a refused hello and keeps retrying with backoff until stopped', async () => {
    const gw = await refusingGateway();
    const conn = await connect(gw.url);
    const errors: Error[] = [];
    const delays: Array<number | null> = [];
    conn.on('error', (e) => errors.push(e));
    conn.on('disconnected', (d) => delays.push(d.retryInMs));
    conn.start();
    await waitFor(() => gw.connections() >= 3, 5000, 'retries');
    expect(errors[0]).toBeInstanceOf(HelloRefusedError);
    expect(conn.established).toBe(false);
    await conn.stop();
    const seen = gw.connections();
    await new Promise((r) => setTimeout(r, 100));
    expect(gw.connections()).toBe(seen);
    const retries = delays.filter((d): d is number => d !== null);
    expect(retries.length).toBeGreaterThanOrEqual(2);
    expect(retries.every((d) => d > 0 && d <= 40)).toBe(true);
  });

  it('given several gateways, moves to another each time a session cannot be established, and says which it tried', async () => {
    const [a, b] = [await refusingGateway(), await refusingGateway()];
    // A third address where nothing listens: tried in turn, like a dead gateway.
    const dead = await new Promise<string>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const port = (s.address() as AddressInfo).port;
        s.close(() => resolve(`ws://127.0.0.1:${port}/v1/nodes/ws`));
      });
    });
    const conn = await connect([a.url, dead, b.url]);
    const upNext: string[] = [];
    conn.on('disconnected', () => upNext.push(conn.url));
    conn.start();
    await waitFor(() => a.connections() >= 2 && b.connections() >= 2 && new Set(upNext).size === 3, 5000, 'both live gateways tried twice, and the dead one');
    const running = [...upNext]; // stop() says it is disconnected too, without moving on
    await conn.stop();
    expect(new Set(upNext)).toEqual(new Set([a.url, dead, b.url]));
    // Always another gateway than the one just tried (at random among the others).
    for (let i = 1; i < running.length; i++) expect(running[i]).not.toBe(running[i - 1]);
  });

  it('moves to another gateway of its list when its gateway asks, at once; never to one off its list', async () => {
    const [a, b, stranger] = [await startFakeGateway(), await startFakeGateway(), await startFakeGateway()];
    cleanups.push(
      () => a.close(),
      () => b.close(),
      () => stranger.close(),
    );
    const ws = (g: { url: string }) => `${g.url.replace('http', 'ws')}/v1/nodes/ws`;
    const conn = await connect([ws(a), ws(b)]);
    const closes: Array<{ code: number; retryInMs: number | null }> = [];
    conn.on('disconnected', (d) => closes.push(d));
    conn.start();
    await waitFor(() => conn.established, 5000, 'a session');
    const [here, there] = conn.url === ws(a) ? [a, b] : [b, a];
    const session = here.current();

    // Off its list: it stays (a gateway cannot lead its nodes to a stranger); to itself: it stays.
    here.send(session, { t: 'move', to: stranger.url });
    here.send(session, { t: 'move', to: here.url });
    await new Promise((r) => setTimeout(r, 200));
    expect(conn.established).toBe(true);
    expect(here.current()).toBe(session);
    expect(stranger.sessions).toHaveLength(0);

    // On its list: it closes this session and dials that gateway at once (no backoff).
    here.send(session, { t: 'move', to: `${there.url}/` });
    await waitFor(() => conn.established && conn.url === ws(there), 5000, 'a session on the other gateway');
    expect(closes).toEqual([expect.objectContaining({ code: 4010, retryInMs: 50 })]);
    await waitFor(() => session.closed, 5000, 'the old session closed');
    expect(there.current().hello).toBeDefined();
  });

  it('signs no hello for a gateway other than the one it pinned for this URL (a relay), and says what to do', async () => {
    const server = createServer();
    const wss = new WebSocketServer({ server, path: '/v1/nodes/ws' });
    const hellos: string[] = [];
    wss.on('connection', (ws) => {
      // A relay forwards another gateway's challenge, naming that gateway.
      ws.send(JSON.stringify({ t: 'challenge', challenge: `0x${'ab'.repeat(32)}`, protocol: PROTOCOL_VERSION, gateway: `0x${'ee'.repeat(20)}`, chainId: 7 }));
      ws.on('message', (d) => hellos.push(d.toString()));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(async () => {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
      await new Promise<void>((r) => server.close(() => r()));
    });
    const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/v1/nodes/ws`;
    const conn = await connect(url, gatewayPins(undefined, `0x${'cd'.repeat(20)}`));
    const errors: Error[] = [];
    conn.on('error', (e) => errors.push(e));
    conn.start();
    await waitFor(() => errors.length > 0, 5000, 'the refusal');
    expect(errors[0]).toBeInstanceOf(HelloRefusedError);
    expect(errors[0]!.message).toMatch(/says it is 0xeeee.*expects 0xcdcd.*did not sign/);
    await conn.stop();
    expect(hellos).toEqual([]);
  });

  it('pins the gateway that welcomed it first, in its data directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lode-pins-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const pins = gatewayPins(dir);
    pins.remember('gw.example:7070', `0x${'cd'.repeat(20)}`);
    expect(() => gatewayPins(dir).check('gw.example:7070', `0x${'CD'.repeat(20)}`)).not.toThrow();
    expect(() => gatewayPins(dir).check('gw.example:7070', `0x${'ee'.repeat(20)}`)).toThrow(HelloRefusedError);
    expect(() => gatewayPins(dir).check('other.example:7070', `0x${'ee'.repeat(20)}`)).not.toThrow(); // first use there
    pins.remember('gw.example:7070', `0x${'ee'.repeat(20)}`); // never replaced silently
    expect(JSON.parse(readFileSync(join(dir, 'gateways.json'), 'utf8'))).toEqual({ 'gw.example:7070': `0x${'cd'.repeat(20)}` });
  });

  it('retries while the gateway is unreachable', async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    await new Promise<void>((r) => server.close(() => r()));
    const conn = await connect(`ws://127.0.0.1:${port}/v1/nodes/ws`);
    let disconnects = 0;
    conn.on('disconnected', () => disconnects++);
    conn.start();
    await waitFor(() => disconnects >= 3, 5000, 'failed attempts');
    expect(conn.send({ t: 'heartbeat', running: 0 })).toBe(false);
  });
});
