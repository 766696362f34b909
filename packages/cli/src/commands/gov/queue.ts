/** `lode gov queue <proposalId>` — put a passed proposal in the timelock. */
import type { Command } from 'commander';
import { queueProposal } from '@lode/ledger/client';
import { withExamples, withJson } from '../../context.js';
import { printJson } from '../../output.js';
import { iso, proposalIdArg, sending, signerOf, when } from '../ledger/shared.js';

export function registerGovQueue(parent: Command): void {
  const cmd = parent
    .command('queue')
    .description('queue a passed proposal in the timelock (its calls are read back from the chain: only the id is needed)')
    .argument('<proposalId>', 'the id `lode gov propose` printed', proposalIdArg);
  withJson(cmd);
  withExamples(cmd, 'lode gov queue <proposalId>', 'lode gov queue <proposalId> --json');
  cmd.action(async (proposalId: bigint, opts: { json?: boolean }) => {
    const s = await signerOf(cmd);
    const { eta, txHash } = await sending(s, () => queueProposal(s.ledger, { proposalId }));
    if (opts.json) return printJson({ proposalId: proposalId.toString(), eta: iso(eta), etaSeconds: Number(eta), txHash });
    process.stdout.write(`Queued proposal ${proposalId}\n  executable from ${when(eta)}: \`lode gov execute ${proposalId}\`\n  tx: ${txHash}\n`);
  });
}
