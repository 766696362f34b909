/**
 * `lode gov propose <param> <value> [--description TEXT]` — propose a ProtocolConfig change
 * through LodeGovernor; prints the proposal id that `vote`, `queue`, `execute` and `status` take.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { getBlock, getTransactionReceipt } from 'viem/actions';
import { PROTOCOL_PARAMETER_NAMES, checkParameterValue, proposeParameterChange, type ParameterValue, type ProtocolParameter } from '@lode/ledger/client';
import { InvalidRequestError } from '@lode/protocol';
import { withExamples, withJson } from '../../context.js';
import { UsageError } from '../../errors.js';
import { formatLode, lodeAmount } from '../../ledger.js';
import { printJson } from '../../output.js';
import { addressArg, durationArg, iso, sending, signerOf, when, wholeArg, type Signer } from '../ledger/shared.js';
import { selfDelegateIfNeeded } from './votes.js';

/** What each parameter's value looks like on the command line. */
const VALUE_HELP: Record<ProtocolParameter, string> = {
  feeBps: 'basis points (250) or a percentage (2.5%)',
  slashBps: 'basis points (1000) or a percentage (10%)',
  minStake: 'LODE in whole tokens (100)',
  unbondingPeriod: 'a duration: 60, 90s, 5m, 2h, 14d',
  settlementPeriod: 'a duration: 60, 90s, 5m, 2h, 14d',
  challengeWindow: 'a duration: 60, 90s, 5m, 2h, 14d',
  treasury: 'an address',
  epochLength: 'a duration: 60, 90s, 5m, 2h, 14d',
  availabilityPool: 'LODE in whole tokens per epoch (30; 0 turns availability rewards off)',
  challengeRate: 'challenges per device per epoch, 0 to 1000 (0 turns challenges off)',
};

export function registerGovPropose(parent: Command): void {
  const cmd = parent
    .command('propose')
    .description('propose changing one protocol parameter; self-delegates your votes first if you never delegated them')
    .argument('<param>', `the parameter: ${PROTOCOL_PARAMETER_NAMES.join(', ')}`)
    .argument('<value>', 'the new value (basis points, LODE, a duration or an address — see below)')
    .option('--description <text>', 'what voters read (default: "Set <param> to <value>" with you and the time)');
  withJson(cmd);
  cmd.addHelpText('after', `\nValues:\n${PROTOCOL_PARAMETER_NAMES.map((n) => `  ${n.padEnd(17)} ${VALUE_HELP[n]}`).join('\n')}`);
  withExamples(
    cmd,
    'lode gov propose feeBps 250 --description "Fee to 2.5 %"',
    'lode gov propose minStake 500',
    'lode gov propose unbondingPeriod 14d --json',
    'lode gov propose availabilityPool 50   # LODE per availability epoch',
  );
  cmd.action(async (param: string, raw: string, opts: { description?: string; json?: boolean }) => {
    const parameter = parameterName(param);
    const value = parseValue(parameter, raw);
    const s = await signerOf(cmd);
    // Check the value before anything is sent (the self-delegation included).
    await checkParameterValue(s.ledger, parameter, value).catch((err: unknown) => {
      // A value outside ProtocolConfig's bounds is a mistake on the command line: exit 2.
      if (err instanceof InvalidRequestError)
        throw new UsageError(err.shortMessage, '`lode gov params` shows the current values and their limits.', { cause: err });
      throw err;
    });
    const delegation = await selfDelegateIfNeeded(s, opts.json === true);
    if (delegation.txHash !== null) await votesCount(s, delegation.txHash);
    const r = await sending(s, () => proposeParameterChange(s.ledger, { parameter, value, description: opts.description }));
    const id = r.proposalId.toString();
    if (opts.json) {
      return printJson({
        proposalId: id,
        parameter,
        value: String(value),
        description: r.description,
        voteStart: iso(r.voteStart),
        voteEnd: iso(r.voteEnd),
        txHash: r.txHash,
        votes: delegation.votes.toString(),
        delegatedVotesTx: delegation.txHash,
      });
    }
    process.stdout.write(
      `Proposed ${parameter} = ${shown(parameter, value)}\n` +
        `  proposal: ${id}\n` +
        `  voting:   opens after ${when(r.voteStart)}, closes ${when(r.voteEnd)}\n` +
        `  next:     lode gov vote ${id} for   (then \`lode gov queue\` and \`lode gov execute\` with the same id)\n` +
        `  tx:       ${r.txHash}\n`,
    );
  });
}

/**
 * The governor weighs a proposer's votes one second before the proposal (`clock() - 1`): votes
 * delegated just now count once the chain's clock has passed their block. Waits for that (about
 * a second on the embedded chain, whose blocks carry the wall clock; nothing on a chain whose
 * next block is later anyway).
 */
async function votesCount(s: Signer, delegationTx: `0x${string}`): Promise<void> {
  const receipt = await getTransactionReceipt(s.ledger, { hash: delegationTx });
  const { timestamp } = await getBlock(s.ledger, { blockNumber: receipt.blockNumber });
  const wait = (Number(timestamp) + 1) * 1000 - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, Math.min(wait, 5_000)));
}

function parameterName(value: string): ProtocolParameter {
  const found = PROTOCOL_PARAMETER_NAMES.find((n) => n.toLowerCase() === value.replace(/[-_]/g, '').toLowerCase());
  if (!found) throw new UsageError(`Unknown parameter "${value}".`, `One of: ${PROTOCOL_PARAMETER_NAMES.join(', ')} (\`lode gov params\` shows their values).`);
  return found;
}

function parseValue(parameter: ProtocolParameter, raw: string): ParameterValue {
  try {
    switch (parameter) {
      case 'feeBps':
      case 'slashBps':
        return bps(raw);
      case 'minStake':
        return lodeAmount('<value>')(raw);
      case 'availabilityPool':
        return raw === '0' ? 0n : lodeAmount('<value>')(raw);
      case 'challengeRate':
        return wholeArg('<value>', 65_535)(raw);
      case 'treasury':
        return addressArg('<value>')(raw);
      default:
        return durationArg('<value>')(raw);
    }
  } catch (err) {
    if (err instanceof InvalidArgumentError) throw new UsageError(`${parameter}: ${err.message}`, `${parameter} takes ${VALUE_HELP[parameter]}.`);
    throw err;
  }
}

/** `250` → 250; `2.5%` → 250. */
function bps(raw: string): number {
  const pct = /^([0-9]{1,3})(\.[0-9]{1,2})?%$/.exec(raw);
  if (pct) return Math.round(Number(raw.slice(0, -1)) * 100);
  if (/^[0-9]{1,5}$/.test(raw)) return Number(raw);
  throw new InvalidArgumentError(`<value> must be basis points like 250 or a percentage like 2.5%, got "${raw}".`);
}

function shown(parameter: ProtocolParameter, value: ParameterValue): string {
  if (parameter === 'feeBps' || parameter === 'slashBps') return `${value} basis points (${Number(value) / 100} %)`;
  if (parameter === 'minStake') return formatLode(value as bigint);
  if (parameter === 'availabilityPool') return `${formatLode(value as bigint)} per epoch`;
  if (parameter === 'challengeRate') return `${value} challenge(s) per device per epoch`;
  if (parameter === 'treasury') return String(value);
  return `${value} s`;
}
