/**
 * The page's workers, created where Vite can see them (`new Worker(new URL(…), …)` is what it
 * bundles). Kept apart from the pool and the clock so those run in Node tests with other workers.
 */
import type { TickerLike } from './clock.js';
import type { WorkerLike } from './sandbox.js';

export function spawnSandboxWorker(): WorkerLike {
  return new Worker(new URL('./sandbox.worker.ts', import.meta.url), { type: 'module', name: 'lode-sandbox' }) as unknown as WorkerLike;
}

export function spawnTicker(): TickerLike {
  return new Worker(new URL('./ticker.worker.ts', import.meta.url), { type: 'module', name: 'lode-ticker' }) as unknown as TickerLike;
}
