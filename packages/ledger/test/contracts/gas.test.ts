/**
 * Gas of the settlement path, measured from receipts (deterministic; no wall time): postBatch
 * by number of jobs, claim by tree size and by number of batches. Prints a table and holds
 * each figure under a ceiling so that a regression shows.
 */
import { parseEther, type Address, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accounts, createLedgerFixture, jobId, payoutTree, type LedgerFixture } from '../support/ledger.js';

const E = (n: number | string) => parseEther(String(n));
const WINDOW = 5;

describe('settlement gas', () => {
  let f: LedgerFixture;
  const rows: Array<[string, bigint]> = [];
  beforeAll(async () => {
    f = await createLedgerFixture();
  });
  afterAll(async () => {
    console.log(['operation | gas', '--- | ---:', ...rows.map(([k, g]) => `${k} | ${g.toLocaleString('en')}`)].join('\n'));
    await f.close();
  });

  /** Providers: p1 plus `n - 1` made-up addresses (they only need leaves). */
  const providers = (n: number): Address[] => [
    accounts.p1.address,
    ...Array.from({ length: n - 1 }, (_, i) => privateKeyToAccount(`0x${(i + 1000).toString(16).padStart(64, '0')}` as Hex).address),
  ];

  async function postBatch(jobs: Hex[], perJob: bigint, payees: Address[]) {
    const total = perJob * BigInt(jobs.length);
    const payout = total - (total * 100n) / 10_000n;
    const each = payout / BigInt(payees.length);
    const tree = payoutTree(payees.map((p) => [p, each] as const));
    const receipt = await f.tx(f.escrow('gateway').write.postBatch([tree.root, jobs, jobs.map(() => perJob)]));
    return { receipt, tree, batchId: await f.escrow('gateway').read.batchCount() };
  }

  it('postBatch: 1 job paying 1, 4 and 32 providers; 10 and 100 jobs', async () => {
    await f.reset();
    const jobs = Array.from({ length: 100 }, (_, i) => jobId(`gas-${i}`));
    for (const id of jobs) await f.tx(f.escrow('alice').write.deposit([id, E(1000), (await f.now()) + 3600n]));
    for (const n of [1, 4, 32]) {
      const { receipt } = await postBatch([jobs[0]!], E(1), providers(n));
      rows.push([`postBatch, 1 job, ${n} provider(s)`, receipt.gasUsed]);
      expect(receipt.gasUsed).toBeLessThan(160_000n);
    }
    for (const n of [10, 100]) {
      const { receipt } = await postBatch(jobs.slice(0, n), E(1), providers(32));
      rows.push([`postBatch, ${n} jobs, 32 providers`, receipt.gasUsed]);
      expect(receipt.gasUsed).toBeLessThan(160_000n + BigInt(n) * 12_000n);
    }
  });

  it('claim: one batch from trees of 1, 4 and 32 providers; 10 batches at once; with restake', async () => {
    await f.reset();
    const id = jobId('gas-claim');
    await f.tx(f.escrow('alice').write.deposit([id, E(100_000), (await f.now()) + 3600n]));
    type Posted = Awaited<ReturnType<typeof postBatch>>;
    const single: Array<Posted & { n: number }> = [];
    for (const n of [1, 4, 32]) single.push({ n, ...(await postBatch([id], E(10), providers(n))) });
    const ten: Posted[] = [];
    for (let i = 0; i < 10; i++) ten.push(await postBatch([id], E(10), providers(32)));
    const restaked: Posted[] = [];
    for (let i = 0; i < 10; i++) restaked.push(await postBatch([id], E(10), providers(32)));
    await f.increaseTime(WINDOW);
    const p1 = accounts.p1.address;

    for (const { n, tree, batchId } of single) {
      const receipt = await f.tx(f.escrow('p1').write.claim([[batchId], [tree.amount(p1)], [tree.proof(p1)], false]));
      rows.push([`claim, 1 batch, tree of ${n} (proof ${tree.proof(p1).length})`, receipt.gasUsed]);
      expect(receipt.gasUsed).toBeLessThan(100_000n);
    }
    const claimMany = (batches: typeof ten, restake: boolean) =>
      f.tx(f.escrow('p1').write.claim([batches.map((b) => b.batchId), batches.map((b) => b.tree.amount(p1)), batches.map((b) => b.tree.proof(p1)), restake]));
    const receipt = await claimMany(ten, false);
    rows.push(['claim, 10 batches (trees of 32)', receipt.gasUsed]);
    expect(receipt.gasUsed).toBeLessThan(300_000n);
    await f.tx(f.staking('p1').write.stake([E(100)])); // a pool to restake into already exists
    const restake = await claimMany(restaked, true);
    rows.push(['claim + restake, 10 batches (trees of 32)', restake.gasUsed]);
    expect(restake.gasUsed).toBeLessThan(330_000n);
  });
});
