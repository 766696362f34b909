import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { StatsView, type NodeView } from '@lode/protocol';
import { createStatsSampler, PAGE_CSP, webApi, type StatsSource } from './web.js';

function node(address: string, kind: NodeView['capabilities']['kind'], online: boolean, slots: number, running: number, done: number): NodeView {
  return {
    address,
    sessionId: online ? 's' : null,
    online,
    capabilities: { cores: slots, memoryMiB: 1024, os: 'x', arch: 'x', kind, slots, pricePerTask: '0', benchmark: 1, agent: 'a' },
    running,
    completed: done,
    failed: 0,
    connectedAt: online ? 1 : null,
    lastSeenAt: 1,
  };
}

const noStats: StatsSource = { nodes: () => [], queued: () => 0, activeJobs: () => 0, ledger: () => false };

describe('the web pages', () => {
  let dist: string;
  let app: FastifyInstance;

  beforeEach(async () => {
    dist = await mkdtemp(join(tmpdir(), 'lode-web-dist-'));
    await mkdir(join(dist, 'assets'));
    await writeFile(join(dist, 'index.html'), '<!doctype html><title>dashboard</title>');
    await writeFile(join(dist, 'contribute.html'), '<!doctype html><title>contribute</title>');
    await writeFile(join(dist, 'assets', 'index-abc123.js'), 'console.log(1)');
    await writeFile(join(dist, 'assets', 'index-abc123.css'), 'body{}');
    await writeFile(join(dist, 'favicon.svg'), '<svg/>');
    await writeFile(join(dist, 'secret.txt'), 'not served');
    app = Fastify();
    await app.register(webApi, { distDir: dist, stats: noStats });
  });
  afterEach(async () => {
    await app.close();
    await rm(dist, { recursive: true, force: true });
  });

  it('serves the dashboard at / and the contributor page at /contribute, revalidated, with a CSP', async () => {
    for (const [url, title] of [
      ['/', 'dashboard'],
      ['/contribute', 'contribute'],
    ] as const) {
      const res = await app.inject({ url });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(res.headers['cache-control']).toBe('no-cache');
      expect(res.headers['content-security-policy']).toBe(PAGE_CSP);
      expect(res.body).toContain(title);
      const again = await app.inject({ url, headers: { 'if-none-match': res.headers.etag as string } });
      expect(again.statusCode).toBe(304);
    }
  });

  it('serves hashed assets as immutable, with their content types', async () => {
    const js = await app.inject({ url: '/assets/index-abc123.js' });
    expect(js.statusCode).toBe(200);
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect((await app.inject({ url: '/assets/index-abc123.css' })).headers['content-type']).toBe('text/css; charset=utf-8');
    expect((await app.inject({ url: '/favicon.svg' })).headers['content-type']).toBe('image/svg+xml');
  });

  it('serves nothing else of the disk', async () => {
    for (const url of ['/assets/..%2Fsecret.txt', '/assets/%2e%2e%2fsecret.txt', '/secret.txt', '/assets/nope.js', '/assets/.hidden']) {
      expect((await app.inject({ url })).statusCode, url).toBe(404);
    }
  });

  it('says how to build the pages when the build is missing, and the API still answers', async () => {
    const bare = Fastify();
    await bare.register(webApi, { distDir: join(dist, 'missing'), stats: noStats });
    const res = await bare.inject({ url: '/' });
    expect(res.statusCode).toBe(503);
    expect(res.body).toContain('npm run build');
    expect((await bare.inject({ url: '/v1/stats' })).statusCode).toBe(200);
    await bare.close();
  });
});

describe('GET /v1/stats', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('counts online nodes by kind, capacity and busy slots, and tasks per second between samples', () => {
    let now = 0;
    let done = 10;
    const source: StatsSource = {
      nodes: () => [node('0xa', 'server', true, 4, 6, done), node('0xb', 'browser', true, 2, 1, 0), node('0xc', 'laptop', false, 8, 0, 5)],
      queued: () => 7,
      activeJobs: () => 1,
    };
    const sampler = createStatsSampler(source, () => now, 1000, 3);
    now = 1000;
    done = 30; // 20 tasks in one second
    vi.advanceTimersByTime(1000);
    const s = sampler.current();
    expect(s.nodes).toEqual({ online: 2, known: 3, byKind: { server: 1, laptop: 0, board: 0, browser: 1, unknown: 0 }, slots: 6, busy: 5 });
    expect(s.tasks).toEqual({ queued: 7, running: 7, finished: 35, perSecond: 20 });
    expect(s.history.map((h) => h.tasksPerSecond)).toEqual([0, 20]);
    for (let i = 0; i < 5; i++) {
      now += 1000;
      vi.advanceTimersByTime(1000);
    }
    expect(sampler.current().history).toHaveLength(3);
    sampler.stop();
  });

  it('says whether the ledger is on, asking the gateway itself when not told', async () => {
    const app = Fastify();
    app.get('/v1/ledger', async (_req, reply) => reply.status(404).send({ error: { code: 'LEDGER_DISABLED' } }));
    await app.register(webApi, { distDir: '/nonexistent', stats: { nodes: () => [], queued: () => 0, activeJobs: () => 0 } });
    const body = StatsView.parse((await app.inject({ url: '/v1/stats' })).json()); // the protocol's schema is what is served
    expect(body.ledger).toEqual({ enabled: false });
    await app.close();
  });
});
