/**
 * A full garbage collection, now and once more a second later. For the end of start-up only: the
 * warm-up's ~10,000 results are garbage that an idle provider would otherwise keep resident for
 * minutes (an idle process allocates too little to trigger a collection) — ~30–40 MiB of a small
 * board's memory (docs/benchmarks.md, footprint). Node exposes no collector without
 * `--expose-gc`; the flag is set at run time and the function read from a fresh context (as
 * jest's leak detector does). Costs a pause of a few tens of ms.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export function collectGarbageSoon(): void {
  let gc: (() => void) | undefined;
  try {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  } catch {
    return; // a runtime without it: nothing to do
  }
  gc();
  setTimeout(gc, 1000).unref();
}
