/**
 * Graceful shutdown for long-running verbs: the first SIGINT/SIGTERM asks to stop cleanly, a
 * second one asks to stop now.
 */
export interface Shutdown {
  /** Resolves on the first signal, with its name. */
  readonly requested: Promise<NodeJS.Signals>;
  /** Called on the second signal. */
  onForce(fn: () => void): void;
  /** Removes the handlers. */
  dispose(): void;
}

export function watchSignals(signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM']): Shutdown {
  let count = 0;
  const forced: (() => void)[] = [];
  let resolve!: (s: NodeJS.Signals) => void;
  const requested = new Promise<NodeJS.Signals>((r) => (resolve = r));
  const handler = (signal: NodeJS.Signals) => {
    if (++count === 1) resolve(signal);
    else for (const fn of forced) fn();
  };
  for (const s of signals) process.on(s, handler);
  return {
    requested,
    onForce: (fn) => void forced.push(fn),
    dispose: () => {
      for (const s of signals) process.off(s, handler);
    },
  };
}
