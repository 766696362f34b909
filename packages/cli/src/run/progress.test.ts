import type { JobView } from '@lode/protocol';
import { describe, expect, it } from 'vitest';
import { describeJob } from '../jobFormat.js';
import { createProgress } from './progress.js';

const job = (over: Partial<JobView> = {}): JobView => ({
  id: 'f'.repeat(32),
  name: 'pi',
  requester: `0x${'1'.repeat(40)}`,
  module: 'a'.repeat(64),
  status: 'queued',
  taskCount: 4,
  counts: { queued: 4, leased: 0, done: 0, failed: 0, cancelled: 0 },
  createdAt: 0,
  finishedAt: null,
  deadline: 0,
  ...over,
});
const PRICE = 'No connected node can take these tasks — 0xabc: price: node asks 5 per task, job pays at most 0.';

describe('why a job waits', () => {
  it('is said once per new reason while `lode run` follows the job, and again when tasks start', () => {
    const lines: string[] = [];
    const progress = createProgress(4, { bar: false, write: (t) => void lines.push(t) });
    progress.note(job({ waiting: 'No node is connected. Start one with `lode node --gateway <ws url>` (or `lode up`).' }));
    progress.note(job({ waiting: PRICE }));
    progress.update({ type: 'progress', job: job({ waiting: PRICE }), nodesBusy: 0 });
    progress.note(job()); // a view without a reason while nothing runs: nothing new
    progress.update({ type: 'progress', job: job({ status: 'running', counts: { queued: 3, leased: 1, done: 0, failed: 0, cancelled: 0 } }), nodesBusy: 1 });
    progress.stop();
    progress.note(job({ waiting: PRICE })); // after the end: silent
    expect(lines).toEqual([
      `job ${'f'.repeat(32)} is waiting: No node is connected. Start one with \`lode node --gateway <ws url>\` (or \`lode up\`).\n`,
      `job ${'f'.repeat(32)} is waiting: ${PRICE}\n`,
      `job ${'f'.repeat(32)}: a node took its tasks; running.\n`,
    ]);
  });

  it('is a line of `lode job show` when the gateway gives one', () => {
    expect(describeJob(job({ waiting: PRICE }))).toContain(`\n  waiting:   ${PRICE}`);
    expect(describeJob(job())).not.toContain('waiting');
  });
});
