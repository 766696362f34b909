/** `lode device split <node> <count>` — split a device's income into whole shares you can sell. */
import type { Command } from 'commander';
import type { Address } from 'viem';
import { splitDevice } from '@lode/ledger/client';
import { withExamples, withJson } from '../../context.js';
import { printJson } from '../../output.js';
import { addressArg, sending, signerOf } from '../ledger/shared.js';
import { sharesArg } from './shared.js';

export function registerDeviceSplit(parent: Command): void {
  const cmd = parent
    .command('split')
    .description('split a device you hold into <count> shares of its income (2 to 10^12): you get every share; payouts are shared pro rata, to the wei')
    .argument('<node>', "the device's node address", addressArg('<node>'))
    .argument('<count>', 'how many whole shares', sharesArg('<count>'));
  withJson(cmd);
  withExamples(cmd, 'lode device split 0x8ba1f109551bD432803012645Ac136ddd64DBA72 100', 'lode device split 0x8ba1…BA72 1000 --json');
  cmd.action(async (node: Address, count: bigint, opts: { json?: boolean }) => {
    const s = await signerOf(cmd);
    const r = await sending(s, () => splitDevice(s.ledger, { node, count }));
    if (opts.json) return printJson({ node, owner: s.address, shares: r.shares, count: r.count.toString(), txHash: r.txHash });
    process.stdout.write(
      `Split device ${node} into ${r.count} shares (contract ${r.shares}); you hold all of them\n` +
        `  its payouts now go to the share contract, shared among the holders when they arrive\n` +
        `  sell some: lode device transfer ${node} <to> --shares <n>; claim yours: lode device claim ${node}\n` +
        `  tx: ${r.txHash}\n`,
    );
  });
}
