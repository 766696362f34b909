/** `lode job results <id>` — print a job's task outputs, or write them under --out. */
import { getResults } from '@lode/sdk';
import type { Command } from 'commander';
import { clientOf, withExamples, withJson } from '../../context.js';
import { printJson } from '../../output.js';
import { resultJson, writeResults } from '../../results.js';

export function registerJobResults(parent: Command): void {
  const cmd = parent
    .command('results')
    .description("print each finished task's stdout in task order, or write stdout, stderr and files to --out DIR/<task>/")
    .argument('<id>', 'the job id')
    .option('--out <dir>', 'write results to DIR/<task index>/{stdout,stderr,<files>}');
  withJson(cmd);
  withExamples(cmd, 'lode job results 3f2a…', 'lode job results 3f2a… --out results/', 'lode job results 3f2a… --json | jq .results[0].stdout');
  cmd.action(async (id: string, opts: { out?: string; json?: boolean }) => {
    const results = await getResults(await clientOf(cmd, 'load'), { id });
    if (opts.out) {
      const { written, skipped } = await writeResults(opts.out, results, { perTask: true });
      for (const p of skipped) process.stderr.write(`warning: skipped a result file with an unsafe path: ${p}\n`);
      if (opts.json) return printJson({ jobId: id, tasks: results.length, written });
      process.stdout.write(`Wrote ${results.length} task result(s), ${written.length} file(s), under ${opts.out}\n`);
      return;
    }
    if (opts.json) return printJson({ jobId: id, results: results.map(resultJson) });
    for (const r of results) {
      process.stdout.write(r.stdout);
      if (r.status !== 'done' || (r.exitCode ?? 0) !== 0) {
        const why = r.error ? `${r.error.code}: ${r.error.message}` : `exit code ${r.exitCode}`;
        process.stderr.write(`task ${r.index}: ${r.status} (${why})\n`);
      }
    }
  });
}
