/**
 * `lode wallet claim [--restake]` — claim every final, unclaimed payout of the --data-dir account
 * (a provider) in one transaction, with the Merkle proofs the gateway serves.
 */
import type { Command } from 'commander';
import type { PayoutView } from '@lode/protocol';
import { claimPayouts, sortPayouts } from '@lode/ledger/client';
import { getPayouts } from '@lode/sdk';
import { withExamples, withJson } from '../../context.js';
import { formatLode } from '../../ledger.js';
import { printJson } from '../../output.js';
import { NothingToClaimError, iso, sending, signerOf, when, type Signer } from '../ledger/shared.js';

export function registerWalletClaim(parent: Command): void {
  const cmd = parent
    .command('claim')
    .description('claim every settled payout that is final (past its challenge window) in one transaction; says when the rest becomes claimable')
    .option('--restake', "add what is claimed to the account's own stake instead of its balance");
  withJson(cmd);
  withExamples(cmd, 'lode --data-dir .lode/nodes/0 wallet claim', 'lode wallet claim --restake --json');
  cmd.action(async (opts: { restake?: boolean; json?: boolean }) => {
    const s = await signerOf(cmd);
    const { payouts } = await getPayouts(s.client, { address: s.address });
    const { ready, claimable, later } = await sortPayouts(s.ledger, { provider: s.address, payouts });
    const sum = (xs: PayoutView[]) => xs.reduce((n, p) => n + BigInt(p.amount), 0n);
    const laterLines = describeLater(s, later);
    const pending = later.map((p) => ({
      batch: p.batch,
      amount: p.amount,
      status: p.status,
      claimableAt: p.claimableAt === null ? null : iso(p.claimableAt / 1000),
    }));

    if (ready.length === 0) {
      const paid = payouts.filter((p) => BigInt(p.amount) > 0n).length;
      const claimedBefore = paid - later.length;
      const why =
        paid === 0
          ? 'it has no payouts yet (a provider is paid after the gateway settles the tasks it ran).'
          : later.length === 0
            ? `${claimedBefore === 1 ? 'its one payout is' : `all ${claimedBefore} of its payouts are`} claimed already.`
            : `${formatLode(sum(later))} is not final yet.`;
      throw new NothingToClaimError(`Nothing to claim for ${s.address}: ${why}`, {
        details: laterLines.length > 0 ? laterLines.join('\n') : undefined,
        meta: { address: s.address, pending },
      });
    }

    const result = await sending(s, () =>
      claimPayouts(s.ledger, {
        payouts: claimable,
        restake: opts.restake === true,
      }),
    );
    if (opts.json) {
      return printJson({
        address: s.address,
        amount: result.amount.toString(),
        batches: ready.map((p) => p.batch),
        restaked: opts.restake === true,
        txHash: result.txHash,
        pending,
      });
    }
    process.stdout.write(
      `Claimed ${formatLode(result.amount)} from ${ready.length} settlement batch(es)${opts.restake ? ', added to your own stake' : ''}\n` +
        `  tx: ${result.txHash}\n` +
        (laterLines.length > 0 ? `${laterLines.map((l) => `  ${l}`).join('\n')}\n` : '  nothing else is waiting.\n'),
    );
  });
}

/** When the payouts that are not final yet become claimable, in words. */
function describeLater(s: Signer, later: PayoutView[]): string[] {
  const lines: string[] = [];
  const now = Date.now();
  const soon = later.filter((p) => p.status === 'posted' && p.claimableAt !== null && p.claimableAt > now - 2000);
  const held = later.filter((p) => p.status === 'posted' && !soon.includes(p));
  const unposted = later.filter((p) => p.status !== 'posted');
  const sum = (xs: PayoutView[]) => formatLode(xs.reduce((n, p) => n + BigInt(p.amount), 0n));
  if (soon.length > 0) {
    const last = Math.max(...soon.map((p) => p.claimableAt!));
    lines.push(
      `${sum(soon)} more becomes claimable by ${when(Math.ceil(last / 1000))} (batch ${soon.map((p) => p.batch).join(', ')}): run \`lode wallet claim\` again then.`,
    );
  }
  if (unposted.length > 0) {
    lines.push(
      `${sum(unposted)} waits for the gateway to post batch ${unposted.map((p) => p.batch).join(', ')} on chain; it becomes claimable ${s.info.params.challengeWindow} s after that.`,
    );
  }
  if (held.length > 0) {
    lines.push(`${sum(held)} is held: its batch (${held.map((p) => p.batch).join(', ')}) is disputed or voided, and governance decides.`);
  }
  return lines;
}
