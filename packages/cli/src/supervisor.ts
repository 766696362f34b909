/**
 * Keeps N `lode node` child processes alive for `lode up`: spawns them, restarts one that dies
 * (with exponential backoff, reset after it has stayed up a while), and on stop asks each to
 * drain (SIGINT) and waits, killing those that take too long.
 *
 * Children run in their own process group, so a Ctrl-C in the terminal reaches only `lode up`,
 * which then drains them once (a second SIGINT would make a node stop without draining). They
 * also hold an IPC channel and leave on their own if `lode up` dies.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { NodeIpcMessage } from './commands/node.js';

export interface SupervisorOptions {
  count: number;
  /** argv (after the node executable) of child `i`. */
  argsOf(i: number): string[];
  /** Receives one line of a child's output. */
  onLine(i: number, line: string, stream: 'stdout' | 'stderr'): void;
  /** Lifecycle news: started, exited, restarting. */
  onNotice(i: number, message: string): void;
  /** A child told us its address. */
  onReady?(i: number, address: string): void;
  /** @default 1000 */
  minBackoffMs?: number;
  /** @default 30000 */
  maxBackoffMs?: number;
  /** A child that stayed up this long restarts with the minimum delay again. @default 30000 */
  stableAfterMs?: number;
}

interface Slot {
  child?: ChildProcess;
  startedAt: number;
  failures: number;
  restartTimer?: NodeJS.Timeout;
  exited?: Promise<void>;
}

export interface Supervisor {
  /** Asks every child to drain and resolves once all have exited (SIGKILL after `timeoutMs`). */
  stop(timeoutMs: number): Promise<void>;
  /** Kills every child now. */
  kill(): void;
}

export function superviseNodes(options: SupervisorOptions): Supervisor {
  const minBackoff = options.minBackoffMs ?? 1000;
  const maxBackoff = options.maxBackoffMs ?? 30_000;
  const stableAfter = options.stableAfterMs ?? 30_000;
  let stopping = false;
  const slots: Slot[] = Array.from({ length: options.count }, () => ({ startedAt: 0, failures: 0 }));

  const start = (i: number) => {
    const slot = slots[i]!;
    slot.startedAt = Date.now();
    const child = spawn(process.execPath, options.argsOf(i), { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], detached: true });
    slot.child = child;
    for (const stream of ['stdout', 'stderr'] as const) {
      createInterface({ input: child[stream]! }).on('line', (line) => options.onLine(i, line, stream));
    }
    child.on('message', (m: NodeIpcMessage) => {
      if (m?.type === 'ready') options.onReady?.(i, m.address);
    });
    slot.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        slot.child = undefined;
        resolve();
        if (stopping) return;
        slot.failures = Date.now() - slot.startedAt > stableAfter ? 1 : slot.failures + 1;
        const delay = Math.min(maxBackoff, minBackoff * 2 ** (slot.failures - 1));
        options.onNotice(i, `exited (${signal ?? `code ${code}`}); restarting in ${(delay / 1000).toFixed(0)} s`);
        slot.restartTimer = setTimeout(() => start(i), delay);
      });
    });
    child.once('error', (err) => options.onNotice(i, `could not start: ${err.message}`));
  };

  for (let i = 0; i < options.count; i++) start(i);

  return {
    async stop(timeoutMs) {
      stopping = true;
      for (const slot of slots) clearTimeout(slot.restartTimer);
      const live = slots.filter((s) => s.child);
      for (const s of live) s.child!.kill('SIGINT');
      const killer = setTimeout(() => this.kill(), timeoutMs);
      await Promise.all(live.map((s) => s.exited));
      clearTimeout(killer);
    },
    kill() {
      stopping = true;
      for (const slot of slots) {
        clearTimeout(slot.restartTimer);
        slot.child?.kill('SIGKILL');
      }
    },
  };
}
