/** `lode device ls [--owner A | --mine]` — the registered devices, or one owner's. */
import { Option, type Command } from 'commander';
import type { Address } from 'viem';
import { DEVICE_LIST_LIMIT, listDevices } from '@lode/ledger/client';
import { clientOf, withExamples, withJson } from '../../context.js';
import { ledgerOf } from '../../ledger.js';
import { printJson, table } from '../../output.js';
import { addressArg, iso, signerOf, when } from '../ledger/shared.js';

export function registerDeviceLs(parent: Command): void {
  const cmd = parent
    .command('ls')
    .description(`list the registered devices (the first ${DEVICE_LIST_LIMIT.toLocaleString('en-US')}), or those one account holds`)
    .option('--owner <address>', 'only the devices whose token this account holds', addressArg('--owner'))
    .addOption(new Option('--mine', 'only the devices the --data-dir account holds').conflicts('owner'));
  withJson(cmd);
  withExamples(cmd, 'lode device ls', 'lode device ls --mine', 'lode device ls --owner 0x8ba1f109551bD432803012645Ac136ddd64DBA72 --json');
  cmd.action(async (opts: { owner?: Address; mine?: boolean; json?: boolean }) => {
    const r = opts.mine ? await signerOf(cmd) : { ...(await ledgerOf(await clientOf(cmd, 'none'))), address: undefined };
    const owner = opts.owner ?? r.address;
    const { devices, total, truncated } = await listDevices(r.ledger, { owner });
    if (opts.json) {
      return printJson({
        owner: owner ?? null,
        total,
        truncated,
        devices: devices.map((d) => ({
          node: d.node,
          deviceId: d.deviceId.toString(),
          owner: d.owner,
          holder: d.holder,
          kind: d.kind,
          capabilitiesHash: d.capabilitiesHash,
          joinedAt: iso(d.joinedAt),
          shares: d.shares,
        })),
      });
    }
    const body = table(
      devices,
      [
        { header: 'node', value: (d) => d.node },
        { header: 'owner', value: (d) => d.owner ?? `split (shares ${d.shares})` },
        { header: 'kind', value: (d) => d.kind },
        { header: 'joined', value: (d) => when(d.joinedAt) },
      ],
      owner ? `(${owner} holds no device token)` : '(no devices registered yet: `lode device register`)',
    );
    const more = truncated ? `\n(showing the first ${devices.length} of ${total})` : '';
    process.stdout.write(`${body}${more}\n`);
  });
}
