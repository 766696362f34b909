/** `lode wallet transfer <to> <amount>` — send LODE from the --data-dir account. */
import type { Command } from 'commander';
import type { Address } from 'viem';
import { getAccountLedger, transfer } from '@lode/ledger/client';
import { withExamples, withJson } from '../../context.js';
import { formatLode, lodeAmount } from '../../ledger.js';
import { printJson } from '../../output.js';
import { addressArg, sending, signerOf } from '../ledger/shared.js';

export function registerWalletTransfer(parent: Command): void {
  const cmd = parent
    .command('transfer')
    .description('send LODE to another account')
    .argument('<to>', 'the receiving address', addressArg('<to>'))
    .argument('<amount>', 'LODE, in whole tokens (25, 0.5)', lodeAmount('<amount>'));
  withJson(cmd);
  withExamples(cmd, 'lode wallet transfer 0x8ba1f109551bD432803012645Ac136ddd64DBA72 25', 'lode wallet transfer 0x8ba1…BA72 0.5 --json');
  cmd.action(async (to: Address, amount: bigint, opts: { json?: boolean }) => {
    const s = await signerOf(cmd);
    const { txHash } = await sending(s, () => transfer(s.ledger, { to, amount }));
    const left = (await getAccountLedger(s.ledger, { address: s.address })).lode;
    if (opts.json) return printJson({ from: s.address, to, amount: amount.toString(), balance: left.toString(), txHash });
    process.stdout.write(`Sent ${formatLode(amount)} to ${to}\n  balance: ${formatLode(left)}\n  tx:      ${txHash}\n`);
  });
}
