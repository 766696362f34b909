#!/usr/bin/env node
/**
 * Settlement cost — gas per paid task and time to settle, on the embedded chain, through the
 * gateway's own code path: receipts in the store (PGlite) → `createBatch` with the gateway's
 * plan (fee split, Merkle tree) → one `postBatch` transaction → every provider claims once.
 * Compared with paying each task by a plain ERC-20 transfer. Prints a table and writes
 * bench/results/settlement-<time>.json. Figures only, no assertions.
 *
 *   node bench/settlement.bench.js [--receipts 1000,10000] [--providers 10] [--jobs 10]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { createPublicClient, createWalletClient, custom, parseEther } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { createEmbeddedChain, deployLedger, jobEscrowAbi, lodeTokenAbi } from '@lode/ledger';
import { escrowJobId } from '@lode/protocol';
import { openStore } from '../packages/gateway/dist/store/index.js';
import { planBatch, proofFor } from '../packages/gateway/dist/settlement/plan.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const SIZES = String(arg('receipts', '1000,10000')).split(',').map(Number);
const PROVIDERS = Number(arg('providers', 10));
const JOBS = Number(arg('jobs', 10));
const PRICE = 10n ** 15n;
const FEE_BPS = 100;
const log = (...a) => process.stderr.write(`${a.join(' ')}\n`);

const admin = privateKeyToAccount(generatePrivateKey());
const requester = privateKeyToAccount(generatePrivateKey());
const providers = Array.from({ length: PROVIDERS }, () => privateKeyToAccount(generatePrivateKey()));
const chain = await createEmbeddedChain({
  accounts: [admin, requester, ...providers].map((a) => ({ address: a.address, balance: parseEther('1000') })),
});
const pub = createPublicClient({ transport: custom(chain) });
const wallet = (account) => createWalletClient({ account, transport: custom(chain) });
const send = async (account, call) => {
  const hash = await wallet(account).writeContract({ ...call, chain: null });
  const receipt = await pub.waitForTransactionReceipt({ hash });
  if (receipt.status !== 'success') throw new Error(`${call.functionName} reverted`);
  return receipt;
};
const ledger = await deployLedger(wallet(admin), pub, { gateway: admin.address, feeBps: FEE_BPS, challengeWindow: 1 });
await send(admin, { address: ledger.token, abi: lodeTokenAbi, functionName: 'transfer', args: [requester.address, parseEther('100000')] });
await send(requester, { address: ledger.token, abi: lodeTokenAbi, functionName: 'approve', args: [ledger.escrow, parseEther('100000')] });
const store = await openStore(); // PGlite in memory: the gateway's store and SQL

const runs = [];
for (const receipts of SIZES) {
  log(`settling ${receipts} receipts (${JOBS} jobs, ${PROVIDERS} providers)…`);
  // Escrow for each job, and the receipts as the gateway writes them (one result row per task, with its receipt).
  const jobs = Array.from({ length: JOBS }, () => randomBytes(16).toString('hex'));
  const perJob = Math.ceil(receipts / JOBS);
  for (const jobId of jobs) {
    await send(requester, {
      address: ledger.escrow,
      abi: jobEscrowAbi,
      functionName: 'deposit',
      args: [escrowJobId(jobId), PRICE * BigInt(perJob), BigInt(Math.floor(Date.now() / 1000) + 86_400)],
    });
    await store.insertJob(jobRecord(jobId, perJob));
  }
  const rows = [];
  for (let i = 0; i < receipts; i++) {
    const jobId = jobs[i % JOBS];
    rows.push(resultRow(jobId, Math.floor(i / JOBS), providers[i % PROVIDERS].address.toLowerCase()));
  }
  await store.insertTaskResults(rows);

  const t0 = performance.now();
  const batch = await store.ledger.createBatch(receipts, Date.now(), (r) => planBatch(r, FEE_BPS));
  const tPlanned = performance.now();
  const post = await send(admin, {
    address: ledger.escrow,
    abi: jobEscrowAbi,
    functionName: 'postBatch',
    args: [batch.root, batch.debits.map(([j]) => escrowJobId(j)), batch.debits.map(([, a]) => a)],
  });
  await store.ledger.updateBatch(batch.id, { status: 'posted', txHash: post.transactionHash });
  const tPosted = performance.now();
  const chainBatchId = await pub.readContract({ address: ledger.escrow, abi: jobEscrowAbi, functionName: 'batchCount' });
  await chain.request({ method: 'evm_increaseTime', params: [2] });
  await chain.request({ method: 'evm_mine' });
  let claimGas = 0n;
  const tClaims = performance.now();
  for (const p of providers) {
    const leaf = proofFor(batch.tree, p.address);
    const r = await send(p, { address: ledger.escrow, abi: jobEscrowAbi, functionName: 'claim', args: [[chainBatchId], [leaf.amount], [leaf.proof], false] });
    claimGas += r.gasUsed;
  }
  const tClaimed = performance.now();
  runs.push({
    receipts,
    jobs: JOBS,
    providers: PROVIDERS,
    postBatchGas: Number(post.gasUsed),
    claimGasTotal: Number(claimGas),
    claimGasEach: Number(claimGas) / PROVIDERS,
    gasPerTaskPost: Number(post.gasUsed) / receipts,
    gasPerTaskWithClaims: Number(post.gasUsed + claimGas) / receipts,
    planMs: tPlanned - t0,
    postMs: tPosted - tPlanned,
    claimsMs: tClaimed - tClaims,
  });
}

// The comparison: paying each task with its own ERC-20 transfer (to a provider already holding LODE).
const transfer = await send(admin, { address: ledger.token, abi: lodeTokenAbi, functionName: 'transfer', args: [providers[0].address, PRICE] });
const transferGas = Number(transfer.gasUsed);
await store.close();
await chain.close();

const started = new Date();
const report = {
  date: started.toISOString(),
  machine: { cores: availableParallelism(), cpu: cpus()[0]?.model, node: process.version },
  feeBps: FEE_BPS,
  runs,
  erc20TransferGasPerTask: transferGas,
};
mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
const file = join(ROOT, 'bench/results', `settlement-${started.toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);

const f = (x, d = 0) => x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
console.log(`
Settlement on the embedded chain — ${report.machine.cores} cores, ${report.machine.cpu}, Node ${report.machine.node}
${runs
  .map(
    (r) => `  ${f(r.receipts)} receipts, ${r.jobs} jobs, ${r.providers} providers:
    gas per paid task     ${f(r.gasPerTaskPost, 1)} (postBatch ${f(r.postBatchGas)} gas)   ${f(r.gasPerTaskWithClaims, 1)} with every provider's claim (${f(r.claimGasEach)} gas each)
    time                  plan + store ${f(r.planMs)} ms, post ${f(r.postMs)} ms, ${r.providers} claims ${f(r.claimsMs)} ms`,
  )
  .join('\n')}
  ERC-20 transfer per task ${f(transferGas)} gas — settlement is ${f(transferGas / runs[0].gasPerTaskWithClaims, 0)}× cheaper at ${f(runs[0].receipts)} receipts
wrote ${file}`);

function jobRecord(id, taskCount) {
  const now = Date.now();
  return {
    id,
    name: 'bench',
    requester: requester.address.toLowerCase(),
    module: '0'.repeat(64),
    spec: {
      version: 1,
      name: 'bench',
      requester: requester.address,
      module: '0'.repeat(64),
      tasks: [],
      resources: { memoryMiB: 16 },
      limits: { wallMs: 1000, maxOutputBytes: 16 },
      price: { maxPerTask: PRICE.toString() },
      verification: { kind: 'none' },
      deadline: now + 60_000,
      nonce: `0x${'0'.repeat(64)}`,
    },
    signature: `0x${'0'.repeat(130)}`,
    status: 'completed',
    taskCount,
    counts: { queued: 0, leased: 0, done: taskCount, failed: 0, cancelled: 0 },
    createdAt: now,
    finishedAt: now,
    deadline: now + 60_000,
    escrow: 'open',
  };
}

function resultRow(jobId, index, payee) {
  return {
    jobId,
    index,
    status: 'done',
    exitCode: 0,
    stdout: new Uint8Array(),
    stderr: new Uint8Array(),
    files: [],
    deleted: [],
    resultHash: '0'.repeat(64),
    node: payee,
    attempts: 1,
    error: null,
    finishedAt: Date.now(),
    receipts: [{ payee, amount: PRICE, fuelUsed: null, kind: 'result' }],
  };
}
