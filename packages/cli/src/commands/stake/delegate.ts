/** `lode stake delegate <provider> <amount>` — delegate LODE to a provider's stake. */
import type { Command } from 'commander';
import type { Address } from 'viem';
import { getStakeStatus, stake } from '@lode/ledger/client';
import { withExamples, withJson } from '../../context.js';
import { formatLode, lodeAmount } from '../../ledger.js';
import { printJson } from '../../output.js';
import { addressArg, sending, signerOf } from '../ledger/shared.js';

export function registerStakeDelegate(parent: Command): void {
  const cmd = parent
    .command('delegate')
    .description("delegate LODE to a provider: it adds to the provider's total stake and shares its slashes in proportion")
    .argument('<provider>', "the provider's address (`lode nodes` lists them)", addressArg('<provider>'))
    .argument('<amount>', 'LODE, in whole tokens', lodeAmount('<amount>'));
  withJson(cmd);
  withExamples(cmd, 'lode stake delegate 0x8ba1f109551bD432803012645Ac136ddd64DBA72 50', 'lode stake delegate 0x8ba1…BA72 10 --json');
  cmd.action(async (provider: Address, amount: bigint, opts: { json?: boolean }) => {
    const s = await signerOf(cmd);
    const { txHashes } = await sending(s, () => stake(s.ledger, { amount, provider }));
    const status = await getStakeStatus(s.ledger, { address: s.address });
    const withProvider = status.delegations.find((d) => d.provider.toLowerCase() === provider.toLowerCase())?.amount ?? 0n;
    if (opts.json) return printJson({ address: s.address, provider, amount: amount.toString(), delegation: withProvider.toString(), txHashes });
    process.stdout.write(
      `Delegated ${formatLode(amount)} to ${provider}: your delegation to it is now ${formatLode(withProvider)}\n` +
        `  undo with \`lode stake unbond <amount> --provider ${provider}\`\n` +
        `  tx: ${txHashes.join(', ')}\n`,
    );
  });
}
