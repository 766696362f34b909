/**
 * The progress bar of `lode run` on stderr: tasks finished of all, failures, busy nodes, ETA.
 * Only on a terminal and without --json; otherwise a no-op.
 */
import type { JobEvent } from '@lode/protocol';
import cliProgress from 'cli-progress';

export interface Progress {
  update(event: JobEvent): void;
  stop(): void;
}

export function createProgress(total: number, enabled: boolean): Progress {
  if (!enabled) return { update() {}, stop() {} };
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: ' {bar} {percentage}% | {value}/{total} tasks | {failed} failed | {busy} node(s) busy | ETA {eta_formatted}',
      hideCursor: true,
      etaBuffer: 50,
      fps: 10,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, { failed: 0, busy: 0 });
  return {
    update(event) {
      const c = event.job.counts;
      bar.update(c.done + c.failed + c.cancelled, { failed: c.failed, busy: event.type === 'progress' ? event.nodesBusy : 0 });
    },
    stop() {
      bar.stop();
    },
  };
}
