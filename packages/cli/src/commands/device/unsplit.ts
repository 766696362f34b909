/** `lode device unsplit <node>` — end a split: with every share in hand, get the device token back. */
import type { Command } from 'commander';
import type { Address } from 'viem';
import { unsplitDevice } from '@lode/ledger/client';
import { withExamples, withJson } from '../../context.js';
import { printJson } from '../../output.js';
import { addressArg, sending, signerOf } from '../ledger/shared.js';

export function registerDeviceUnsplit(parent: Command): void {
  const cmd = parent
    .command('unsplit')
    .description('end a split: you must hold every share; they are burnt and the device token returns to you (past holders still claim what they earned)')
    .argument('<node>', "the device's node address", addressArg('<node>'));
  withJson(cmd);
  withExamples(cmd, 'lode device unsplit 0x8ba1f109551bD432803012645Ac136ddd64DBA72', 'lode device unsplit 0x8ba1…BA72 --json');
  cmd.action(async (node: Address, opts: { json?: boolean }) => {
    const s = await signerOf(cmd);
    const { txHash } = await sending(s, () => unsplitDevice(s.ledger, { node }));
    if (opts.json) return printJson({ node, owner: s.address, txHash });
    process.stdout.write(`Unsplit device ${node}: you hold its token again, and its payouts come to you\n  tx: ${txHash}\n`);
  });
}
