/** `lode stake withdraw` — pay out every unbonding request whose period has passed. */
import type { Command } from 'commander';
import { getStakeStatus, withdraw } from '@lode/ledger/client';
import { withExamples, withJson } from '../../context.js';
import { formatLode } from '../../ledger.js';
import { printJson } from '../../output.js';
import { sending, signerOf, when } from '../ledger/shared.js';

export function registerStakeWithdraw(parent: Command): void {
  const cmd = parent.command('withdraw').description('withdraw unbonded stake whose unbonding period has passed (all released requests at once)');
  withJson(cmd);
  withExamples(cmd, 'lode stake withdraw', 'lode --data-dir .lode/nodes/0 stake withdraw --json');
  cmd.action(async (opts: { json?: boolean }) => {
    const s = await signerOf(cmd);
    const { amount, txHash } = await sending(s, () => withdraw(s.ledger));
    const left = (await getStakeStatus(s.ledger, { address: s.address })).unbonding;
    if (opts.json)
      return printJson({
        address: s.address,
        amount: amount.toString(),
        txHash,
        stillUnbonding: left.map((r) => ({ provider: r.provider, amount: r.amount.toString(), releaseAt: Number(r.releaseAt) })),
      });
    process.stdout.write(
      `Withdrew ${formatLode(amount)}\n` +
        (left.length > 0 ? `  still unbonding: ${formatLode(left.reduce((n, r) => n + r.amount, 0n))}, the next from ${when(left[0]!.releaseAt)}\n` : '') +
        `  tx: ${txHash}\n`,
    );
  });
}
