/**
 * What `lode run` shows while a job runs, on stderr: a progress bar (tasks finished of all,
 * failures, busy nodes, ETA) on a terminal without --json, and — always — a line whenever the
 * gateway says why the job's tasks are waiting (no node connected, or no node meets the job's
 * requirements, e.g. its price), so nobody is left watching a bar that does not move.
 */
import type { JobEvent, JobView } from '@lode/protocol';
import cliProgress from 'cli-progress';
import { waitingLine } from '../jobFormat.js';

export interface Progress {
  update(event: JobEvent): void;
  /** A fresh view of the job (the submit answer, a poll): reports a new reason to wait. */
  note(job: JobView): void;
  stop(): void;
}

export interface ProgressOptions {
  /** Draw the bar (a terminal, no --json, several tasks). */
  bar: boolean;
  /** Where lines go. @default stderr */
  write?: (text: string) => void;
}

export function createProgress(total: number, options: ProgressOptions): Progress {
  const write = options.write ?? ((text: string) => void process.stderr.write(text));
  let stopped = false;
  let lastWaiting: string | undefined;
  const multi = options.bar
    ? new cliProgress.MultiBar(
        {
          stream: process.stderr,
          format: ' {bar} {percentage}% | {value}/{total} tasks | {failed} failed | {busy} node(s) busy | {fuel} fuel | {cost} | ETA {eta_formatted}',
          hideCursor: true,
          etaBuffer: 50,
          fps: 10,
          // Before the first task finishes there is no rate to go by: show "?" rather than "NFs".
          formatTime: (t: number, opts: cliProgress.Options, round: number) => (Number.isFinite(t) ? cliProgress.Format.TimeFormat(t, opts, round) : '?'),
        },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  const bar = multi?.create(total, 0, { failed: 0, busy: 0, fuel: '0', cost: '0 LODE' });
  // With a bar, lines go above it (the bar redraws below); otherwise straight to the stream.
  const say = (line: string) => (multi ? multi.log(`${line}\n`) : write(`${line}\n`));

  const note = (job: JobView) => {
    if (stopped || job.waiting === lastWaiting) return;
    if (job.waiting) say(waitingLine(job));
    else if (lastWaiting && job.counts.leased > 0) say(`job ${job.id}: a node took its tasks; running.`);
    else return; // nothing new to say; keep the old reason until the job moves
    lastWaiting = job.waiting;
  };

  return {
    update(event) {
      const c = event.job.counts;
      bar?.update(c.done + c.failed + c.cancelled, {
        failed: c.failed,
        busy: event.type === 'progress' ? event.nodesBusy : 0,
        fuel: formatFuel(event.job.usage?.fuelUsed ?? '0'),
        cost: formatCost(event.job.usage?.cost ?? '0'),
      });
      if (event.type === 'progress') note(event.job);
    },
    note,
    stop() {
      if (stopped) return;
      stopped = true;
      multi?.stop();
    },
  };
}

/** 1234567890 → "1.23 G". Fuel is about one unit per WASM instruction. */
export function formatFuel(fuel: string | bigint): string {
  const n = Number(fuel);
  for (const [unit, size] of [
    ['T', 1e12],
    ['G', 1e9],
    ['M', 1e6],
    ['k', 1e3],
  ] as const) {
    if (n >= size) return `${(n / size).toFixed(2)} ${unit}`;
  }
  return String(n);
}

/** wei → "0.0084 LODE" (up to 6 significant digits). */
export function formatCost(wei: string | bigint): string {
  const lode = Number(BigInt(wei)) / 1e18;
  return `${lode === 0 ? '0' : lode.toPrecision(6).replace(/\.?0+$/, '')} LODE`;
}
