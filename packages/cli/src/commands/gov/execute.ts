/** `lode gov execute <proposalId>` — run a queued proposal once the timelock allows it. */
import type { Command } from 'commander';
import { executeProposal, getProposal, getProtocolParams } from '@lode/ledger/client';
import { withExamples, withJson } from '../../context.js';
import { printJson } from '../../output.js';
import { proposalIdArg, sending, signerOf } from '../ledger/shared.js';

export function registerGovExecute(parent: Command): void {
  const cmd = parent
    .command('execute')
    .description('execute a queued proposal after its timelock delay (anyone may; its calls are read back from the chain)')
    .argument('<proposalId>', 'the id `lode gov propose` printed', proposalIdArg);
  withJson(cmd);
  withExamples(cmd, 'lode gov execute <proposalId>', 'lode gov execute <proposalId> --json');
  cmd.action(async (proposalId: bigint, opts: { json?: boolean }) => {
    const s = await signerOf(cmd);
    const { txHash } = await sending(s, () => executeProposal(s.ledger, { proposalId }));
    const [p, params] = await Promise.all([getProposal(s.ledger, { proposalId }), getProtocolParams(s.ledger)]);
    const now = p.changes.map((c) => ({ parameter: c.parameter, value: String(params[c.parameter]) }));
    if (opts.json) return printJson({ proposalId: proposalId.toString(), state: p.state, txHash, params: now });
    process.stdout.write(`Executed proposal ${proposalId}\n` + now.map((c) => `  ${c.parameter} is now ${c.value}\n`).join('') + `  tx: ${txHash}\n`);
  });
}
