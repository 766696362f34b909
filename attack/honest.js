/**
 * An honest requester's job, checked against an independent computation: `primes` over N
 * ranges (the workloads' module, a sieve as the reference). Paid on a network with a ledger:
 * its maximum cost goes into escrow first, as `lode run` does.
 */
import { getLedgerInfo, getResults, putBlob, submitJob, watchJob } from '@lode/sdk';
import { createLedgerClient, depositEscrow, ledgerAddressesSchema } from '@lode/ledger/client';
import { primesTasks, readWorkload, reference } from '@lode/workloads';

const PRICE = 1_000_000_000_000_000n; // what the suite's nodes ask per task (0.001 LODE)

/** Runs an honest job of `tasks` primes tasks; resolves to { ok, ms, problem? }. */
export async function honestJob(requester, { tasks = 8, span = 20_000, paid = true, verification, memoryMiB } = {}) {
  const t0 = performance.now();
  const { client } = requester;
  const { sha256 } = await putBlob(client, { data: readWorkload('primes') });
  const lo = Math.floor(Math.random() * 1_000_000);
  const ranges = primesTasks({ lo, hi: lo + tasks * span, tasks });
  const job = await submitPaid(
    client,
    {
      name: 'honest',
      module: sha256,
      tasks: ranges.map((r) => ({ args: r.args })),
      limits: { wallMs: 30_000, maxOutputBytes: 4096, fuel: 5_000_000_000 },
      ...(memoryMiB ? { resources: { memoryMiB } } : {}),
      ...(verification ? { verification } : {}),
    },
    paid,
  );
  const final = await watchJob(client, { id: job.id });
  const results = await getResults(client, { id: job.id });
  const wrong = results.filter((r) => {
    const t = ranges[r.index];
    return r.status !== 'done' || new TextDecoder().decode(r.stdout) !== `{"lo":${t.lo},"hi":${t.hi},"count":${reference.primesCount(t.lo, t.hi)}}\n`;
  }).length;
  const ms = performance.now() - t0;
  if (final.status !== 'completed' || results.length !== tasks || wrong > 0) {
    return { ok: false, ms, jobId: job.id, problem: `job ${job.id} ${final.status}: ${results.length}/${tasks} results, ${wrong} wrong` };
  }
  return { ok: true, ms, jobId: job.id };
}

/**
 * Submits a job that pays the suite's nodes their price (its maximum cost escrowed first), or a
 * free one (`paid` false: only nodes that ask nothing take it).
 */
export function submitPaid(client, params, paid = true) {
  if (!paid) return submitJob(client, params);
  return submitJob(client, {
    ...params,
    price: { maxPerTask: PRICE.toString() },
    fund: async ({ jobId, maxCost, spec }) => fund(client, jobId, maxCost, spec.deadline),
  });
}

async function fund(client, jobId, amount, deadline) {
  const info = await getLedgerInfo(client);
  const ledger = createLedgerClient({
    rpcUrl: info.resolvedRpcUrl,
    addresses: ledgerAddressesSchema.parse({ ...info.contracts, chainId: info.chainId }),
    account: client.account,
  });
  await depositEscrow(ledger, { jobId, amount, expiresAt: BigInt(Math.ceil(deadline / 1000) + 3600) });
}
