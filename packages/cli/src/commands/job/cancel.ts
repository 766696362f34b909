/** `lode job cancel <id>` — stop a job, signed by its requester. */
import { cancelJob } from '@lode/sdk';
import type { Command } from 'commander';
import { clientOf, withExamples, withJson } from '../../context.js';
import { describeJob } from '../../jobFormat.js';
import { printJson } from '../../output.js';

export function registerJobCancel(parent: Command): void {
  const cmd = parent
    .command('cancel')
    .description('cancel a job: queued tasks are dropped, running ones stopped (you must be its requester)')
    .argument('<id>', 'the job id');
  withJson(cmd);
  withExamples(cmd, 'lode job cancel 3f2a…');
  cmd.action(async (id: string, opts: { json?: boolean }) => {
    const client = await clientOf(cmd, 'load');
    const job = await cancelJob(client, { id });
    if (opts.json) return printJson({ job });
    process.stdout.write(`${describeJob(job)}\n`);
  });
}
