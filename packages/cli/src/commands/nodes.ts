/** `lode nodes` — the provider nodes a gateway knows. */
import { listNodes } from '@lode/sdk';
import type { NodeView } from '@lode/protocol';
import type { Command } from 'commander';
import { clientOf, withExamples, withJson } from '../context.js';
import { formatTime, printJson, shortAddress, table } from '../output.js';

export function registerNodes(program: Command): void {
  const cmd = program
    .command('nodes')
    .description('list provider nodes: online, capabilities, tasks running and done, reputation (checked results right/wrong, credibility)')
    .option('--all', 'include offline nodes');
  withJson(cmd);
  withExamples(cmd, 'lode nodes', 'lode nodes --all --json');
  cmd.addHelpText(
    'after',
    '\nReputation: results checked against other nodes or known answers, right (✓) and wrong (✗); a node\n' +
      'without a right one is on probation (its work is replicated); proven wrong too often, it is refused.\n' +
      'credibility: the probability its result is right, from that record (docs/trust.md).\n',
  );
  cmd.action(async (opts: { all?: boolean; json?: boolean }) => {
    const nodes = (await listNodes(await clientOf(cmd))).filter((n) => opts.all || n.online);
    if (opts.json) return printJson({ nodes });
    const rows = table(
      nodes,
      [
        { header: 'address', value: (n) => shortAddress(n.address) },
        { header: 'online', value: (n) => (n.online ? 'yes' : 'no') },
        { header: 'kind', value: (n) => n.capabilities.kind },
        { header: 'slots', value: (n) => n.capabilities.slots, align: 'right' },
        { header: 'cores', value: (n) => n.capabilities.cores, align: 'right' },
        { header: 'mem MiB', value: (n) => n.capabilities.memoryMiB, align: 'right' },
        { header: 'running', value: (n) => n.running, align: 'right' },
        { header: 'done', value: (n) => n.completed, align: 'right' },
        { header: 'failed', value: (n) => n.failed, align: 'right' },
        { header: 'price', value: (n) => n.capabilities.pricePerTask, align: 'right' },
        { header: 'checked ✓/✗', value: (n) => (n.reputation ? `${n.reputation.validated}/${n.reputation.invalid}` : '—'), align: 'right' },
        { header: 'reputation', value: (n) => reputationText(n.reputation) },
        { header: 'last seen', value: (n) => formatTime(n.lastSeenAt) },
      ],
      opts.all
        ? 'No nodes have connected yet. Start one with `lode node` or `lode up`.'
        : 'No nodes online. Start one with `lode node --gateway <url>`, or a local network with `lode up`.',
    );
    process.stdout.write(`${rows}\n`);
  });
}

function reputationText(r: NodeView['reputation']): string {
  if (!r) return '—';
  if (r.refused) return 'refused';
  if (r.probation) return r.invalid > 0 ? 'probation (offender)' : 'probation';
  return `credibility ${r.credibility >= 0.9999 ? r.credibility.toFixed(6) : r.credibility.toFixed(4)}`;
}
