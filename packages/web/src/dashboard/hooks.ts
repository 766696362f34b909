/** Data hooks for the dashboard: polling, the hash route, and a job's live events (SSE). */
import { useEffect, useRef, useState } from 'react';
import { JobEvent, type JobView } from '@lode/protocol';
import { readerToken } from '../shared/client.js';

export interface Polled<T> {
  data: T | undefined;
  error: unknown;
  /** Fetches again now. */
  refresh(): void;
}

/**
 * Calls `load` now and every `everyMs` while the page is visible (a hidden tab does not poll),
 * keeping the last good answer when a later call fails. `deps` restart it.
 */
export function usePoll<T>(load: (signal: AbortSignal) => Promise<T>, everyMs: number, deps: unknown[] = []): Polled<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  useEffect(() => {
    const ctrl = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    let stopped = false;
    const run = async () => {
      if (stopped) return;
      if (document.visibilityState !== 'hidden') {
        try {
          const v = await loadRef.current(ctrl.signal);
          if (!stopped) {
            setData(v);
            setError(undefined);
          }
        } catch (err) {
          if (!stopped) setError(err);
        }
      }
      if (!stopped) timer = setTimeout(run, everyMs);
    };
    void run();
    return () => {
      stopped = true;
      ctrl.abort();
      clearTimeout(timer);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [everyMs, tick, ...deps]);
  return { data, error, refresh: () => setTick((t) => t + 1) };
}

/** The route after `#/`, split on `/`: `#/jobs/abc` → ['jobs', 'abc']. */
export function useHashRoute(): string[] {
  // A query after the route (`#/jobs/<id>?session=…`, a sign-in link) is not part of it.
  const read = () => location.hash.replace(/^#\/?/, '').split('?')[0]!.split('/').filter(Boolean).map(decodeURIComponent);
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const on = () => setRoute(read());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}

export interface LiveJob {
  job: JobView | undefined;
  /** Nodes working on it now (from progress events). */
  nodesBusy: number;
  live: boolean;
  error: string | undefined;
}

/**
 * Follows a job through `GET /v1/jobs/:id/events` (server-sent events): a `progress` event at
 * once and then while tasks finish, and a final `finished`, after which the stream is closed
 * (EventSource would otherwise reconnect for ever). Every event is checked with the protocol's
 * `JobEvent` schema.
 */
export function useJobEvents(id: string): LiveJob {
  const [state, setState] = useState<LiveJob>({ job: undefined, nodesBusy: 0, live: false, error: undefined });
  useEffect(() => {
    setState({ job: undefined, nodesBusy: 0, live: false, error: undefined });
    let source: EventSource | undefined;
    let closed = false;
    let finished = false;
    const onEvent = (ev: MessageEvent<string>) => {
      let parsed;
      try {
        parsed = JobEvent.safeParse(JSON.parse(ev.data));
      } catch {
        return;
      }
      if (!parsed.success) return;
      const e = parsed.data;
      if (e.type === 'finished') {
        finished = true;
        source?.close();
        setState({ job: e.job, nodesBusy: 0, live: false, error: undefined });
      } else {
        setState({ job: e.job, nodesBusy: e.nodesBusy, live: true, error: undefined });
      }
    };
    // An EventSource cannot send headers: the session goes in the URL (access_token).
    readerToken(id).then(
      (token) => {
        if (closed) return;
        const s = new EventSource(`/v1/jobs/${encodeURIComponent(id)}/events?access_token=${encodeURIComponent(token)}`);
        source = s;
        s.addEventListener('progress', onEvent);
        s.addEventListener('finished', onEvent);
        s.onerror = () => {
          if (finished) return;
          // EventSource reconnects by itself; a 404 (unknown job, or another account's) closes it for good.
          setState((st) => ({
            ...st,
            live: false,
            error: s.readyState === EventSource.CLOSED ? 'The job could not be followed (unknown id, or not yours?).' : undefined,
          }));
        };
      },
      (err: unknown) => {
        if (!closed) setState((st) => ({ ...st, live: false, error: `Sign in to follow this job: ${err instanceof Error ? err.message : String(err)}` }));
      },
    );
    return () => {
      closed = true;
      source?.close();
    };
  }, [id]);
  return state;
}
