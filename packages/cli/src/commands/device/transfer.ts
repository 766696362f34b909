/**
 * `lode device transfer <node> <to> [--shares N]` — sell (or give) a device, which moves its
 * income to the buyer, or N shares of a split device's income.
 */
import type { Command } from 'commander';
import type { Address } from 'viem';
import { transferDevice, transferDeviceShares } from '@lode/ledger/client';
import { withExamples, withJson } from '../../context.js';
import { printJson } from '../../output.js';
import { addressArg, sending, signerOf } from '../ledger/shared.js';
import { DeviceNotSplitError, deviceOrFail, sharesArg } from './shared.js';

export function registerDeviceTransfer(parent: Command): void {
  const cmd = parent
    .command('transfer')
    .description("transfer a device's token to another account (its payouts follow; the node's stake stays with the node), or --shares of a split device")
    .argument('<node>', "the device's node address", addressArg('<node>'))
    .argument('<to>', 'the receiving account', addressArg('<to>'))
    .option('--shares <n>', "transfer this many shares of a split device's income instead of the device", sharesArg('--shares'));
  withJson(cmd);
  withExamples(
    cmd,
    'lode device transfer 0x8ba1f109551bD432803012645Ac136ddd64DBA72 0x71C7656EC7ab88b098defB751B7401B5f6d8976F',
    'lode device transfer 0x8ba1…BA72 0x71C7…976F --shares 10 --json',
  );
  cmd.action(async (node: Address, to: Address, opts: { shares?: bigint; json?: boolean }) => {
    const s = await signerOf(cmd);
    if (opts.shares === undefined) {
      const { txHash } = await sending(s, () => transferDevice(s.ledger, { node, to }));
      if (opts.json) return printJson({ node, from: s.address, to, shares: null, txHash });
      process.stdout.write(`Transferred device ${node} to ${to}: its payouts go there from now on\n  tx: ${txHash}\n`);
      return;
    }
    const device = await deviceOrFail(s.ledger, node);
    if (!device.split) {
      throw new DeviceNotSplitError(
        `Device ${node} is not split, so it has no shares to transfer. Transfer the whole device without --shares, or split it first (\`lode device split ${node} <count>\`).`,
        { meta: { node } },
      );
    }
    const shares = device.split.shares;
    const amount = opts.shares;
    const { txHash } = await sending(s, () => transferDeviceShares(s.ledger, { shares, to, amount }));
    if (opts.json) return printJson({ node, from: s.address, to, shares: amount.toString(), sharesContract: shares, txHash });
    process.stdout.write(
      `Transferred ${amount} of ${device.split.totalShares} shares of device ${node} to ${to}\n` +
        '  income already received stays yours to claim; what arrives from now on is shared with the new holding\n' +
        `  tx: ${txHash}\n`,
    );
  });
}
