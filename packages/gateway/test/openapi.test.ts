/**
 * GET /v1/openapi.json documents every route the gateway serves, with bodies generated from the
 * protocol's schemas: a route added without its entry in http/openapi.ts fails here.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobView, SignedJob } from '@lode/protocol';
import { startGateway, testGatewayOptions, type GatewayHandle } from '../src/index.js';

let gw: GatewayHandle;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lode-openapi-'));
  gw = await startGateway(testGatewayOptions({ dataDir: dir, ledger: 'embedded' }));
});
afterAll(async () => {
  await gw?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the OpenAPI document', () => {
  it('lists every API route the gateway serves, with its method', async () => {
    const doc = (await (await fetch(`${gw.url}/v1/openapi.json`)).json()) as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(doc.openapi).toBe('3.1.0');
    const api = gw.routes.filter((r) => r.path.startsWith('/v1/') || ['/rpc', '/healthz', '/metrics'].includes(r.path));
    expect(api.length).toBeGreaterThan(20);
    const missing = api.filter((r) => !doc.paths[r.path.replace(/:(\w+)/g, '{$1}')]?.[r.method.toLowerCase()]);
    expect(missing.filter((r) => r.path !== '/v1/nodes/ws')).toEqual([]); // the node WebSocket is the node protocol (docs/api.md)
  });

  it('describes bodies with the schemas the gateway validates with', async () => {
    const doc = (await (await fetch(`${gw.url}/v1/openapi.json`)).json()) as any;
    const submit = doc.paths['/v1/jobs'].post;
    expect(submit.security).toEqual([{ session: [] }]);
    const body = submit.requestBody.content['application/json'].schema;
    expect(Object.keys(body.properties).sort()).toEqual(Object.keys(SignedJob.shape).sort());
    const view = submit.responses['201'].content['application/json'].schema;
    expect(Object.keys(view.properties).sort()).toEqual(Object.keys(JobView.shape).sort());
    expect(doc.paths['/v1/jobs/{id}'].get.parameters).toEqual([{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }]);
  });
});
