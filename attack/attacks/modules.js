/**
 * Issue 9, attacks 4, 5 and 6 — modules that poison or kill: proc_exit(-1) beside innocent jobs
 * (storage), tables and functions by the million, a start function that never ends, grow loops
 * (sandbox), and NaNs whose bits differ between CPUs (determinism). Held when each fails its own
 * task with a clear code or gives the right answer, no node process dies, and innocent jobs store
 * every result.
 */
import { getResults, putBlob, watchJob } from '@lode/sdk';
import { EXIT_MINUS_ONE, GROW_LOOP, MANY_FUNCTIONS, NAN_BITS, START_LOOP, TABLES, wat } from '../modules.js';
import { honestJob, submitPaid } from '../honest.js';

async function runModule(requester, source, tasks = 2) {
  const { client } = requester;
  let module;
  try {
    module = await wat(source);
  } catch (err) {
    return { refused: `wabt: ${err.message.split('\n')[0]}` };
  }
  const { sha256 } = await putBlob(client, { data: module });
  try {
    const job = await submitPaid(client, {
      module: sha256,
      tasks: Array.from({ length: tasks }, () => ({ args: [] })),
      limits: { wallMs: 5_000, maxOutputBytes: 4096, fuel: 1_000_000_000 },
      resources: { memoryMiB: 64 },
    });
    const final = await watchJob(client, { id: job.id });
    return { final, results: await getResults(client, { id: job.id }) };
  } catch (err) {
    return { refused: `${err.code ?? 'ERROR'}: ${err.shortMessage ?? err.message}` };
  }
}

export const exitMinusOne = {
  id: 'exit-minus-one',
  title: 'proc_exit(-1) results written beside innocent jobs',
  async run(net) {
    const attacker = await net.requester('exit', '10.66.0.4');
    const innocent = await net.requester('innocent');
    const [hostile, honest] = await Promise.all([runModule(attacker, EXIT_MINUS_ONE, 30), honestJob(innocent, { tasks: 8 })]);
    const codes = new Set(hostile.results?.map((r) => r.exitCode));
    const held = hostile.final?.status === 'completed' && codes.size === 1 && codes.has(4294967295) && honest.ok;
    return {
      held,
      detail: `30 tasks exited with ${[...codes].join(', ')} (${hostile.final?.status ?? hostile.refused}); innocent job ${honest.ok ? 'stored every result' : honest.problem}`,
    };
  },
};

export const hostileModules = {
  id: 'hostile-modules',
  title: 'modules that allocate gigabytes, loop at start, grow for ever',
  async run(net) {
    const requester = await net.requester('modules', '10.66.0.5');
    const cases = [
      ['100 tables × 10M entries', TABLES(100, 10_000_000)],
      ['5 tables × 10M entries', TABLES(5, 10_000_000)],
      ['start function loop', START_LOOP],
      ['memory.grow/table.grow loop', GROW_LOOP],
      ['100,000 functions', MANY_FUNCTIONS],
    ];
    const lines = [];
    let held = true;
    for (const [name, source] of cases) {
      const r = await runModule(requester, source);
      const codes = r.results ? [...new Set(r.results.map((x) => x.error?.code ?? `exit ${x.exitCode}`))].join(',') : r.refused;
      // A module may be refused at submission, or fail its tasks with a code; never run clean past a cap.
      const ok = r.refused
        ? /INVALID_MODULE|TOO_LARGE/.test(r.refused)
        : r.results.every((x) => x.status === 'failed' && /^(SANDBOX_|INVALID_MODULE)/.test(x.error?.code ?? ''));
      if (!ok) held = false;
      lines.push(`${name}: ${codes.slice(0, 80)}`);
    }
    const nodesUp = await net.onlineNodes();
    if (nodesUp < net.nodes.length) held = false;
    return { held, detail: `${lines.join('; ')}; ${nodesUp}/${net.nodes.length} nodes online` };
  },
};

export const nanBits = {
  id: 'nan-bits',
  title: 'NaN bit patterns that differ between x86 and ARM',
  async run(net) {
    const requester = await net.requester('nan', '10.66.0.6');
    const r = await runModule(requester, NAN_BITS, 4);
    const outs = new Set(r.results?.map((x) => new TextDecoder().decode(x.stdout).trim()));
    // The canonical quiet NaN, whatever the CPU: 0x7fc00000 (x86 gives 0xffc00000 for 0/0).
    const held = outs.size === 1 && outs.has('7fc00000 7fc00000 7fc00000');
    return { held, detail: `NaN bits of 0/0, sqrt(−1), ∞−∞: ${[...outs].join(' | ') || r.refused}` };
  },
};
