/**
 * The gateway's parts start in one order and stop in the reverse, from one list.
 *
 * Guarantees:
 * - `start(parts)` starts each part in turn; if one fails, every part started before it — and
 *   the failed one, whose `stop` must be safe after a failed start — is stopped, last first, and
 *   the error is thrown: a gateway that cannot listen leaks no timer, socket, thread or store.
 * - `start` may be called again with more parts (they stop before the earlier ones).
 * - `stop()` stops every started part, last first, once; a part that fails to stop is logged and
 *   the others still stop.
 */
import type { Logger } from 'pino';

export interface Part {
  readonly name: string;
  start?(): void | Promise<void>;
  stop?(): void | Promise<void>;
}

export class Lifecycle {
  private readonly started: Part[] = [];

  constructor(private readonly log: Pick<Logger, 'warn'>) {}

  async start(parts: readonly Part[]): Promise<void> {
    for (const part of parts) {
      this.started.push(part);
      try {
        await part.start?.();
      } catch (err) {
        await this.stop();
        throw err;
      }
    }
  }

  async stop(): Promise<void> {
    for (const part of this.started.splice(0).reverse()) {
      try {
        await part.stop?.();
      } catch (err) {
        this.log.warn({ err, part: part.name }, 'a part of the gateway failed to stop');
      }
    }
  }
}

/** A part that runs `fn` every `ms` between its start and its stop (the timer never holds the process open). */
export function every(name: string, ms: number, fn: () => void): Part {
  let timer: ReturnType<typeof setInterval> | undefined;
  return {
    name,
    start() {
      timer = setInterval(fn, ms);
      timer.unref();
    },
    stop() {
      clearInterval(timer);
    },
  };
}
