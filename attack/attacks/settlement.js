/**
 * Issue 9, attack 3 — halt settlement with a node's number: a staked node takes leases of a paid
 * job and reports `fuelUsed` = 2^53 − 1 (the charge would pass the job's escrow and every batch
 * would revert). Held when each such result is refused and counted against the node, the job
 * completes right on honest nodes, and settlement keeps posting (no batch left prepared).
 */
import { join } from 'node:path';
import { honestJob } from '../honest.js';
import { rawNode } from '../rawNode.js';

export const id = 'fuel-overclaim';
export const title = 'a staked node claims 2^53 − 1 fuel on a paid job';

export async function run(net) {
  const account = await net.provision(join(net.dir, 'liar-fuel'), true);
  const liar = await rawNode(net.wsUrl, account, () => ({ stdout: 'paid in full', fuelUsed: Number.MAX_SAFE_INTEGER }));
  const requester = await net.requester('fuel');
  const job = await honestJob(requester, { tasks: 12 });
  liar.close();
  const refused = liar.errors.filter((e) => e.code === 'INVALID_RESULT').length;
  // Settlement goes on: within a few rounds nothing is left prepared, and batches get posted.
  let batches;
  for (let i = 0; i < 60; i++) {
    batches = await (await fetch(`${net.url}/v1/ledger/batches?limit=50`)).json();
    const unsettled = (await (await fetch(`${net.url}/v1/ledger`)).json()).settlement;
    if (unsettled.batches.prepared === 0 && unsettled.unsettledReceipts === 0 && batches.batches.some((b) => b.status === 'posted')) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  const info = (await (await fetch(`${net.url}/v1/ledger`)).json()).settlement;
  const nodes = (await (await fetch(`${net.url}/v1/nodes`)).json()).nodes;
  const record = nodes.find((n) => n.address === account.address.toLowerCase())?.reputation;
  const held = refused > 0 && job.ok && info.batches.prepared === 0 && info.unsettledReceipts === 0 && (record?.invalid ?? 0) > 0;
  return {
    held,
    detail: `${refused} overclaimed results refused (INVALID_RESULT), the liar's record shows ${record?.invalid ?? '?'} offences; honest job ${job.ok ? 'right' : job.problem}; settlement: ${info.batches.posted} posted, ${info.batches.prepared} prepared, ${info.unsettledReceipts} receipts waiting`,
  };
}
