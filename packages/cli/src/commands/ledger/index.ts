/** `lode ledger` — Lode's contracts on a chain of your choice. */
import type { Command } from 'commander';
import { withExamples } from '../../context.js';
import { registerLedgerDeploy } from './deploy.js';

export function registerLedger(program: Command): void {
  const ledger = program.command('ledger').description("deploy Lode's contracts (token, staking, escrow, governance) on an EVM chain");
  withExamples(ledger, 'lode ledger deploy --rpc-url https://rpc.example --data-dir ./deployer');
  registerLedgerDeploy(ledger);
}
