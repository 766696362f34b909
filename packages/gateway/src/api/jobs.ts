/**
 * Jobs: submit, list, show, tasks, results, live events (SSE), cancel. A submit sent with
 * `Accept: text/event-stream` is answered with the job's event stream (one request to submit
 * and follow a job).
 *
 * Every route here acts for a signed-in account (`req.account`, see http/auth.ts): a job is
 * submitted by its requester and read only by it. Submissions are limited per IP (before the
 * body is read) and per account, their bodies to `maxJobBytes`, and they are parsed and checked
 * off the event loop (jobs/intake.ts). Event streams are limited per account.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ForbiddenError, InvalidRequestError, JobStatus, QuotaExceededError, RateLimitedError, type JobEvent, type JobView } from '@lode/protocol';
import type { JobManager } from '../jobs/jobManager.js';
import type { JobEvents } from '../jobs/events.js';
import type { JobIntake } from '../jobs/intake.js';
import type { GatewayConfig } from '../config.js';
import { zodMessage } from '../zodMessage.js';
import { accountOf } from './auth.js';
import { WindowCounter, rateLimited } from './limits.js';
import { clientKey } from '../clientKey.js';
import { OpenCounts } from '../openCounts.js';

const Paging = z.object({
  offset: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(10_000).default(1000),
});
const ListQuery = z.object({
  /** Must be the signed-in account when given (kept for older clients). */
  requester: z
    .string()
    .regex(/^0x[0-9a-fA-F]{40}$/)
    .optional(),
  status: JobStatus.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(50),
  before: z.coerce.number().int().optional(),
});

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new InvalidRequestError(`Invalid ${what}.`, { details: zodMessage(r.error) });
  return r.data;
}

export interface JobsApiDeps {
  jobs: JobManager;
  events: JobEvents;
  intake: JobIntake;
  limits: GatewayConfig['limits'];
  /** In a cluster: hears at once that a job another gateway runs has ended (cluster/member.ts). */
  cluster?: { onJobFinal(jobId: string, fn: () => void): () => void };
}

/** The job routes, as a Fastify plugin. */
export async function jobsApi(app: FastifyInstance, { jobs, events, intake, limits, cluster }: JobsApiDeps): Promise<void> {
  const perAccount = new WindowCounter(limits.jobsPerMinute, 60_000);
  /** Open event streams per account (`GET /v1/jobs/:id/events` and streaming submits). */
  const streams = new OpenCounts();
  app.register(async (scope) => {
    // The body stays bytes here: JobIntake parses it (large ones in a worker).
    scope.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: limits.maxJobBytes }, (_req, body, done) => done(null, body));
    scope.post(
      '/v1/jobs',
      {
        bodyLimit: limits.maxJobBytes,
        config: {
          rateLimit: {
            max: limits.jobsPerMinutePerIp,
            timeWindow: 60_000,
            keyGenerator: (req) => `jobs-ip:${clientKey(req.ip)}`,
            errorResponseBuilder: rateLimited('job submissions from this address'),
          },
        },
        // Before the body is read: a stranger's or an over-limit account's body is never parsed.
        onRequest: async (req: FastifyRequest) => {
          const wait = perAccount.hit(accountOf(req, 'Submitting a job'));
          if (wait > 0) {
            throw new RateLimitedError(
              `Too many job submissions from this account: at most ${limits.jobsPerMinute} per minute. Try again in ${Math.ceil(wait / 1000)} s.`,
              {
                meta: { limit: limits.jobsPerMinute, retryAfterMs: wait },
              },
            );
          }
        },
      },
      async (req, reply) => {
        const account = accountOf(req, 'Submitting a job');
        if (!(req.body instanceof Buffer)) throw new InvalidRequestError('Send the signed job as JSON (Content-Type: application/json).');
        const sub = await intake.accept(req.body);
        if (sub.spec.requester.toLowerCase() !== account) {
          throw new ForbiddenError(`The job is signed by ${sub.spec.requester} but you are signed in as ${account}. Sign in with the requester's account.`);
        }
        // `Accept: text/event-stream`: the answer is the job's event stream, opened once the job
        // row is committed (its status is then sent), so one request submits and follows.
        if (!wantsStream(req)) {
          const { view, created } = await jobs.submit(sub);
          return reply.status(created ? 201 : 200).send(view);
        }
        openStream(account);
        let submitted: Awaited<ReturnType<JobManager['submit']>>;
        try {
          submitted = await jobs.submit(sub);
        } catch (err) {
          streams.close(account);
          throw err;
        }
        await follow(req, reply, submitted.view, account, submitted.created ? 201 : 200);
      },
    );
  });

  app.get('/v1/jobs', async (req) => {
    const account = accountOf(req, 'Listing jobs');
    const q = parse(ListQuery, req.query, 'query');
    if (q.requester && q.requester.toLowerCase() !== account) throw new ForbiddenError('You can list only your own jobs; leave out `requester`.');
    const { requester: _, ...query } = q;
    return { jobs: await jobs.list(query, account) };
  });

  app.get<{ Params: { id: string } }>('/v1/jobs/:id', async (req) => jobs.get(req.params.id, accountOf(req, 'Reading a job')));

  app.get<{ Params: { id: string } }>('/v1/jobs/:id/tasks', async (req) => {
    const p = parse(Paging, req.query, 'paging');
    return { tasks: await jobs.tasks(req.params.id, p.offset, p.limit, accountOf(req, "Reading a job's tasks")) };
  });

  app.get<{ Params: { id: string } }>('/v1/jobs/:id/results', async (req) => {
    const p = parse(Paging, req.query, 'paging');
    return { results: await jobs.results(req.params.id, p.offset, p.limit, accountOf(req, "Reading a job's results")) };
  });

  app.post<{ Params: { id: string } }>('/v1/jobs/:id/cancel', async (req) => jobs.cancel(req.params.id, req.body));

  app.get<{ Params: { id: string } }>('/v1/jobs/:id/events', async (req, reply) => {
    const account = accountOf(req, 'Following a job');
    const view = await jobs.get(req.params.id, account); // 404 before we switch to a stream
    openStream(account);
    await follow(req, reply, view, account, 200);
  });

  /** Takes one of the account's event streams, or refuses with the limit. */
  function openStream(account: string): void {
    if (!streams.tryOpen(account, limits.eventStreamsPerAccount)) {
      throw new QuotaExceededError(
        `${account} already follows ${streams.of(account)} event streams; this gateway allows ${limits.eventStreamsPerAccount} at once. Close some (or poll GET /v1/jobs/:id).`,
      );
    }
  }

  /**
   * Sends a job's events (SSE) on a stream `openStream` took: its progress now, then progress at
   * most every `JobEvents` interval, and `finished`, which ends the stream.
   */
  async function follow(req: FastifyRequest, reply: FastifyReply, view: JobView, account: string, status: 200 | 201): Promise<void> {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(status, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    const write = (e: JobEvent) => res.write(`event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
    let unsubscribe = () => {};
    let keepAlive: NodeJS.Timeout | undefined;
    let closed = false;
    /** Ends the stream once: the client left, or the job finished (`end`: then the response is ended too). */
    const close = (end: boolean) => {
      if (closed) return;
      closed = true;
      unsubscribe();
      clearInterval(keepAlive);
      streams.close(account);
      if (end) res.end();
    };
    const snapshot = jobs.subscribeSnapshot(view.id);
    if (!snapshot && isFinal(view)) {
      write({ type: 'finished', job: view });
      close(true);
      return;
    }
    if (!snapshot) {
      // Run by another gateway of the cluster: its stored row is followed until it is final —
      // read every REMOTE_POLL_MS, and at once when the cluster says the job ended.
      write({ type: 'progress', job: view, nodesBusy: 0 });
      let last = JSON.stringify(view.counts);
      let reading = false;
      const check = () => {
        if (closed || reading) return;
        reading = true;
        jobs.get(view.id, account).then(
          (now) => {
            reading = false;
            if (closed) return;
            if (isFinal(now)) {
              write({ type: 'finished', job: now });
              return close(true);
            }
            const counts = JSON.stringify(now.counts);
            if (counts !== last) write({ type: 'progress', job: now, nodesBusy: 0 });
            else res.write(': keep-alive\n\n');
            last = counts;
          },
          () => (reading = false), // the database is away: the next poll tries again
        );
      };
      unsubscribe = cluster?.onJobFinal(view.id, check) ?? unsubscribe;
      keepAlive = setInterval(check, REMOTE_POLL_MS);
      keepAlive.unref();
      req.raw.on('close', () => close(false));
      return;
    }
    unsubscribe = events.subscribe(view.id, (e) => {
      write(e);
      if (e.type === 'finished') close(true);
    });
    write({ type: 'progress', ...snapshot() });
    keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
    keepAlive.unref();
    req.raw.on('close', () => close(false));
    // The job may have finished between `get` and `subscribe`.
    if (!jobs.subscribeSnapshot(view.id)) {
      const final = await jobs.get(view.id, account).catch(() => undefined);
      if (final) write({ type: 'finished', job: final });
      close(true);
    }
  }
}

/** How often a stream reads the row of a job another gateway of the cluster runs (its end is heard at once). */
const REMOTE_POLL_MS = 1000;

function isFinal(job: JobView): boolean {
  return job.status !== 'queued' && job.status !== 'running';
}

/** True when the client asks for an event stream (`Accept: text/event-stream`). */
function wantsStream(req: FastifyRequest): boolean {
  return (req.headers.accept ?? '').includes('text/event-stream');
}
