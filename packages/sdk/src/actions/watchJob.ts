import type { JobEvent, JobView } from '@lode/protocol';
import type { LodeClient } from '../client.js';
import { readJobEvents } from '../jobEvents.js';
import { send, urlOf } from '../request.js';
import { getJob, isJobFinished } from './getJob.js';

export interface WatchJobParameters {
  id: string;
  /** Called for every event, `progress` (at most every ~100 ms) and the final `finished`. */
  onEvent?: (event: JobEvent) => void;
  /** Stops watching; the promise rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Reconnections tried in a row without receiving an event before giving up. @default 10 */
  maxReconnects?: number;
  /** First delay before reconnecting; doubles up to 5 s. @default 250 */
  reconnectDelayMs?: number;
}
export type WatchJobReturnType = JobView;

/**
 * Follows a job's server-sent events (GET /v1/jobs/:id/events) until it finishes and resolves
 * with the final JobView. If the stream drops first, it reconnects (checking the job's state in
 * between, so a job that finished meanwhile resolves at once). Throws `NotFoundError` for an
 * unknown id, and the last `GatewayUnavailableError` after `maxReconnects` failed tries.
 *
 * @example
 * const job = await watchJob(client, { id, onEvent: (e) => console.log(e.job.counts) });
 */
export async function watchJob(client: LodeClient, params: WatchJobParameters): Promise<WatchJobReturnType>;
/** The same, with the id first: `watchJob(client, id, { onEvent, signal })`. */
export async function watchJob(client: LodeClient, id: string, options?: Omit<WatchJobParameters, 'id'>): Promise<WatchJobReturnType>;
export async function watchJob(
  client: LodeClient,
  idOrParams: string | WatchJobParameters,
  options: Omit<WatchJobParameters, 'id'> = {},
): Promise<WatchJobReturnType> {
  const params: WatchJobParameters = typeof idOrParams === 'string' ? { ...options, id: idOrParams } : idOrParams;
  const { id, signal } = params;
  const maxReconnects = params.maxReconnects ?? 10;
  let delay = params.reconnectDelayMs ?? 250;
  let failures = 0;
  for (;;) {
    signal?.throwIfAborted();
    let sawEvent = false;
    try {
      const finished = await streamOnce(client, id, params, () => {
        sawEvent = true;
      });
      if (finished) return finished;
    } catch (err) {
      if (signal?.aborted) throw signal.reason ?? err;
      if (!isRetryable(err)) throw err;
      if (!sawEvent && ++failures > maxReconnects) throw err;
    }
    if (sawEvent) {
      failures = 0;
      delay = params.reconnectDelayMs ?? 250;
    }
    await sleep(delay, signal);
    delay = Math.min(delay * 2, 5_000);
    // The job may have finished while we were away: ask before listening again.
    const job = await getJob(client, { id, signal }).catch((err: unknown) => {
      if (signal?.aborted || !isRetryable(err)) throw err;
      return undefined;
    });
    if (job && isJobFinished(job)) {
      params.onEvent?.({ type: 'finished', job });
      return job;
    }
  }
}

/** Opens one event stream and reads it to its end. Resolves with the job on `finished`, undefined if the stream ended first. */
async function streamOnce(client: LodeClient, id: string, params: WatchJobParameters, onAny: () => void): Promise<JobView | undefined> {
  const path = `/v1/jobs/${encodeURIComponent(id)}/events`;
  const response = await send(client, { path, headers: { accept: 'text/event-stream' }, signal: params.signal, noTimeout: true, auth: true });
  return readJobEvents(response, urlOf(client, path), (event) => {
    onAny();
    params.onEvent?.(event);
  });
}

function isRetryable(err: unknown): boolean {
  // A stream cut mid-body surfaces as a plain TypeError ("terminated"): retry it too.
  return (err as { retryable?: boolean }).retryable === true || err instanceof TypeError;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
