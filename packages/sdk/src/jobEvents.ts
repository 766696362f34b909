/** A job's event stream (SSE), as `watchJob` and `runJob` read it. */
import { JobEvent, type JobView } from '@lode/protocol';
import { createParser } from 'eventsource-parser';
import { unexpectedBody } from './errors.js';

/**
 * Reads a job's event stream (SSE) until `finished`, which it resolves with; undefined when the
 * stream ends first. Every event is checked against the protocol's schema; a bad one throws.
 */
export async function readJobEvents(response: Response, url: string, onEvent: (event: JobEvent) => void): Promise<JobView | undefined> {
  if (!response.body) return undefined;
  let finished: JobView | undefined;
  let bad: Error | undefined;
  const parser = createParser({
    onEvent(message) {
      if (finished || bad) return;
      let data: unknown;
      try {
        data = JSON.parse(message.data);
      } catch {
        bad = unexpectedBody(url, `event data is not JSON: ${message.data.slice(0, 100)}`);
        return;
      }
      const event = JobEvent.safeParse(data);
      if (!event.success) {
        bad = unexpectedBody(url, event.error.message);
        return;
      }
      onEvent(event.data);
      if (event.data.type === 'finished') finished = event.data.job;
    },
  });
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  try {
    while (!finished && !bad) {
      const { value, done } = await reader.read();
      if (done) break;
      parser.feed(value);
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  if (bad) throw bad;
  return finished;
}
