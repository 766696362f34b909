/** `lode wallet` — the --data-dir account's money on the gateway's chain. */
import type { Command } from 'commander';
import { withExamples } from '../../context.js';
import { registerWalletBalance } from './balance.js';
import { registerWalletClaim } from './claim.js';
import { registerWalletFaucet } from './faucet.js';
import { registerWalletTransfer } from './transfer.js';

export function registerWallet(program: Command): void {
  const wallet = program.command('wallet').description('balances, test funds, transfers and payout claims of the --data-dir account');
  withExamples(wallet, 'lode wallet faucet && lode wallet balance', 'lode wallet transfer 0x… 25', 'lode --data-dir .lode/nodes/0 wallet claim');
  registerWalletBalance(wallet);
  registerWalletFaucet(wallet);
  registerWalletTransfer(wallet);
  registerWalletClaim(wallet);
}
