/** `lode job show <id>` — one job's state, counts and (with --tasks) its tasks. */
import { getJob, listTasks } from '@lode/sdk';
import type { Command } from 'commander';
import { clientOf, withExamples, withJson } from '../../context.js';
import { describeJob } from '../../jobFormat.js';
import { printJson, shortAddress, table } from '../../output.js';

export function registerJobShow(parent: Command): void {
  const cmd = parent
    .command('show')
    .description('show a job: status, task counts, requester, module')
    .argument('<id>', 'the job id (from `lode run` or `lode job ls`)')
    .option('--tasks', 'also list its tasks (status, attempts, node, error)');
  withJson(cmd);
  withExamples(cmd, 'lode job show 3f2a…', 'lode job show 3f2a… --tasks --json');
  cmd.action(async (id: string, opts: { tasks?: boolean; json?: boolean }) => {
    const client = await clientOf(cmd, 'load');
    const job = await getJob(client, { id });
    const tasks = opts.tasks ? await allTasks(client, id) : undefined;
    if (opts.json) return printJson(tasks ? { job, tasks } : { job });
    process.stdout.write(`${describeJob(job)}\n`);
    if (tasks) {
      const rows = table(tasks, [
        { header: 'task', value: (t) => t.index, align: 'right' },
        { header: 'status', value: (t) => t.status },
        { header: 'attempts', value: (t) => t.attempts, align: 'right' },
        { header: 'node', value: (t) => (t.node ? shortAddress(t.node) : '-') },
        { header: 'error', value: (t) => (t.error ? `${t.error.code}: ${t.error.message}` : '') },
      ]);
      process.stdout.write(`\n${rows}\n`);
    }
  });
}

async function allTasks(client: Awaited<ReturnType<typeof clientOf>>, id: string) {
  const tasks = [];
  for (let offset = 0; ; ) {
    const page = await listTasks(client, { id, offset, limit: 1000 });
    if (page.length === 0) return tasks;
    tasks.push(...page);
    offset += page.length;
  }
}
