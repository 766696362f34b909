/** `lode job ls` — jobs on the gateway, newest first. */
import { JobStatus } from '@lode/protocol';
import { listJobs } from '@lode/sdk';
import { InvalidArgumentError, type Command } from 'commander';
import { clientOf, globalsOf, positiveInt, withExamples, withJson } from '../../context.js';
import { JOB_COLUMNS } from '../../jobFormat.js';
import { loadAccount } from '@lode/node/keystore';
import { printJson, table } from '../../output.js';

interface Options {
  status?: JobStatus;
  limit: number;
  mine?: boolean;
  requester?: string;
  json?: boolean;
}

export function registerJobLs(parent: Command): void {
  const cmd = parent
    .command('ls')
    .description('list jobs, newest first')
    .option('--status <status>', `only jobs in this state (${JobStatus.options.join(', ')})`, parseStatus)
    .option('--mine', 'only jobs of the account in --data-dir')
    .option('--requester <address>', 'only jobs of this account')
    .option('--limit <n>', 'at most this many', positiveInt('--limit'), 50);
  withJson(cmd);
  withExamples(cmd, 'lode job ls', 'lode job ls --status running --mine --json');
  cmd.action(async (opts: Options) => {
    const client = await clientOf(cmd);
    const requester = opts.mine ? (await loadAccount(globalsOf(cmd).dataDir)).address : opts.requester;
    const jobs = await listJobs(client, { status: opts.status, requester, limit: opts.limit });
    if (opts.json) return printJson({ jobs });
    process.stdout.write(`${table(jobs, JOB_COLUMNS, 'No jobs yet. Submit one with `lode run`.')}\n`);
  });
}

function parseStatus(value: string): JobStatus {
  const parsed = JobStatus.safeParse(value);
  if (!parsed.success) throw new InvalidArgumentError(`--status must be one of ${JobStatus.options.join(', ')}.`);
  return parsed.data;
}
