/** `lode stake add <amount>` — stake LODE as the --data-dir account's own provider stake. */
import type { Command } from 'commander';
import { getAccountLedger, stake } from '@lode/ledger/client';
import { withExamples, withJson } from '../../context.js';
import { formatLode, lodeAmount } from '../../ledger.js';
import { printJson } from '../../output.js';
import { sending, signerOf } from '../ledger/shared.js';

export function registerStakeAdd(parent: Command): void {
  const cmd = parent
    .command('add')
    .description("stake LODE as this account's own provider stake (a node serves only with the minimum stake)")
    .argument('<amount>', 'LODE, in whole tokens', lodeAmount('<amount>'));
  withJson(cmd);
  withExamples(cmd, 'lode --data-dir .lode/nodes/0 stake add 100', 'lode stake add 250.5 --json');
  cmd.action(async (amount: bigint, opts: { json?: boolean }) => {
    const s = await signerOf(cmd);
    const { txHashes } = await sending(s, () => stake(s.ledger, { amount }));
    const a = await getAccountLedger(s.ledger, { address: s.address });
    const minStake = BigInt(s.info.params.minStake);
    if (opts.json)
      return printJson({
        address: s.address,
        amount: amount.toString(),
        stake: a.stake.toString(),
        eligible: a.eligible,
        minStake: minStake.toString(),
        txHashes,
      });
    process.stdout.write(
      `Staked ${formatLode(amount)}: own stake now ${formatLode(a.stake)}\n` +
        `  provider: ${a.eligible ? 'eligible to serve' : `not eligible yet — ${formatLode(minStake - a.stake)} more needed (minimum ${formatLode(minStake)})`}\n` +
        `  tx:       ${txHashes.join(', ')}\n`,
    );
  });
}
