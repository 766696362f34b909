/** Jobs: submit, list, show, tasks, results, live events (SSE), cancel. */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { InvalidRequestError, JobStatus, LIMITS, type JobEvent } from '@lode/protocol';
import type { JobManager } from '../jobs/jobManager.js';
import type { JobEvents } from '../jobs/events.js';
import { zodMessage } from './zodMessage.js';

const Paging = z.object({
  offset: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(10_000).default(1000),
});
const ListQuery = z.object({
  requester: z.string().regex(/^0x[0-9a-fA-F]{40}$/).optional(),
  status: JobStatus.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(50),
  before: z.coerce.number().int().optional(),
});

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new InvalidRequestError(`Invalid ${what}.`, { details: zodMessage(r.error) });
  return r.data;
}

export function jobRoutes(app: FastifyInstance, jobs: JobManager, events: JobEvents): void {
  app.post('/v1/jobs', { bodyLimit: LIMITS.maxBodyBytes }, async (req, reply) => {
    const { view, created } = await jobs.submit(req.body);
    return reply.status(created ? 201 : 200).send(view);
  });

  app.get('/v1/jobs', async (req) => {
    const q = parse(ListQuery, req.query, 'query');
    return { jobs: await jobs.list({ ...q, requester: q.requester?.toLowerCase() }) };
  });

  app.get<{ Params: { id: string } }>('/v1/jobs/:id', async (req) => jobs.get(req.params.id));

  app.get<{ Params: { id: string } }>('/v1/jobs/:id/tasks', async (req) => {
    const p = parse(Paging, req.query, 'paging');
    return { tasks: await jobs.tasks(req.params.id, p.offset, p.limit) };
  });

  app.get<{ Params: { id: string } }>('/v1/jobs/:id/results', async (req) => {
    const p = parse(Paging, req.query, 'paging');
    return { results: await jobs.results(req.params.id, p.offset, p.limit) };
  });

  app.post<{ Params: { id: string } }>('/v1/jobs/:id/cancel', async (req) => jobs.cancel(req.params.id, req.body));

  app.get<{ Params: { id: string } }>('/v1/jobs/:id/events', async (req, reply) => {
    const view = await jobs.get(req.params.id); // 404 before we switch to a stream
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    const write = (e: JobEvent) => res.write(`event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
    const snapshot = jobs.subscribeSnapshot(view.id);
    if (!snapshot) {
      write({ type: 'finished', job: view });
      res.end();
      return;
    }
    const unsubscribe = events.subscribe(view.id, (e) => {
      write(e);
      if (e.type === 'finished') {
        unsubscribe();
        clearInterval(keepAlive);
        res.end();
      }
    });
    write({ type: 'progress', ...snapshot() });
    const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
    keepAlive.unref();
    req.raw.on('close', () => {
      unsubscribe();
      clearInterval(keepAlive);
    });
    // The job may have finished between `get` and `subscribe`.
    if (!jobs.subscribeSnapshot(view.id)) {
      const final = await jobs.get(view.id).catch(() => undefined);
      if (final) write({ type: 'finished', job: final });
      unsubscribe();
      clearInterval(keepAlive);
      res.end();
    }
  });

}
