/** The dashboard's view of the ledger: `GET /v1/ledger` when `/v1/stats` says it is on. */
import { getLedgerInfo, getPayouts } from '@lode/sdk';
import type { Hex } from 'viem';
import { readClient } from '../shared/client.js';
import type { LedgerInfo } from '../agent/ledger.js';
import { usePoll, type Polled } from './hooks.js';
import { getStats } from './stats.js';

/** null: the gateway runs without a ledger; undefined: not known yet. */
export function useLedgerInfo(everyMs = 15_000): Polled<LedgerInfo | null> {
  return usePoll(async (signal) => {
    const stats = await getStats(signal);
    if (!stats.ledger?.enabled) return null;
    return getLedgerInfo(readClient, { signal });
  }, everyMs);
}

export interface NodeMoney {
  /** Own stake, in the token's smallest unit. */
  stake: bigint;
  /** Net payouts from settlement batches. */
  earned: bigint;
}

/** Most nodes whose stake and earnings are read (one chain read and one API call each). */
export const MAX_NODES_WITH_MONEY = 100;

/** Stake and earnings of the first `MAX_NODES_WITH_MONEY` addresses, by lowercase address. */
export async function nodeMoney(info: LedgerInfo, addresses: string[]): Promise<Map<string, NodeMoney>> {
  const some = addresses.slice(0, MAX_NODES_WITH_MONEY) as Hex[];
  const { stakesOf } = await import('../agent/ledger.js');
  const [stakes, payouts] = await Promise.all([stakesOf(info, some), Promise.all(some.map((address) => getPayouts(readClient, { address })))]);
  return new Map(some.map((a, i) => [a.toLowerCase(), { stake: stakes[i]!, earned: BigInt(payouts[i]!.totals.net) }]));
}
