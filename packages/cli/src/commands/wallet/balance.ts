/** `lode wallet balance [address]` — ETH for gas, LODE, stake and eligibility of an account. */
import type { Command } from 'commander';
import { formatEther, type Address } from 'viem';
import { getAccountLedger } from '@lode/ledger/client';
import { withExamples, withJson } from '../../context.js';
import { formatLode } from '../../ledger.js';
import { printJson } from '../../output.js';
import { addressArg, readerOf } from '../ledger/shared.js';

export function registerWalletBalance(parent: Command): void {
  const cmd = parent
    .command('balance')
    .description('show ETH (for gas), LODE, stake and whether the account may serve as a provider')
    .argument('[address]', 'the account (default: the one in --data-dir)', addressArg('address'));
  withJson(cmd);
  withExamples(
    cmd,
    'lode wallet balance',
    'lode wallet balance 0x8ba1f109551bD432803012645Ac136ddd64DBA72 --json',
    'lode --data-dir .lode/nodes/0 wallet balance',
  );
  cmd.action(async (address: Address | undefined, opts: { json?: boolean }) => {
    const r = await readerOf(cmd, address);
    const a = await getAccountLedger(r.ledger, { address: r.address });
    const minStake = BigInt(r.info.params.minStake);
    if (opts.json) {
      return printJson({
        address: a.address,
        chainId: r.info.chainId,
        eth: a.eth.toString(),
        lode: a.lode.toString(),
        stake: a.stake.toString(),
        totalStake: a.totalStake.toString(),
        eligible: a.eligible,
        minStake: minStake.toString(),
      });
    }
    const delegated = a.totalStake - a.stake;
    process.stdout.write(
      `${a.address}${address ? '' : ' (the --data-dir account)'} on chain ${r.info.chainId}\n` +
        `  ETH:      ${formatEther(a.eth)} ETH (pays for gas)\n` +
        `  LODE:     ${formatLode(a.lode)}\n` +
        `  stake:    ${formatLode(a.stake)} own${delegated > 0n ? `, ${formatLode(delegated)} delegated to it by others` : ''}\n` +
        `  provider: ${a.eligible ? 'eligible' : `not eligible — needs ${formatLode(minStake)} of own stake (\`lode stake add <amount>\`)`}\n` +
        (a.eth === 0n ? `  This account has no ETH for gas: \`lode wallet faucet\` on a local network, or send it some.\n` : ''),
    );
  });
}
