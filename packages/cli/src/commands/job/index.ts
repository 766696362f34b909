/** `lode job` — list, inspect, cancel jobs and fetch their results. */
import type { Command } from 'commander';
import { withExamples } from '../../context.js';
import { registerJobCancel } from './cancel.js';
import { registerJobLs } from './ls.js';
import { registerJobResults } from './results.js';
import { registerJobShow } from './show.js';

export function registerJob(program: Command): void {
  const job = program.command('job').description('list, inspect and cancel jobs; fetch their results');
  withExamples(job, 'lode job ls', 'lode job show <id>', 'lode job results <id> --out results/');
  registerJobLs(job);
  registerJobShow(job);
  registerJobCancel(job);
  registerJobResults(job);
}
