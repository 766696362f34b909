/** `lode job ls` — your jobs on the gateway, newest first. */
import { JobStatus } from '@lode/protocol';
import { listJobs } from '@lode/sdk';
import { InvalidArgumentError, type Command } from 'commander';
import { clientOf, positiveInt, withExamples, withJson } from '../../context.js';
import { JOB_COLUMNS } from '../../jobFormat.js';
import { printJson, table } from '../../output.js';

interface Options {
  status?: JobStatus;
  limit: number;
  json?: boolean;
}

export function registerJobLs(parent: Command): void {
  const cmd = parent
    .command('ls')
    .description('list your jobs, newest first')
    .option('--status <status>', `only jobs in this state (${JobStatus.options.join(', ')})`, parseStatus)
    .option('--limit <n>', 'at most this many', positiveInt('--limit'), 50);
  withJson(cmd);
  cmd.addHelpText('after', '\nA gateway shows each account only its own jobs: these are the jobs of the account in --data-dir\n(signed in with its key).');
  withExamples(cmd, 'lode job ls', 'lode job ls --status running --json');
  cmd.action(async (opts: Options) => {
    const client = await clientOf(cmd, 'load');
    const jobs = await listJobs(client, { status: opts.status, limit: opts.limit });
    if (opts.json) return printJson({ jobs });
    process.stdout.write(`${table(jobs, JOB_COLUMNS, 'No jobs yet. Submit one with `lode run`.')}\n`);
  });
}

function parseStatus(value: string): JobStatus {
  const parsed = JobStatus.safeParse(value);
  if (!parsed.success) throw new InvalidArgumentError(`--status must be one of ${JobStatus.options.join(', ')}.`);
  return parsed.data;
}
