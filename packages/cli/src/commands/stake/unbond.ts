/** `lode stake unbond <amount> [--provider P]` — start unbonding own stake or a delegation. */
import { InvalidArgumentError, type Command } from 'commander';
import type { Address } from 'viem';
import { unbond } from '@lode/ledger/client';
import { withExamples, withJson } from '../../context.js';
import { formatLode, lodeAmount } from '../../ledger.js';
import { printJson } from '../../output.js';
import { addressArg, iso, sending, signerOf, when } from '../ledger/shared.js';

export function registerStakeUnbond(parent: Command): void {
  const cmd = parent
    .command('unbond')
    .description('start unbonding stake: it stops counting at once, stays slashable, and can be withdrawn after the unbonding period')
    .argument('<amount>', 'LODE, in whole tokens, or "all"', amountOrAll)
    .option('--provider <address>', 'unbond a delegation to this provider (default: your own stake)', addressArg('--provider'));
  withJson(cmd);
  withExamples(
    cmd,
    'lode stake unbond 20',
    'lode stake unbond all --provider 0x8ba1f109551bD432803012645Ac136ddd64DBA72',
    'lode --data-dir .lode/nodes/0 stake unbond 50 --json',
  );
  cmd.action(async (amount: bigint | 'all', opts: { provider?: Address; json?: boolean }) => {
    const s = await signerOf(cmd);
    const r = await sending(s, () => unbond(s.ledger, { amount, provider: opts.provider }));
    if (opts.json)
      return printJson({
        address: s.address,
        provider: r.provider,
        amount: r.amount.toString(),
        releaseAt: iso(r.releaseAt),
        releaseAtSeconds: Number(r.releaseAt),
        txHash: r.txHash,
      });
    const whose = r.provider.toLowerCase() === s.address.toLowerCase() ? 'of your own stake' : `delegated to ${r.provider}`;
    process.stdout.write(
      `Unbonding ${formatLode(r.amount)} ${whose}\n` + `  withdraw from ${when(r.releaseAt)} with \`lode stake withdraw\`\n` + `  tx: ${r.txHash}\n`,
    );
  });
}

function amountOrAll(value: string): bigint | 'all' {
  if (value === 'all') return 'all';
  try {
    return lodeAmount('<amount>')(value);
  } catch (err) {
    throw new InvalidArgumentError(`${(err as Error).message.replace(/\.$/, '')}, or "all".`);
  }
}
