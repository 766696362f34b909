/**
 * `lode device claim [node] [--shares ADDRESS]` — collect a device's income as its owner or a
 * shareholder: first the device's final payouts nobody has claimed yet (paid to the device's
 * payee; no node key needed), then, for a split device, the caller's share of the income.
 */
import type { Command } from 'commander';
import type { Address, Hex } from 'viem';
import { readContract } from 'viem/actions';
import { claimDevicePayouts, claimDeviceShares, deviceSharesAbi, sortPayouts } from '@lode/ledger/client';
import { getPayouts } from '@lode/sdk';
import { withExamples, withJson } from '../../context.js';
import { UsageError } from '../../errors.js';
import { formatLode } from '../../ledger.js';
import { printJson } from '../../output.js';
import { NothingToClaimError, addressArg, sending, signerOf } from '../ledger/shared.js';
import { deviceOrFail } from './shared.js';

export function registerDeviceClaim(parent: Command): void {
  const cmd = parent
    .command('claim')
    .description("claim a device's unclaimed final payouts (they go to its owner or share contract), then your share income of a split device")
    .argument('[node]', "the device's node address", addressArg('[node]'))
    .option('--shares <address>', 'claim your income from this share contract only (one closed by an unsplit, say)', addressArg('--shares'));
  withJson(cmd);
  withExamples(
    cmd,
    'lode device claim 0x8ba1f109551bD432803012645Ac136ddd64DBA72',
    'lode device claim --shares 0x5FbDB2315678afecb367f032d93F642f64180aa3 --json',
  );
  cmd.action(async (node: Address | undefined, opts: { shares?: Address; json?: boolean }) => {
    if (!node && !opts.shares) throw new UsageError('Name the device (<node>) or its share contract (--shares).', 'See `lode device claim --help`.');
    const s = await signerOf(cmd);
    let payouts: Awaited<ReturnType<typeof claimDevicePayouts>> | null = null;
    let shares = opts.shares;
    if (node) {
      const device = await deviceOrFail(s.ledger, node);
      const { claimable } = await sortPayouts(s.ledger, { provider: device.node, payouts: (await getPayouts(s.client, { address: device.node })).payouts });
      if (claimable.length > 0) payouts = await sending(s, () => claimDevicePayouts(s.ledger, { node: device.node, payouts: claimable }));
      shares ??= device.split?.shares;
    }
    let income: { shares: Address; amount: bigint; txHash: Hex } | null = null;
    if (shares) {
      const from = shares;
      const claimable = await readContract(s.ledger, { address: from, abi: deviceSharesAbi, functionName: 'claimableOf', args: [s.address] });
      // Only the explicit --shares asks for a claim the contract would refuse (NothingToClaim, in words).
      if (claimable > 0n || !node) income = { shares: from, ...(await sending(s, () => claimDeviceShares(s.ledger, { shares: from }))) };
    }
    if (!payouts && !income) {
      throw new NothingToClaimError(
        `Nothing to claim for device ${node}: no final payout of it is unclaimed${shares ? `, and ${s.address} has no share income to claim` : ''}.`,
        { meta: { node, shares: shares ?? null, address: s.address } },
      );
    }
    if (opts.json) {
      return printJson({
        node: node ?? null,
        address: s.address,
        payouts: payouts && { amount: payouts.amount.toString(), batches: payouts.batches, payee: payouts.payee, txHash: payouts.txHash },
        shares: income && { shares: income.shares, amount: income.amount.toString(), txHash: income.txHash },
      });
    }
    const lines: string[] = [];
    if (payouts)
      lines.push(
        `Claimed ${formatLode(payouts.amount)} of device ${node}'s payouts (${payouts.batches} batch(es)), paid to ${payouts.payee}`,
        `  tx: ${payouts.txHash}`,
      );
    if (income) lines.push(`Claimed ${formatLode(income.amount)} of share income from ${income.shares}`, `  tx: ${income.txHash}`);
    process.stdout.write(`${lines.join('\n')}\n`);
  });
}
