/**
 * @lode/cli — the `lode` command: start a local network (`lode up`), a gateway or a provider
 * node, run jobs, inspect them, manage the account.
 *
 * @example
 * $ lode up --nodes 4 &
 * $ lode run pi --tasks 16
 * $ lode job ls --json
 *
 * Exit statuses: 0 ok, 1 failure, 2 usage. Errors are one line `error [CODE]: message` plus
 * what to do next; LODE_DEBUG=1 adds stack traces.
 */
import { CommanderError, type Command } from 'commander';
import { EXIT, errorJson, exitCodeOf, formatError } from './errors.js';
import { createProgram } from './program.js';

/** Runs the command line (`process.argv` form) and resolves to the exit status. */
export async function main(argv: string[] = process.argv): Promise<number> {
  let usagePrinted = false;
  const program = createProgram((message) => {
    usagePrinted = true;
    process.stderr.write(formatUsage(message, verbPath(program, argv)));
  });
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and --version end in a CommanderError with status 0; `lode` alone shows help with status 1.
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return EXIT.ok;
      if (!usagePrinted && err.code !== 'commander.help') process.stderr.write(formatUsage(err.message, verbPath(program, argv)));
      return EXIT.usage;
    }
    if (argv.includes('--json')) process.stdout.write(`${JSON.stringify(errorJson(err))}\n`);
    process.stderr.write(`${formatError(err)}\n`);
    return exitCodeOf(err);
  }
}

/** commander's `error: unknown option '--x'` as `error [USAGE]: unknown option '--x'` and a pointer to --help. */
function formatUsage(message: string, verbs: string[]): string {
  const text = message.trim().replace(/^error:\s*/, '');
  return `error [USAGE]: ${text}\n  See \`${['lode', ...verbs, '--help'].join(' ')}\`.\n`;
}

/** The verbs named on the command line (`['job', 'show']`), for pointing at the right --help. */
function verbPath(program: Command, argv: string[]): string[] {
  const path: string[] = [];
  let cmd = program;
  for (const arg of argv.slice(2)) {
    if (arg.startsWith('-')) continue;
    const sub = cmd.commands.find((c) => c.name() === arg || c.aliases().includes(arg));
    if (!sub) break;
    path.push(sub.name());
    cmd = sub;
  }
  return path;
}
