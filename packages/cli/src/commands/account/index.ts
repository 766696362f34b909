/** `lode account` — the requester's key in --data-dir. */
import type { Command } from 'commander';
import { withExamples } from '../../context.js';
import { registerAccountNew } from './new.js';
import { registerAccountShow } from './show.js';

export function registerAccount(program: Command): void {
  const account = program.command('account').description('create or show the account (key) in --data-dir');
  withExamples(account, 'lode account new', 'lode account show --json');
  registerAccountNew(account);
  registerAccountShow(account);
}
