import type { JobEvent, JobView } from '@lode/protocol';
import { JobView as JobViewSchema } from '@lode/protocol';
import type { LodeClient } from '../client.js';
import { unexpectedBody } from '../errors.js';
import { readJobEvents } from '../jobEvents.js';
import { send, urlOf } from '../request.js';
import { signSubmission, type SubmitJobParameters } from './submitJob.js';
import { watchJob, type WatchJobParameters } from './watchJob.js';

export type RunJobParameters = SubmitJobParameters &
  Pick<WatchJobParameters, 'maxReconnects' | 'reconnectDelayMs'> & {
    /** Called once, with the job as the gateway stored it (its row is committed), before any other event. */
    onSubmitted?: (job: JobView) => void;
    /** Called for every event after that: `progress` (at most every ~100 ms) and the final `finished`. */
    onEvent?: (event: JobEvent) => void;
  };
/** The job when it finished. */
export type RunJobReturnType = JobView;

/**
 * Submits a job and follows it to its end in one request: `POST /v1/jobs` with `Accept:
 * text/event-stream` is answered, once the job row is committed, with the job's event stream.
 * This saves `submitJob` + `watchJob`'s second round trip (about a millisecond on loopback, which
 * is most of a one-task job's wait). If the stream drops after the job was accepted, it goes on
 * with `watchJob` (reconnecting); a gateway that answers the submit with JSON is followed the same
 * way. Errors before acceptance are `submitJob`'s.
 *
 * @example
 * const job = await runJob(client, { module: sha256, tasks: [{ args: ['hello'] }], onSubmitted: (j) => console.log(j.id) });
 */
export async function runJob(client: LodeClient, params: RunJobParameters): Promise<RunJobReturnType> {
  const { onSubmitted, onEvent, maxReconnects, reconnectDelayMs, ...submission } = params;
  const { signal } = submission;
  const { signed } = await signSubmission(client, submission, 'runJob');
  const path = '/v1/jobs';
  const response = await send(client, {
    method: 'POST',
    path,
    body: signed,
    headers: { accept: 'text/event-stream, application/json;q=0.5' },
    signal,
    timeoutUntilHeaders: true,
    auth: true,
  });
  const url = urlOf(client, path);
  let submitted: JobView | undefined;
  const seen = (job: JobView) => {
    if (submitted) return;
    submitted = job;
    onSubmitted?.(job);
  };
  if (!(response.headers.get('content-type') ?? '').includes('text/event-stream')) {
    // A gateway that does not stream submits: the answer is the job; follow it on its own stream.
    const json = await response.json().catch((err: Error) => {
      throw unexpectedBody(url, `not JSON: ${err.message}`);
    });
    const job = JobViewSchema.safeParse(json);
    if (!job.success) throw unexpectedBody(url, job.error.message);
    seen(job.data);
  } else {
    let finished: JobView | undefined;
    try {
      finished = await readJobEvents(response, url, (event) => {
        if (!submitted) return seen(event.job); // the first event is the job as stored
        onEvent?.(event);
      });
    } catch (err) {
      // A stream cut after the job was accepted is followed again below; before, nothing is known.
      if (!submitted || signal?.aborted || !(err instanceof TypeError)) throw err;
    }
    if (!submitted) throw unexpectedBody(url, 'the event stream ended before it named the job');
    if (finished) {
      if (submitted.id !== finished.id) throw unexpectedBody(url, 'the stream finished another job');
      // A resubmitted job that had finished sends only `finished`, which was taken as the
      // submitted job above: it is also the last event.
      if (finished === submitted) onEvent?.({ type: 'finished', job: finished });
      return finished;
    }
  }
  return watchJob(client, { id: submitted!.id, onEvent, signal, maxReconnects, reconnectDelayMs });
}
