import { getAddress, type Address, type Hex } from 'viem';
import { readContract } from 'viem/actions';
import type { PayoutView } from '@lode/protocol';
import type { LedgerClient } from '../client.js';
import { jobEscrowAbi } from '../contracts.js';
import type { ClaimablePayout } from './claimPayouts.js';

export interface SortPayoutsParameters {
  /** The provider (node) the payouts are to: the address in the payout trees. */
  provider: Address;
  /** Its payouts as the gateway lists them (`getPayouts`). */
  payouts: PayoutView[];
}

export interface SortPayoutsReturnType {
  /** What JobEscrow pays now: posted, final, unclaimed on chain, more than zero. */
  ready: PayoutView[];
  /** The same, in the form `claimPayouts` / `claimDevicePayouts` take. */
  claimable: ClaimablePayout[];
  /** Unclaimed and more than zero, but not payable yet: not posted, not final, or held. */
  later: PayoutView[];
}

/**
 * Sorts a provider's unclaimed payouts by what the chain says now, not by the gateway's view
 * alone: `JobEscrow.isFinal` for each posted batch, and `isClaimed` (a claim the gateway has not
 * seen yet would make the whole claim revert). Claimed or empty payouts are in neither list.
 *
 * @example
 * const { claimable, later } = await sortPayouts(ledger, { provider, payouts: (await getPayouts(api, { address: provider })).payouts });
 */
export async function sortPayouts(client: LedgerClient, p: SortPayoutsParameters): Promise<SortPayoutsReturnType> {
  const provider = getAddress(p.provider);
  const escrow = client.addresses.escrow;
  const open = p.payouts.filter((x) => !x.claimed && BigInt(x.amount) > 0n);
  const state = await Promise.all(
    open.map(async (x): Promise<'ready' | 'later' | 'claimed'> => {
      if (x.status !== 'posted' || x.chainBatchId === null) return 'later';
      const batchId = BigInt(x.chainBatchId);
      const [final, claimed] = await Promise.all([
        readContract(client, { address: escrow, abi: jobEscrowAbi, functionName: 'isFinal', args: [batchId] }),
        readContract(client, { address: escrow, abi: jobEscrowAbi, functionName: 'isClaimed', args: [batchId, provider] }),
      ]);
      return claimed ? 'claimed' : final ? 'ready' : 'later';
    }),
  );
  const ready = open.filter((_, i) => state[i] === 'ready');
  return {
    ready,
    claimable: ready.map((x) => ({ batchId: BigInt(x.chainBatchId!), amount: BigInt(x.amount), proof: x.proof as Hex[] })),
    later: open.filter((_, i) => state[i] === 'later'),
  };
}
