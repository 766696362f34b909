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
 * what to do next; LODE_DEBUG=1 adds stack traces. Output piped into a reader that goes away
 * (`| head`) ends the process quietly with status 0.
 */
import { CommanderError, type Command } from 'commander';
import { EXIT, errorJson, exitCodeOf, formatError } from './errors.js';
import { exitQuietlyOnClosedPipe } from './pipes.js';
import { installRejectionGuard } from './guard.js';
import { createProgram } from './program.js';

/** Runs the command line (`process.argv` form) and resolves to the exit status. */
export async function main(argv: string[] = process.argv): Promise<number> {
  exitQuietlyOnClosedPipe();
  installRejectionGuard();
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
      // Help and --version end in a CommanderError with status 0; `lode` alone shows help
      // (commander.help) and exits with the usage status, 2.
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

/**
 * The verbs named on the command line (`['job', 'show']`), for pointing at the right --help.
 * Skips flags and the values of flags that take one (`--gateway URL job ls` → `['job', 'ls']`).
 */
function verbPath(program: Command, argv: string[]): string[] {
  const path: string[] = [];
  let cmd = program;
  const args = argv.slice(2);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') break;
    if (arg.startsWith('-')) {
      if (!arg.includes('=') && takesValue(cmd, arg)) i++;
      continue;
    }
    const sub = cmd.commands.find((c) => c.name() === arg || c.aliases().includes(arg));
    if (!sub) break;
    path.push(sub.name());
    cmd = sub;
  }
  return path;
}

/** Whether `flag` is an option of `cmd` or an ancestor (global flags go anywhere) that takes a value. */
function takesValue(cmd: Command, flag: string): boolean {
  for (let c: Command | null = cmd; c; c = c.parent) {
    const option = c.options.find((o) => o.long === flag || o.short === flag);
    if (option) return option.required || option.optional;
  }
  return false;
}
