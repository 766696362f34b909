/** `lode device show <node>` — a device's token, owner, kind, join time and, when split, its share table. */
import type { Command } from 'commander';
import type { Address } from 'viem';
import { clientOf, withExamples, withJson } from '../../context.js';
import { formatLode, ledgerOf } from '../../ledger.js';
import { printJson, table } from '../../output.js';
import { addressArg, when } from '../ledger/shared.js';
import { deviceJson, deviceOrFail, percentOf } from './shared.js';

export function registerDeviceShow(parent: Command): void {
  const cmd = parent
    .command('show')
    .description('show a device: its token, owner, kind and join time, and when split every holder with its shares and claimable income')
    .argument('<node>', "the device's node address (`lode device ls` lists them)", addressArg('<node>'));
  withJson(cmd);
  withExamples(cmd, 'lode device show 0x8ba1f109551bD432803012645Ac136ddd64DBA72', 'lode device show 0x8ba1…BA72 --json');
  cmd.action(async (node: Address, opts: { json?: boolean }) => {
    const { ledger } = await ledgerOf(await clientOf(cmd, 'none'));
    const d = await deviceOrFail(ledger, node);
    if (opts.json) return printJson(deviceJson(d, ledger.addresses.registry));
    const lines = [
      `Device ${d.node}`,
      `  token:        ${d.deviceId} (the node's address as a number, in DeviceRegistry ${ledger.addresses.registry})`,
      `  owner:        ${d.split ? `split into ${d.split.totalShares} shares (the registry holds the token)` : d.owner}`,
      `  kind:         ${d.kind}`,
      `  joined:       ${when(d.joinedAt)}`,
      `  capabilities: ${d.capabilitiesHash}`,
      `  payouts go to ${d.payee}${d.split ? ' (the share contract)' : ' (the owner)'}`,
    ];
    if (d.split) {
      const s = d.split;
      lines.push(
        '',
        `Shares ${s.shares}: ${s.totalShares} in all, ${s.holderCount} holder(s); income so far ${formatLode(s.incomeTotal)}`,
        table(
          s.holders,
          [
            { header: 'holder', value: (h) => h.holder },
            { header: 'shares', value: (h) => h.shares.toString(), align: 'right' },
            { header: '%', value: (h) => percentOf(h.shares, s.totalShares).toString(), align: 'right' },
            { header: 'claimable', value: (h) => formatLode(h.claimable), align: 'right' },
          ],
          '(no holders)',
        )
          .split('\n')
          .map((l) => `  ${l}`)
          .join('\n'),
      );
      if (s.holders.length < s.holderCount) lines.push(`  (the ${s.holders.length} largest holders shown)`);
    }
    process.stdout.write(`${lines.join('\n')}\n`);
  });
}
