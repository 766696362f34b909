/** `lode gov` — protocol parameters and their governance: propose, vote, queue, execute. */
import type { Command } from 'commander';
import { withExamples } from '../../context.js';
import { registerGovExecute } from './execute.js';
import { registerGovParams } from './params.js';
import { registerGovPropose } from './propose.js';
import { registerGovQueue } from './queue.js';
import { registerGovStatus } from './status.js';
import { registerGovVote } from './vote.js';

export function registerGov(program: Command): void {
  const gov = program.command('gov').description('protocol parameters and the DAO that changes them: propose, vote, queue, execute');
  withExamples(
    gov,
    'lode gov params',
    'lode gov propose feeBps 250 --description "Fee to 2.5 %"',
    'lode gov vote <proposalId> for',
    'lode gov queue <proposalId> && lode gov execute <proposalId>',
  );
  registerGovParams(gov);
  registerGovPropose(gov);
  registerGovVote(gov);
  registerGovQueue(gov);
  registerGovExecute(gov);
  registerGovStatus(gov);
}
