/** `lode gov vote <proposalId> <for|against|abstain>` — vote with the account's delegated LODE. */
import { Argument, type Command } from 'commander';
import { castVote, getProposal, type VoteSupport } from '@lode/ledger/client';
import { withExamples, withJson } from '../../context.js';
import { formatLode } from '../../ledger.js';
import { printJson } from '../../output.js';
import { proposalIdArg, sending, signerOf, when } from '../ledger/shared.js';
import { selfDelegateIfNeeded } from './votes.js';

export function registerGovVote(parent: Command): void {
  const cmd = parent
    .command('vote')
    .description('vote on a proposal while its voting is open; self-delegates your votes first if you never delegated them')
    .argument('<proposalId>', 'the id `lode gov propose` printed', proposalIdArg)
    .addArgument(new Argument('<support>', 'your vote').choices(['for', 'against', 'abstain']))
    .option('--reason <text>', 'a reason, recorded on chain with the vote');
  withJson(cmd);
  withExamples(cmd, 'lode gov vote <proposalId> for', 'lode gov vote <proposalId> against --reason "too high" --json');
  cmd.action(async (proposalId: bigint, support: VoteSupport, opts: { reason?: string; json?: boolean }) => {
    const s = await signerOf(cmd);
    const delegation = await selfDelegateIfNeeded(s, opts.json === true);
    const { weight, txHash } = await sending(s, () => castVote(s.ledger, { proposalId, support, reason: opts.reason }));
    const p = await getProposal(s.ledger, { proposalId });
    if (opts.json) {
      return printJson({
        proposalId: proposalId.toString(),
        support,
        weight: weight.toString(),
        txHash,
        delegatedVotesTx: delegation.txHash,
        state: p.state,
        votes: { for: p.votes.for.toString(), against: p.votes.against.toString(), abstain: p.votes.abstain.toString() },
      });
    }
    process.stdout.write(
      `Voted ${support} proposal ${proposalId} with ${formatLode(weight)} of votes\n` +
        (weight === 0n
          ? `  it counts zero: votes count only if delegated before the proposal's snapshot (${when(p.snapshot)})${delegation.txHash ? '; yours were delegated just now and count from the next proposal' : ''}.\n`
          : '') +
        `  tally: for ${formatLode(p.votes.for)}, against ${formatLode(p.votes.against)}, abstain ${formatLode(p.votes.abstain)}${p.quorum !== null ? ` (quorum ${formatLode(p.quorum)})` : ''}\n` +
        `  voting closes ${when(p.deadline)}; then \`lode gov queue ${proposalId}\`\n` +
        `  tx: ${txHash}\n`,
    );
  });
}
