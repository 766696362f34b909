/**
 * The web pages: the dashboard at `/` and the contributor page at `/contribute`, served from
 * the Vite build of `@lode/web` (`packages/web/dist`), and `GET /v1/stats`, the small JSON
 * summary of the network the dashboard charts (sampled here, so a freshly opened page has
 * ten minutes of history at once).
 *
 * Guarantees:
 * - Only files of the build are served: `/`, `/contribute`, and names under `/assets/` that
 *   are a single path segment of safe characters; nothing else of the disk is reachable.
 * - Hashed assets (`/assets/*`, Vite names them by content) are `immutable` for a year; pages
 *   are `no-cache` (revalidated with an ETag), so a rebuilt dashboard shows at the next load.
 * - Without a build, `/` and `/contribute` answer 503 with how to build it (`npm run build`);
 *   the API works either way.
 * - Pages carry a Content-Security-Policy: scripts only from this gateway (plus
 *   `wasm-unsafe-eval`, which the contributor page needs to compile task modules).
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, extname, join, resolve, sep } from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { DeviceKind, type NodeView, type StatsSample, type StatsView } from '@lode/protocol';

/** What the stats sampler reads from the gateway. */
export interface StatsSource {
  /** Every node known (online or not), as `GET /v1/nodes` answers. */
  nodes(): NodeView[];
  /** Tasks waiting for a node. */
  queued(): number;
  /** Jobs not yet finished. */
  activeJobs(): number;
  /**
   * Whether payments settle on a ledger. Absent: asked of the app itself once
   * (`GET /v1/ledger` answers 200, or 404 LEDGER_DISABLED), so pages can tell without a 404.
   */
  ledger?(): boolean;
}

export interface WebApiOptions {
  stats: StatsSource;
  /** The Vite build to serve. @default the `dist` folder of the `@lode/web` package */
  distDir?: string;
  /** @default Date.now */
  now?: () => number;
  /** Sampling period of `/v1/stats` history. @default 2000 */
  sampleMs?: number;
  /** Samples kept (history length = sampleMs × samples). @default 300 (10 minutes) */
  samples?: number;
}

const KINDS = DeviceKind.options;
/** `GET /v1/stats` (its schema is the protocol's `StatsView`). */
export type NetworkStats = StatsView;
export type { StatsSample };

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.wasm': 'application/wasm',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/** Pages: the dashboard and the contributor page (both from the same build). */
const PAGES: Record<string, string> = { '/': 'index.html', '/contribute': 'contribute.html' };
/** Files at the top of the build that may be fetched by name. */
const TOP_FILES = new Set(['favicon.svg']);
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$/;

export const PAGE_CSP = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "worker-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data: blob:",
  "style-src 'self' 'unsafe-inline'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** The `dist` folder of `@lode/web`, or undefined when the package cannot be found. */
export function defaultWebDist(): string | undefined {
  try {
    const pkg = createRequire(import.meta.url).resolve('@lode/web/package.json');
    return join(dirname(pkg), 'dist');
  } catch {
    return undefined;
  }
}

/**
 * Registers `/`, `/contribute`, `/assets/*`, `/favicon.svg` and `GET /v1/stats`, and starts the
 * stats sampler (stopped when the app closes).
 */
/** The dashboard, the contributor page and `/v1/stats`, as a Fastify plugin. */
export async function webApi(app: FastifyInstance, options: WebApiOptions): Promise<void> {
  const dist = options.distDir ? resolve(options.distDir) : defaultWebDist();
  const now = options.now ?? Date.now;
  const sampler = createStatsSampler(options.stats, now, options.sampleMs ?? 2000, options.samples ?? 300);
  app.addHook('onClose', async () => sampler.stop());

  for (const [path, file] of Object.entries(PAGES)) {
    app.get(path, async (req, reply) => {
      if (!dist) return notBuilt(reply, '(the @lode/web package was not found)');
      const found = await readBuilt(dist, file);
      if (!found) return notBuilt(reply, `(${join(dist, file)} is missing)`);
      const etag = `"${found.etag}"`;
      reply
        .header('content-type', CONTENT_TYPES['.html']!)
        .header('cache-control', 'no-cache')
        .header('etag', etag)
        .header('content-security-policy', PAGE_CSP)
        .header('x-content-type-options', 'nosniff')
        .header('referrer-policy', 'no-referrer');
      if (req.headers['if-none-match'] === etag) return reply.status(304).send();
      return reply.send(found.bytes);
    });
  }

  const serveFile = async (reply: FastifyReply, rel: string, immutable: boolean) => {
    const found = dist ? await readBuilt(dist, rel) : undefined;
    if (!found) {
      return reply.status(404).send({ error: { code: 'NOT_FOUND', message: `No file /${rel} in the web build. Rebuild it: npm run build.` } });
    }
    return reply
      .header('content-type', CONTENT_TYPES[extname(rel)] ?? 'application/octet-stream')
      .header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
      .header('etag', `"${found.etag}"`)
      .header('x-content-type-options', 'nosniff')
      .send(found.bytes);
  };

  app.get<{ Params: { file: string } }>('/assets/:file', async (req, reply) => {
    const { file } = req.params;
    if (!SAFE_NAME.test(file)) return reply.status(404).send({ error: { code: 'NOT_FOUND', message: `No asset ${file}.` } });
    return serveFile(reply, `assets/${file}`, true);
  });
  for (const name of TOP_FILES) app.get(`/${name}`, async (_req, reply) => serveFile(reply, name, false));

  let ledgerEnabled: boolean | undefined = options.stats.ledger?.();
  const ledger = async (): Promise<boolean> => {
    if (ledgerEnabled !== undefined) return ledgerEnabled;
    const res = await app.inject({ method: 'GET', url: '/v1/ledger' });
    if (res.statusCode === 200) ledgerEnabled = true;
    else if (res.statusCode === 404) ledgerEnabled = false;
    return res.statusCode === 200; // anything else (the chain is busy): ask again next time
  };
  app.get('/v1/stats', async () => ({ ...sampler.current(), ledger: { enabled: await ledger() } }));
}

function notBuilt(reply: FastifyReply, why: string) {
  return reply
    .status(503)
    .header('content-type', 'text/plain; charset=utf-8')
    .header('cache-control', 'no-store')
    .send(
      `The Lode web pages are not built ${why}.\nRun npm run build (or: npm run build --workspace @lode/web), then reload.\nThe API works meanwhile: /v1/jobs, /v1/nodes, /v1/stats.\n`,
    );
}

/** A file of the build by its path relative to `dist`, or undefined. Never leaves `dist`. */
async function readBuilt(dist: string, rel: string): Promise<{ bytes: Buffer; etag: string } | undefined> {
  const path = resolve(dist, rel);
  if (!path.startsWith(dist + sep)) return undefined;
  try {
    const info = await stat(path);
    if (!info.isFile()) return undefined;
    const bytes = await readFile(path);
    return { bytes, etag: etagOf(path, info.size, info.mtimeMs, bytes) };
  } catch {
    return undefined;
  }
}

const etags = new Map<string, { key: string; etag: string }>();
function etagOf(path: string, size: number, mtimeMs: number, bytes: Buffer): string {
  const key = `${size}:${mtimeMs}`;
  const hit = etags.get(path);
  if (hit?.key === key) return hit.etag;
  const etag = createHash('sha256').update(bytes).digest('hex').slice(0, 32);
  etags.set(path, { key, etag });
  return etag;
}

/** Samples the network every `sampleMs` into a ring of `samples` points. */
export function createStatsSampler(source: StatsSource, now: () => number, sampleMs: number, samples: number) {
  const history: StatsSample[] = [];
  let last: { t: number; finished: number } | undefined;

  function snapshot() {
    const nodes = source.nodes();
    const byKind = Object.fromEntries(KINDS.map((k) => [k, 0])) as StatsView['nodes']['byKind'];
    let online = 0;
    let slots = 0;
    let busy = 0;
    let running = 0;
    let finished = 0;
    for (const n of nodes) {
      finished += n.completed + n.failed;
      if (!n.online) continue;
      online++;
      byKind[n.capabilities.kind] = (byKind[n.capabilities.kind] ?? 0) + 1;
      slots += n.capabilities.slots;
      busy += Math.min(n.running, n.capabilities.slots);
      running += n.running;
    }
    return { nodes, byKind, online, slots, busy, running, finished, queued: source.queued() };
  }

  function sample(): void {
    const t = now();
    const s = snapshot();
    const rate = last && t > last.t ? Math.max(0, ((s.finished - last.finished) * 1000) / (t - last.t)) : 0;
    last = { t, finished: s.finished };
    history.push({ t, online: s.online, slots: s.slots, busy: s.busy, queued: s.queued, tasksPerSecond: round(rate) });
    if (history.length > samples) history.splice(0, history.length - samples);
  }

  sample();
  const timer = setInterval(sample, sampleMs);
  timer.unref();

  return {
    current(): Omit<NetworkStats, 'ledger'> {
      const s = snapshot();
      return {
        now: now(),
        nodes: { online: s.online, known: s.nodes.length, byKind: s.byKind, slots: s.slots, busy: s.busy },
        tasks: { queued: s.queued, running: s.running, finished: s.finished, perSecond: history.at(-1)?.tasksPerSecond ?? 0 },
        jobs: { active: source.activeJobs() },
        sampleMs,
        history: [...history],
      };
    },
    stop(): void {
      clearInterval(timer);
    },
  };
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}
