/** Time source, injected so heartbeats, backoff and drains can be driven in tests. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/**
 * The platform's own timers. In Node they are unref'd: the agent's timers never keep a process
 * alive alone (a node that must stay up while it waits — its reconnect timer — calls `ref()` on
 * that one handle). Browsers' timers have no `unref`.
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = globalThis.setTimeout(fn, ms) as unknown as { unref?: () => void };
    t.unref?.();
    return t;
  },
  clearTimeout: (h) => globalThis.clearTimeout(h as number),
};

/** Keeps a timer handle from `systemClock` holding the process open (Node); a no-op elsewhere. */
export function keepAlive(handle: unknown): void {
  (handle as { ref?: () => void } | undefined)?.ref?.();
}

/**
 * Runs `fn` after the current I/O callbacks (Node's setImmediate), or as a microtask where there
 * is none (browsers): outcomes finishing in the same turn go out together.
 */
export const afterThisTurn: (fn: () => void) => void = (() => {
  const immediate = (globalThis as { setImmediate?: (fn: () => void) => unknown }).setImmediate;
  return immediate ? (fn: () => void) => void immediate(fn) : (fn: () => void) => queueMicrotask(fn);
})();
