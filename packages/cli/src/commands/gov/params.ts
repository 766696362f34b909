/** `lode gov params` — the current protocol parameters and governance settings. */
import type { Command } from 'commander';
import { getGovernanceSettings, getProtocolParams } from '@lode/ledger/client';
import { clientOf, withExamples, withJson } from '../../context.js';
import { formatLode, ledgerOf } from '../../ledger.js';
import { printJson, table } from '../../output.js';

export function registerGovParams(parent: Command): void {
  const cmd = parent.command('params').description('show the protocol parameters (ProtocolConfig) and how governance changes them');
  withJson(cmd);
  withExamples(cmd, 'lode gov params', 'lode gov params --json');
  cmd.action(async (opts: { json?: boolean }) => {
    const { ledger } = await ledgerOf(await clientOf(cmd, 'none'));
    const [p, g] = await Promise.all([getProtocolParams(ledger), getGovernanceSettings(ledger)]);
    if (opts.json) {
      return printJson({
        params: {
          feeBps: p.feeBps,
          slashBps: p.slashBps,
          minStake: p.minStake.toString(),
          unbondingPeriod: p.unbondingPeriod,
          settlementPeriod: p.settlementPeriod,
          challengeWindow: p.challengeWindow,
          treasury: p.treasury,
          epochLength: p.epochLength,
          availabilityPool: p.availabilityPool.toString(),
          challengeRate: p.challengeRate,
        },
        maxFeeBps: p.maxFeeBps,
        owner: p.owner,
        governance: { ...g, proposalThreshold: g.proposalThreshold.toString() },
        contracts: { config: ledger.addresses.config, governor: ledger.addresses.governor, timelock: ledger.addresses.timelock },
      });
    }
    const rows: Array<[string, string, string]> = [
      ['feeBps', `${p.feeBps} (${p.feeBps / 100} %)`, `protocol fee on settled payouts, at most ${p.maxFeeBps}`],
      ['slashBps', `${p.slashBps} (${p.slashBps / 100} %)`, 'stake slashed per proven offence'],
      ['minStake', formatLode(p.minStake), 'own stake a provider needs to serve'],
      ['unbondingPeriod', `${p.unbondingPeriod} s`, 'from unbonding to withdrawal (at least the challenge window)'],
      ['settlementPeriod', `${p.settlementPeriod} s`, "between the gateway's settlement batches"],
      ['challengeWindow', `${p.challengeWindow} s`, 'a batch can be challenged before it is final'],
      ['treasury', p.treasury, 'receives fees and slashed stake'],
      ['epochLength', `${p.epochLength} s`, 'an availability epoch: devices are challenged and rewarded per epoch'],
      ['availabilityPool', formatLode(p.availabilityPool), "the most one epoch's availability rewards may pay (from emission)"],
      ['challengeRate', String(p.challengeRate), 'availability challenges per device per epoch'],
    ];
    const params = table(rows, [
      { header: 'parameter', value: (r) => r[0] },
      { header: 'value', value: (r) => r[1] },
      { header: 'meaning', value: (r) => r[2] },
    ]);
    process.stdout.write(
      `Protocol parameters (ProtocolConfig ${ledger.addresses.config}, owned by the timelock ${p.owner})\n\n${params}\n\n` +
        `Governance (LodeGovernor ${ledger.addresses.governor})\n` +
        `  voting opens ${g.votingDelay} s after a proposal and lasts ${g.votingPeriod} s; quorum ${g.quorumPercent} % of the supply (for + abstain);\n` +
        `  proposing needs ${formatLode(g.proposalThreshold)} of votes; a passed proposal waits ${g.timelockDelay} s in the timelock.\n` +
        `Change a parameter with \`lode gov propose <parameter> <value>\`.\n`,
    );
  });
}
