/** `lode stake` — provider stake, delegation, unbonding and withdrawal of the --data-dir account. */
import type { Command } from 'commander';
import { withExamples } from '../../context.js';
import { registerStakeAdd } from './add.js';
import { registerStakeDelegate } from './delegate.js';
import { registerStakeStatus } from './status.js';
import { registerStakeUnbond } from './unbond.js';
import { registerStakeWithdraw } from './withdraw.js';

export function registerStake(program: Command): void {
  const stake = program.command('stake').description('stake LODE to serve as a provider, delegate to one, unbond and withdraw');
  withExamples(
    stake,
    'lode --data-dir .lode/nodes/0 stake add 100     # what a node needs to serve',
    'lode stake delegate 0x… 50',
    'lode stake unbond 20 && lode stake status',
  );
  registerStakeAdd(stake);
  registerStakeDelegate(stake);
  registerStakeUnbond(stake);
  registerStakeWithdraw(stake);
  registerStakeStatus(stake);
}
