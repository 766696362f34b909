/**
 * A clock for the contributor page (the Clock port is @lode/provider's).
 *
 * In a browser, timers of a hidden tab are throttled (Chrome runs them at most once a minute
 * after five minutes hidden), which would silence a contributor's heartbeats and get its
 * session dropped. Timers in a dedicated worker are not throttled that way, so the contributor
 * page uses `workerClock` (timers run in `ticker.worker.ts`) and falls back to the page's own.
 */
import { systemClock, type Clock } from '@lode/provider';

/** What `workerClock` needs of a Worker (injectable for tests). */
export interface TickerLike {
  postMessage(msg: TickerRequest): void;
  onmessage: ((ev: { data: number }) => void) | null;
}
export type TickerRequest = { t: 'set'; id: number; ms: number } | { t: 'clear'; id: number };

/** A clock whose timers run in a worker; `spawn` creates the ticker worker. */
export function workerClock(spawn: () => TickerLike): Clock {
  let ticker: TickerLike;
  try {
    ticker = spawn();
  } catch {
    return systemClock;
  }
  const pending = new Map<number, () => void>();
  let nextId = 1;
  ticker.onmessage = (ev) => {
    const fn = pending.get(ev.data);
    pending.delete(ev.data);
    fn?.();
  };
  return {
    now: () => Date.now(),
    setTimeout(fn, ms) {
      const id = nextId++;
      pending.set(id, fn);
      ticker.postMessage({ t: 'set', id, ms });
      return id;
    },
    clearTimeout(handle) {
      if (typeof handle !== 'number' || !pending.delete(handle)) return;
      ticker.postMessage({ t: 'clear', id: handle });
    },
  };
}
