/**
 * A provider's payouts as the gateway lists them, waited for until its `tasks` paid executions
 * are in posted batches that are final on chain (JobEscrow.isFinal read independently of the
 * gateway), so that a claim takes all of them.
 *
 * @example
 * const view = await finalPayouts({ gateway: cluster.url, chain, escrow, provider, tasks: 6 });
 */
import type { Address, PublicClient } from 'viem';
import { jobEscrowAbi } from '@lode/ledger/client';
import type { PayoutsView } from '@lode/protocol';
import { waitFor } from './cluster.js';

export async function finalPayouts(o: { gateway: string; chain: PublicClient; escrow: Address; provider: Address; tasks: number }): Promise<PayoutsView> {
  let seen: PayoutsView | undefined;
  return waitFor(
    `${o.provider}'s payouts for ${o.tasks} task(s) posted and final`,
    async () => {
      const view = (await (await fetch(`${o.gateway}/v1/ledger/payouts/${o.provider}`)).json()) as PayoutsView;
      seen = view;
      const final = await Promise.all(
        view.payouts.map((p) =>
          p.chainBatchId === null
            ? false
            : o.chain.readContract({ address: o.escrow, abi: jobEscrowAbi, functionName: 'isFinal', args: [BigInt(p.chainBatchId)] }),
        ),
      );
      return view.totals.tasks === o.tasks && final.every(Boolean) ? view : undefined;
    },
    90_000,
    500,
  ).catch((err: Error) => {
    throw new Error(`${err.message}; the gateway listed: ${JSON.stringify(seen?.payouts.map((p) => ({ ...p, proof: undefined })))}`);
  });
}
