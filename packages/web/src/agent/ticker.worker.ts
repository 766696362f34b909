/** Timers for `workerClock` (see clock.ts): a worker's timers are not throttled in a hidden tab. */
import type { TickerRequest } from './clock.js';

const scope = self as unknown as { onmessage: ((ev: MessageEvent<TickerRequest>) => void) | null; postMessage(id: number): void };
const timers = new Map<number, ReturnType<typeof setTimeout>>();

scope.onmessage = ({ data }) => {
  if (data.t === 'set') {
    timers.set(
      data.id,
      setTimeout(() => {
        timers.delete(data.id);
        scope.postMessage(data.id);
      }, data.ms),
    );
  } else {
    clearTimeout(timers.get(data.id));
    timers.delete(data.id);
  }
};
