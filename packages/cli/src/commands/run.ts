/**
 * `lode run` — run a WASI module on the network: a built-in workload by name, or a .wasm file.
 * One task behaves like `wasmtime run` (its stdout, stderr and exit code become ours); many
 * tasks show a progress bar and print or save their outputs.
 */
import type { JobEvent, JobView, Verification } from '@lode/protocol';
import { cancelJob, getJob, getResults, listNodes, putBlob, runJob, type LodeClient, type TaskResult } from '@lode/sdk';
import { LedgerDisabledError } from '@lode/protocol';
import type { Command } from 'commander';
import { readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { amount, clientOf, collect, positiveInt, verificationPolicy, withExamples, withJson } from '../context.js';
import { EXIT, UsageError } from '../errors.js';
import { formatBytes, formatDuration, printJson } from '../output.js';
import { resultJson, writeResults } from '../results.js';
import { BUILTIN_NAMES, builtinWorkload, type Builtin, type RunPlan } from '../run/builtins.js';
import { runMnistClassify, runMnistTrain, TRAIN_DEFAULTS } from '../run/mnist.js';

/** The machine-learning workloads: several jobs (training rounds) or a model to load, not one plan. */
const ML_NAMES = ['mnist-train', 'mnist-classify'] as const;
import { planGenericTasks, type GenericFlags } from '../run/generic.js';
import { createProgress, formatCost, formatFuel } from '../run/progress.js';
import { revisionsLine } from '../jobFormat.js';
import { escrowExpiry, sha256Hex } from '@lode/protocol';

interface Options {
  tasks?: number;
  input: string[];
  env: string[];
  dir: string[];
  out?: string;
  memory?: number;
  timeout?: number;
  name?: string;
  maxPrice?: string;
  maxPricePerFuel?: string;
  fuel?: number;
  verify: Verification;
  json?: boolean;
  rounds?: number;
  model?: string;
}

/** How often `lode run` asks why a job's tasks wait (the event stream only speaks when tasks move). @default 2 s */
export const WAITING_POLL_MS = 2000;

/** What a finished run produced. */
export interface RunOutcome {
  /** Files written. */
  outputs: string[];
  /** A combined answer (pi's estimate, the primes count), for --json. */
  answer?: unknown;
  /** Per-task outputs for --json when nothing was written to disk. */
  results?: ReturnType<typeof resultJson>[];
  exitCode: number;
}

export function registerRun(program: Command): void {
  const cmd = program
    .command('run')
    .description(
      `run a WASI module on the network: a built-in workload (${BUILTIN_NAMES.join(', ')}), machine learning (${ML_NAMES.join(', ')}) or a .wasm file`,
    )
    .argument('<workload>', 'a built-in workload name, or the path of a .wasm file')
    .argument('[args...]', 'arguments for the module (after --)')
    .option('--tasks <n>', 'number of tasks (built-ins split their work into this many)', positiveInt('--tasks'))
    .option('--input <file>', "one task per input file; the file is the task's stdin (repeatable)", collect, [])
    .option('--env <KEY=VALUE>', 'environment variable for every task (repeatable)', collect, [])
    .option(
      '--dir <HOST::GUEST>',
      "upload the host directory's tree (files, empty directories, symlinks as symlinks) to GUEST, writable; HOST::/ mounts it at the root, HOST alone at the same path (a relative one under /); what changed comes back under --out (repeatable)",
      collect,
      [],
    )
    .option('--out <dir>', 'write outputs here (images, changed files, per-task stdout)')
    .option('--memory <MiB>', 'memory per task', positiveInt('--memory'))
    .option('--timeout <ms>', 'wall-time limit per task', positiveInt('--timeout'))
    .option(
      '--max-price <amount>',
      "the most the job pays per task, in the token's smallest unit; nodes asking more do not get its tasks (default: the highest price the online nodes ask)",
      amount('--max-price'),
    )
    .option(
      '--max-price-per-fuel <amount>',
      'the most the job pays per unit of fuel a task uses (default: the highest the online nodes ask)',
      amount('--max-price-per-fuel'),
    )
    .option('--fuel <n>', 'fuel per task (≈ WASM instructions): a task that needs more stops with SANDBOX_FUEL_EXHAUSTED', positiveInt('--fuel'))
    .option(
      '--verify <policy>',
      "how results are checked: none, replicate:K (K agreeing nodes) or target:RATE (replicas chosen by the nodes' records so a result is wrong with probability ≤ RATE)",
      verificationPolicy,
      { kind: 'none' } as Verification,
    )
    .option('--name <name>', 'a label for the job (default: the workload name)')
    .option('--rounds <n>', `mnist-train: training rounds, one job each (default ${TRAIN_DEFAULTS.rounds})`, positiveInt('--rounds'))
    .option('--model <dir>', 'mnist-classify: the model `lode run mnist-train --out DIR` wrote');
  withJson(cmd);
  withExamples(
    cmd,
    'lode run mandelbrot --tasks 64 --out out/',
    'lode run pi --tasks 16',
    'lode run echo -- hello world',
    'lode run ./filter.wasm --dir ./data::/data --out result/ -- --verbose',
    'lode run wordcount --input a.txt --input b.txt --json',
    'lode run pi --tasks 16 --max-price 5          # also use nodes that ask up to 5 per task',
    'lode run primes --tasks 100 --verify target:1e-4 -- 0 10000000',
    'lode run mnist-train --rounds 8 --tasks 8 --out model/   # a CNN on MNIST, ~98 % (-- ARCH EPOCHS LR BATCH; ARCH 128 for a faster MLP)',
    'lode run mnist-classify --model model/ --tasks 8 --json',
  );
  cmd.action(async (target: string, args: string[], opts: Options) => {
    const client = await clientOf(cmd, 'create');
    if ((ML_NAMES as readonly string[]).includes(target)) {
      const rate = opts.maxPrice === undefined || opts.maxPricePerFuel === undefined ? await goingRate(client) : undefined;
      const ml = {
        tasks: opts.tasks,
        rounds: opts.rounds,
        out: opts.out,
        model: opts.model,
        verify: opts.verify,
        json: opts.json,
        price: { maxPerTask: opts.maxPrice ?? rate!.perTask, maxPerFuel: opts.maxPricePerFuel ?? rate!.perFuel },
        fund: (paid: Parameters<typeof fundEscrow>[1]) => fundEscrow(client, paid, opts.json === true),
      };
      process.exitCode = target === 'mnist-train' ? await runMnistTrain(client, args, ml) : await runMnistClassify(client, ml);
      return;
    }
    const flags: GenericFlags = { tasks: opts.tasks, input: opts.input, env: opts.env, dir: opts.dir, args };
    const { name, module, builtin } = await resolveModule(target);
    const generic = () => planGenericTasks(client, flags);
    const plan: RunPlan = builtin ? await builtin.prepare(flags, generic) : await generic();

    const { sha256 } = await putBlob(client, { data: module });
    const rate = opts.maxPrice === undefined || opts.maxPricePerFuel === undefined ? await goingRate(client) : undefined;
    const maxPerTask = opts.maxPrice ?? rate!.perTask;
    const maxPerFuel = opts.maxPricePerFuel ?? rate!.perFuel;
    const started = Date.now();
    // One request submits the job and streams its progress (runJob); the watcher starts once the
    // gateway has stored the job.
    const watcher = new Watcher(client, opts.json !== true);
    let final: JobView;
    try {
      final = await runJob(client, {
        name: opts.name ?? name,
        module: sha256,
        tasks: plan.tasks,
        ...(opts.memory ? { resources: { memoryMiB: opts.memory } } : {}),
        ...(opts.timeout || opts.fuel ? { limits: { ...(opts.timeout ? { wallMs: opts.timeout } : {}), ...(opts.fuel ? { fuel: opts.fuel } : {}) } } : {}),
        price: { maxPerTask, maxPerFuel },
        verification: opts.verify,
        fund: (paid) => fundEscrow(client, paid, opts.json === true),
        onSubmitted: (job) => {
          // One task behaves like `wasmtime run`: stderr carries only the module's own output.
          if (!opts.json && job.taskCount > 1) process.stderr.write(`job ${job.id}: ${job.taskCount} task(s) of ${name} on ${client.gateway}\n`);
          watcher.start(job);
        },
        onEvent: (e) => watcher.update(e),
      });
    } finally {
      watcher.stop();
    }
    const cancelled = watcher.cancelled;
    const results = await getResults(client, { id: final.id });
    const outcome: RunOutcome = plan.finish
      ? await plan.finish(results, { out: opts.out, json: opts.json === true, taskCount: plan.tasks.length })
      : await finishGeneric(results, plan.placed ?? new Map(), opts);
    const durationMs = Date.now() - started;

    if (opts.json) {
      printJson({
        jobId: final.id,
        status: final.status,
        counts: final.counts,
        usage: final.usage,
        verification: final.verification,
        durationMs,
        outputs: outcome.outputs,
        answer: outcome.answer,
        results: outcome.results,
      });
    } else if (final.status !== 'completed' || final.counts.failed > 0 || plan.tasks.length > 1) {
      const c = final.counts;
      const usage = final.usage ? ` — ${formatFuel(final.usage.fuelUsed)} fuel, ${formatCost(final.usage.cost)}` : '';
      process.stderr.write(
        `job ${final.id} ${final.status} in ${formatDuration(durationMs)}: ${c.done} done, ${c.failed} failed${c.cancelled ? `, ${c.cancelled} cancelled` : ''}${usage}\n`,
      );
      const v = final.verification;
      if (v && v.policy !== 'none') {
        process.stderr.write(
          `  verified ${v.policy}: ${v.executions} executions for ${v.accepted} accepted tasks${v.canaries ? ` (${v.canaries} known-answer checks)` : ''}; ${v.wrong} wrong result(s) rejected${v.failed ? `, ${v.failed} task(s) could not be verified` : ''}\n`,
        );
      }
      if (final.revisions) process.stderr.write(`  revised: ${revisionsLine(final.revisions)}\n`);
      if (c.failed > 0) process.stderr.write(`  see why with \`lode job show ${final.id} --tasks\`\n`);
    }
    process.exitCode = cancelled ? 130 : final.status === 'completed' ? outcome.exitCode : Math.max(outcome.exitCode, EXIT.failure);
  });
}

/** The highest prices (per task, per fuel) among the online nodes ('0' when none is online): every node can then take the job. */
async function goingRate(client: LodeClient): Promise<{ perTask: string; perFuel: string }> {
  const online = (await listNodes(client)).filter((n) => n.online);
  const max = (pick: (n: (typeof online)[number]) => string) => online.reduce((m, n) => (BigInt(pick(n)) > BigInt(m) ? pick(n) : m), '0');
  return { perTask: max((n) => n.capabilities.pricePerTask), perFuel: max((n) => n.capabilities.pricePerFuel ?? '0') };
}

/**
 * Puts a paid job's maximum cost in escrow from the requester's account, on the gateway's chain.
 * What is not spent comes back when the job ends. The escrow outlives the deadline by an hour so
 * the last settlement can still be paid from it.
 */
async function fundEscrow(client: LodeClient, job: { spec: { deadline: number }; jobId: string; maxCost: bigint }, quiet: boolean): Promise<void> {
  const { ledgerOf, formatLode } = await import('../ledger.js');
  const { depositEscrow } = await import('@lode/ledger/client');
  let ledger: Awaited<ReturnType<typeof ledgerOf>>;
  try {
    ledger = await ledgerOf(client);
  } catch (err) {
    if (err instanceof LedgerDisabledError) return; // no ledger: prices only filter nodes
    throw err;
  }
  // On a local network (the gateway has a faucet), an account without funds is topped up first.
  if (ledger.info.faucet) {
    const { getAccountLedger } = await import('@lode/ledger/client');
    const { requestFaucet } = await import('@lode/sdk');
    const mine = await getAccountLedger(ledger.ledger, { address: client.account!.address });
    if (mine.eth === 0n || mine.lode < job.maxCost) {
      if (!quiet) process.stderr.write(`your account ${client.account!.address} lacks funds: asking the local faucet\n`);
      await requestFaucet(client);
    }
  }
  if (!quiet) process.stderr.write(`escrowing up to ${formatLode(job.maxCost)} for job ${job.jobId} (the unspent part is refunded)\n`);
  await depositEscrow(ledger.ledger, { jobId: job.jobId, amount: job.maxCost, expiresAt: escrowExpiry(job.spec.deadline) });
}

/** A built-in name (unless a file of that name exists) or a module file. */
async function resolveModule(target: string): Promise<{ name: string; module: Uint8Array; builtin?: Builtin }> {
  const isFile = await stat(target).then(
    (s) => s.isFile(),
    () => false,
  );
  if (!isFile) {
    const builtin = await builtinWorkload(target);
    if (builtin) return { name: target, module: builtin.module, builtin };
    throw new UsageError(
      `"${target}" is neither a file nor a built-in workload.`,
      `Built-ins: ${BUILTIN_NAMES.join(', ')}. For your own module, give the path of its .wasm file.`,
    );
  }
  return { name: basename(target).replace(/\.wasm$/, ''), module: await readFile(target) };
}

/**
 * Shows a job's progress (a bar for many tasks) and says why it waits when no node takes its
 * tasks; the first Ctrl-C cancels the job, the second leaves at once. Started once the job is
 * stored, fed its events, stopped when the run ends.
 */
class Watcher {
  cancelled = false;
  private progress: ReturnType<typeof createProgress> | undefined;
  private poll: NodeJS.Timeout | undefined;
  private latest: JobView | undefined;
  private readonly onSigint = () => {
    const job = this.latest;
    if (this.cancelled || !job) process.exit(130);
    this.cancelled = true;
    this.progress?.stop();
    process.stderr.write(`cancelling job ${job.id} (Ctrl-C again to leave it running and exit)…\n`);
    cancelJob(this.client, { id: job.id }).catch((err: Error) => process.stderr.write(`could not cancel: ${err.message}\n`));
  };

  constructor(
    private readonly client: LodeClient,
    private readonly human: boolean,
  ) {}

  start(job: JobView): void {
    this.latest = job;
    this.progress = createProgress(job.taskCount, { bar: this.human && process.stderr.isTTY === true && job.taskCount > 1 });
    this.progress.note(job);
    // A node connecting or leaving changes why the job waits without any task moving, and the
    // event stream only speaks when tasks move: ask while nothing runs.
    this.poll = setInterval(() => {
      const latest = this.latest!;
      if (latest.counts.queued === 0 || latest.counts.leased > 0) return;
      getJob(this.client, { id: latest.id }).then(
        (view) => this.progress?.note(view),
        () => {}, // the stream reports an unreachable gateway
      );
    }, WAITING_POLL_MS);
    process.on('SIGINT', this.onSigint);
  }

  update(e: JobEvent): void {
    this.latest = e.job;
    this.progress?.update(e);
  }

  stop(): void {
    clearInterval(this.poll);
    process.off('SIGINT', this.onSigint);
    this.progress?.stop();
  }
}

/** How `lode run` lists one result entry: a file's size, a symlink's target, or "empty directory". */
function entrySummary(f: TaskResult['files'][number]): string {
  if (f.kind === 'dir') return 'empty directory';
  if (f.kind === 'symlink') return `symlink to ${new TextDecoder().decode(f.data)}`;
  return formatBytes(f.data.byteLength);
}

/** Outputs of a module file: one task like `wasmtime run`; many tasks printed in order or saved. */
async function finishGeneric(results: TaskResult[], placed: Map<string, string>, opts: Options): Promise<RunOutcome> {
  const unchanged = (path: string, data: Uint8Array) => placed.get(path) === sha256Hex(data);
  if (results.length === 1) {
    const [r] = results as [TaskResult];
    const { written, skipped } = opts.out ? await writeResults(opts.out, results, { perTask: false, unchanged }) : { written: [], skipped: [] };
    if (!opts.json) {
      process.stdout.write(r.stdout);
      process.stderr.write(r.stderr);
      const changed = r.files.filter((f) => f.kind || !unchanged(f.path, f.data));
      if (!opts.out && changed.length > 0) {
        process.stderr.write(`changed (pass --out DIR to save them):\n${changed.map((f) => `  ${f.path} (${entrySummary(f)})`).join('\n')}\n`);
      }
      if (skipped.length > 0) process.stderr.write(`not written, to keep ${opts.out} safe:\n${skipped.map((s) => `  ${s}`).join('\n')}\n`);
      if (r.deleted.length > 0) process.stderr.write(`deleted: ${r.deleted.join(', ')}\n`);
      if (r.error) process.stderr.write(`error [${r.error.code}]: ${r.error.message}\n`);
    }
    return { outputs: written, results: opts.json && !opts.out ? results.map(resultJson) : undefined, exitCode: r.exitCode ?? EXIT.failure };
  }
  const failed = results.some((r) => r.status !== 'done' || r.exitCode !== 0);
  if (opts.out) {
    const { written, skipped } = await writeResults(opts.out, results, { perTask: true, unchanged });
    if (!opts.json) {
      process.stderr.write(`wrote ${written.length} file(s) under ${opts.out}\n`);
      if (skipped.length > 0) process.stderr.write(`not written, to keep ${opts.out} safe:\n${skipped.map((s) => `  ${s}`).join('\n')}\n`);
    }
    return { outputs: written, exitCode: failed ? EXIT.failure : EXIT.ok };
  }
  if (!opts.json) for (const r of results) process.stdout.write(r.stdout);
  return { outputs: [], results: opts.json ? results.map(resultJson) : undefined, exitCode: failed ? EXIT.failure : EXIT.ok };
}
