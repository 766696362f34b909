/**
 * The `lode` command tree. Each verb lives in its own file under commands/ (nouns as folders)
 * and registers itself on its parent, so it inherits the root's output and exit settings.
 */
import { Command } from 'commander';
import { addGlobalOptions, withExamples } from './context.js';
import { registerUp } from './commands/up.js';
import { registerGateway } from './commands/gateway.js';
import { registerNode } from './commands/node.js';
import { registerRun } from './commands/run.js';
import { registerNodes } from './commands/nodes.js';
import { registerJob } from './commands/job/index.js';
import { registerAccount } from './commands/account/index.js';
import { registerWallet } from './commands/wallet/index.js';
import { registerStake } from './commands/stake/index.js';
import { registerDevice } from './commands/device/index.js';
import { registerEarnings } from './commands/earnings.js';
import { registerGov } from './commands/gov/index.js';
import { registerLedger } from './commands/ledger/index.js';
import { registerCredential } from './commands/credential/index.js';

export const VERSION = '0.1.0';

/**
 * Builds the program. `onUsageError` receives commander's usage messages (unknown flag, missing
 * argument) so main can print them in the house format.
 */
export function createProgram(onUsageError: (message: string) => void): Command {
  const program = new Command('lode')
    .description('Lode — run WebAssembly jobs on a network of contributed computers.')
    .version(VERSION, '-V, --version')
    .exitOverride()
    .showSuggestionAfterError(true)
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
    .configureOutput({ outputError: (str) => onUsageError(str) });
  addGlobalOptions(program);
  withExamples(
    program,
    'lode up --nodes 4                      # a local network: gateway + 4 nodes',
    'lode run mandelbrot --tasks 64 --out out/',
    'lode job ls',
  );
  registerUp(program);
  registerGateway(program);
  registerNode(program);
  registerRun(program);
  registerNodes(program);
  registerJob(program);
  registerAccount(program);
  registerWallet(program);
  registerStake(program);
  registerDevice(program);
  registerEarnings(program);
  registerGov(program);
  registerLedger(program);
  registerCredential(program);
  return program;
}
