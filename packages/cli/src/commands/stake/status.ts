/** `lode stake status [address]` — own stake, delegations, unbonding requests, withdrawable. */
import type { Command } from 'commander';
import type { Address } from 'viem';
import { getStakeStatus } from '@lode/ledger/client';
import { withExamples, withJson } from '../../context.js';
import { formatLode } from '../../ledger.js';
import { printJson, table } from '../../output.js';
import { addressArg, iso, readerOf, when } from '../ledger/shared.js';

export function registerStakeStatus(parent: Command): void {
  const cmd = parent
    .command('status')
    .description('show own stake and eligibility, delegations to providers, unbonding requests and what can be withdrawn')
    .argument('[address]', 'the account (default: the one in --data-dir)', addressArg('address'));
  withJson(cmd);
  withExamples(cmd, 'lode stake status', 'lode stake status 0x8ba1f109551bD432803012645Ac136ddd64DBA72 --json');
  cmd.action(async (address: Address | undefined, opts: { json?: boolean }) => {
    const r = await readerOf(cmd, address);
    const st = await getStakeStatus(r.ledger, { address: r.address });
    if (opts.json) {
      return printJson({
        address: st.address,
        stake: st.stake.toString(),
        totalStake: st.totalStake.toString(),
        eligible: st.eligible,
        minStake: st.minStake.toString(),
        delegations: st.delegations.map((d) => ({ provider: d.provider, amount: d.amount.toString() })),
        unbonding: st.unbonding.map((u) => ({
          provider: u.provider,
          amount: u.amount.toString(),
          releaseAt: iso(u.releaseAt),
          releaseAtSeconds: Number(u.releaseAt),
          released: u.released,
        })),
        withdrawable: st.withdrawable.toString(),
      });
    }
    const lines = [
      `${st.address}`,
      `  own stake:    ${formatLode(st.stake)} (${st.eligible ? 'eligible to serve' : `not eligible: the minimum is ${formatLode(st.minStake)}`})`,
      `  total stake:  ${formatLode(st.totalStake)} (own + delegated to it by others)`,
      `  withdrawable: ${formatLode(st.withdrawable)}${st.withdrawable > 0n ? ' — `lode stake withdraw`' : ''}`,
      '',
      'Delegations',
      indent(
        table(
          st.delegations,
          [
            { header: 'provider', value: (d) => d.provider },
            { header: 'amount', value: (d) => formatLode(d.amount), align: 'right' },
          ],
          '(none)',
        ),
      ),
      '',
      'Unbonding',
      indent(
        table(
          st.unbonding,
          [
            { header: 'provider', value: (u) => (u.provider.toLowerCase() === st.address.toLowerCase() ? 'own stake' : u.provider) },
            { header: 'amount', value: (u) => formatLode(u.amount), align: 'right' },
            { header: 'withdrawable from', value: (u) => (u.released ? 'now' : when(u.releaseAt)) },
          ],
          '(none)',
        ),
      ),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  });
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}
