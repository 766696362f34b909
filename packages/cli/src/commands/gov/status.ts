/** `lode gov status <proposalId>` — a proposal's state, votes, quorum and times. */
import type { Command } from 'commander';
import { getProposal, type GetProposalReturnType } from '@lode/ledger/client';
import { clientOf, withExamples, withJson } from '../../context.js';
import { formatLode, ledgerOf } from '../../ledger.js';
import { printJson } from '../../output.js';
import { iso, proposalIdArg, when } from '../ledger/shared.js';

export function registerGovStatus(parent: Command): void {
  const cmd = parent
    .command('status')
    .description('show a proposal: state, what it changes, votes against the quorum, voting times and timelock eta')
    .argument('<proposalId>', 'the id `lode gov propose` printed', proposalIdArg);
  withJson(cmd);
  withExamples(cmd, 'lode gov status <proposalId>', 'lode gov status <proposalId> --json');
  cmd.action(async (proposalId: bigint, opts: { json?: boolean }) => {
    const { ledger } = await ledgerOf(await clientOf(cmd, 'none'));
    const p = await getProposal(ledger, { proposalId });
    if (opts.json) {
      return printJson({
        proposalId: proposalId.toString(),
        state: p.state,
        proposer: p.proposer,
        description: p.description,
        changes: p.changes,
        votes: { for: p.votes.for.toString(), against: p.votes.against.toString(), abstain: p.votes.abstain.toString() },
        quorum: p.quorum?.toString() ?? null,
        snapshot: iso(p.snapshot),
        deadline: iso(p.deadline),
        eta: p.eta === null ? null : iso(p.eta),
        txHash: p.txHash,
      });
    }
    process.stdout.write(
      `Proposal ${proposalId}\n` +
        `  state:       ${p.state} — ${next(p, proposalId)}\n` +
        `  changes:     ${p.changes.length > 0 ? p.changes.map((c) => `${c.parameter} → ${c.value}`).join(', ') : '(calls other than ProtocolConfig setters)'}\n` +
        `  description: ${p.description}\n` +
        `  proposer:    ${p.proposer}\n` +
        `  votes:       for ${formatLode(p.votes.for)}, against ${formatLode(p.votes.against)}, abstain ${formatLode(p.votes.abstain)}\n` +
        `  quorum:      ${p.quorum === null ? 'known once voting opens' : `${formatLode(p.quorum)} (for + abstain)`}\n` +
        `  voting:      from ${when(p.snapshot)} to ${when(p.deadline)}\n` +
        `  eta:         ${p.eta === null ? '-' : when(p.eta)}\n`,
    );
  });
}

/** What happens next for a proposal in this state. */
function next(p: GetProposalReturnType, id: bigint): string {
  switch (p.state) {
    case 'Pending':
      return `voting opens after ${when(p.snapshot)}`;
    case 'Active':
      return `voting is open: \`lode gov vote ${id} for|against|abstain\``;
    case 'Succeeded':
      return `passed: \`lode gov queue ${id}\``;
    case 'Queued':
      return `in the timelock: \`lode gov execute ${id}\` from ${when(p.eta ?? 0n)}`;
    case 'Executed':
      return 'done';
    case 'Defeated':
      return 'rejected (more votes against, or no quorum)';
    default:
      return p.state.toLowerCase();
  }
}
