/**
 * The gateway itself: who it is (`/v1/identity`: the domain every signature must be bound to),
 * its API (`/v1/openapi.json`), whether it is up (`/healthz`) and its metrics (`/metrics`,
 * Prometheus).
 */
import type { IdentityView } from '@lode/protocol';
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { openApiDocument } from './openapi.js';

export interface SystemApiDeps {
  identity: IdentityView;
  health(): { nodes: number; activeJobs: number; queued: number; cluster?: { incarnation: string; settler: boolean } };
  /** Why this gateway is not ready (its database is unreachable…): `/healthz` then answers 503 with it. */
  problem?(): string | undefined;
  metrics: Registry;
}

export async function systemApi(app: FastifyInstance, { identity, health, problem, metrics }: SystemApiDeps): Promise<void> {
  app.get('/v1/identity', async (): Promise<IdentityView> => identity);
  const openApi = openApiDocument();
  app.get('/v1/openapi.json', async () => openApi);
  app.get('/healthz', async (_req, reply) => {
    const why = problem?.();
    return why ? reply.status(503).send({ ok: false, problem: why, ...health() }) : { ok: true, ...health() };
  });
  app.get('/metrics', async (_req, reply) => reply.header('content-type', metrics.contentType).send(await metrics.metrics()));
}
