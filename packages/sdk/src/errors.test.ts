import * as protocol from '@lode/protocol';
import {
  GatewayUnavailableError,
  InsufficientEscrowError,
  InternalError,
  InvalidRequestError,
  JobStateError,
  LodeError,
  MissingBlobError,
  NotFoundError,
  SandboxError,
} from '@lode/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeGateway, json, type FakeGateway } from '../test/fakeGateway.js';
import { createLodeClient, gatewayOrigin } from './client.js';
import { getJob } from './actions/getJob.js';
import { health } from './actions/health.js';
import { GatewayError, errorFromResponse } from './errors.js';

describe('error mapping', () => {
  it('rebuilds the protocol class for each known code', () => {
    const url = 'http://gw/v1/jobs/x';
    const cases = [
      [{ code: 'INVALID_REQUEST', message: 'bad' }, InvalidRequestError],
      [{ code: 'NOT_FOUND', message: 'No job', meta: { what: 'job', id: 'x' } }, NotFoundError],
      [{ code: 'MISSING_BLOB', message: 'gone', meta: { sha256: 'ab' } }, MissingBlobError],
      [{ code: 'JOB_STATE', message: 'finished' }, JobStateError],
      [{ code: 'INTERNAL', message: 'oops' }, InternalError],
      [{ code: 'SANDBOX_TIMEOUT', message: 'slow' }, SandboxError],
      [{ code: 'INSUFFICIENT_ESCROW', message: 'deposit more' }, InsufficientEscrowError],
    ] as const;
    for (const [body, cls] of cases) {
      const err = errorFromResponse(400, { error: body }, url);
      expect(err).toBeInstanceOf(cls);
      expect(err.code).toBe(body.code);
    }
  });

  it('maps every error code the protocol defines to its own class (a new code without an SDK entry fails here)', () => {
    const classes = Object.values(protocol).filter(
      (v): v is new (...args: string[]) => LodeError => typeof v === 'function' && v.prototype instanceof LodeError,
    );
    const codes = new Map<string, new (...args: string[]) => LodeError>();
    for (const cls of classes) {
      if (cls === (SandboxError as unknown) || cls === (protocol.DeviceCredentialRefusedError as unknown)) continue; // one class for many codes, checked below
      codes.set(new cls('x', 'y').code, cls);
    }
    expect(codes.size).toBeGreaterThan(25);
    const unmapped: string[] = [];
    for (const [code, cls] of codes) {
      const err = errorFromResponse(400, { error: { code, message: 'm', meta: { what: 'job', id: 'x', sha256: 'ab' } } }, 'http://gw/');
      if (!(err instanceof cls) || err.code !== code) unmapped.push(code);
    }
    for (const code of Object.values(protocol.SandboxErrorCode)) {
      const err = errorFromResponse(400, { error: { code, message: 'm' } }, 'http://gw/');
      if (!(err instanceof SandboxError) || err.code !== code) unmapped.push(code);
    }
    for (const code of protocol.DEVICE_CREDENTIAL_CODES) {
      const err = errorFromResponse(400, { error: { code, message: 'm' } }, 'http://gw/');
      if (!(err instanceof protocol.DeviceCredentialRefusedError) || err.code !== code) unmapped.push(code);
    }
    expect(unmapped).toEqual([]);
  });

  it('keeps the server message and meta of generic errors', () => {
    const err = errorFromResponse(409, { error: { code: 'JOB_STATE', message: 'Job is finished.', meta: { status: 'completed' } } }, 'http://gw/');
    expect(err.shortMessage).toBe('Job is finished.');
    expect(err.meta).toEqual({ status: 'completed' });
  });

  it('keeps an unknown code from a newer gateway', () => {
    const err = errorFromResponse(402, { error: { code: 'PAYMENT_PLAN_NEEDED', message: 'Top up.' } }, 'http://gw/');
    expect(err).toBeInstanceOf(GatewayError);
    expect(err.code).toBe('PAYMENT_PLAN_NEEDED');
    expect(err.httpStatus).toBe(402);
  });

  it('treats a 5xx without a Lode body as the gateway being unavailable', () => {
    const err = errorFromResponse(502, '<html>Bad Gateway</html>', 'http://gw/v1/jobs');
    expect(err).toBeInstanceOf(GatewayUnavailableError);
    expect(err.retryable).toBe(true);
  });
});

describe('transport failures', () => {
  let gw: FakeGateway | undefined;
  afterEach(() => gw?.close());

  it('says how to start a gateway when nothing listens', async () => {
    gw = await startFakeGateway({});
    const url = gw.url;
    await gw.close();
    gw = undefined;
    const err = await getJob(createLodeClient({ gateway: url, session: 'test-session' }), { id: 'x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GatewayUnavailableError);
    expect((err as Error).message).toMatch(/ECONNREFUSED/);
    expect((err as Error).message).toMatch(/lode up/);
  });

  it('times out a gateway that does not answer', async () => {
    gw = await startFakeGateway({ 'GET /healthz': () => {} });
    const err = await health(createLodeClient({ gateway: gw.url, timeoutMs: 50 })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GatewayUnavailableError);
    expect((err as Error).message).toMatch(/timed out/);
  });

  it('reports a 2xx body that does not match the API', async () => {
    gw = await startFakeGateway({ 'GET /v1/jobs/x': (_req, res) => json(res, 200, { id: 'x' }) });
    const err = await getJob(createLodeClient({ gateway: gw.url, session: 'test-session' }), { id: 'x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GatewayError);
    expect((err as GatewayError).code).toBe('UNEXPECTED_RESPONSE');
  });
});

describe('gatewayOrigin', () => {
  it('accepts http and node websocket URLs', () => {
    expect(gatewayOrigin('http://127.0.0.1:7070/')).toBe('http://127.0.0.1:7070');
    expect(gatewayOrigin('ws://10.0.0.2:7070/v1/nodes/ws')).toBe('http://10.0.0.2:7070');
    expect(gatewayOrigin('wss://gw.example')).toBe('https://gw.example');
    expect(() => gatewayOrigin('127.0.0.1:7070')).toThrow(/http:\/\//);
  });
});
