/**
 * `lode ledger deploy --rpc-url URL` — deploy LodeToken, ProtocolConfig, Staking, DeviceRegistry
 * (with its DeviceShares implementation), JobEscrow, LodeGovernor and the timelock on any EVM
 * chain with the --data-dir key (which pays the gas), and write the addresses file `lode gateway --ledger-addresses` reads. The gateway's account
 * gets the settler and slasher roles; governance gets everything else. The supply is allocated:
 * the operator's share (delegated), an optional faucet reserve (below the quorum), the rest to
 * the timelock as the DAO treasury.
 */
import { existsSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { createPublicClient, createWalletClient, formatEther, http, isAddress, getAddress, zeroAddress, type Address, type PublicClient } from 'viem';
import { LedgerUnavailableError, LodeError } from '@lode/protocol';
import { loadAccount, loadOrCreateAccount } from '@lode/keystore';
import { globalsOf, withExamples, withJson } from '../../context.js';
import { UsageError } from '../../errors.js';
import { formatLode, lodeAmount } from '../../ledger.js';
import { printJson } from '../../output.js';
import { DeployFailedError, NoGasError, addressArg, durationArg, wholeArg } from './shared.js';

interface Options {
  rpcUrl: string;
  out?: string;
  force?: boolean;
  feeBps?: number;
  slashBps?: number;
  minStake?: bigint;
  unbondingPeriod?: bigint;
  settlementPeriod?: bigint;
  challengeWindow?: bigint;
  votingDelay?: bigint;
  votingPeriod?: bigint;
  timelockDelay?: bigint;
  quorumPercent?: number;
  proposalThreshold?: string;
  initialSupply?: bigint;
  treasury?: Address;
  operator?: Address;
  operatorAllocation?: bigint;
  faucetReserve?: bigint;
  json?: boolean;
}

export function registerLedgerDeploy(parent: Command): void {
  const cmd = parent
    .command('deploy')
    .description("deploy Lode's contracts on an EVM chain with the --data-dir key (it needs ETH there) and write their addresses for the gateway")
    .requiredOption('--rpc-url <url>', 'JSON-RPC endpoint of the chain', httpUrl)
    .option('--out <file>', 'where to write the addresses (default: <data-dir>/ledger.json, where `lode gateway --data-dir` looks)')
    .option('--force', 'overwrite --out if it exists')
    .option('--fee-bps <n>', 'protocol fee, basis points (default 100; at most 2000)', wholeArg('--fee-bps', 2000))
    .option('--slash-bps <n>', 'stake slashed per offence, basis points (default 1000)', wholeArg('--slash-bps', 10_000))
    .option('--min-stake <lode>', 'own stake a provider needs, LODE (default 100)', lodeAmount('--min-stake'))
    .option('--unbonding-period <duration>', 'unbonding to withdrawal, e.g. 14d (default 60s)', durationArg('--unbonding-period'))
    .option('--settlement-period <duration>', 'between settlement batches, e.g. 1h (default 10s)', durationArg('--settlement-period'))
    .option('--challenge-window <duration>', 'before a batch is final, e.g. 1d (default 5s)', durationArg('--challenge-window'))
    .option('--voting-delay <duration>', 'from proposal to voting snapshot, e.g. 1d (default 1s)', durationArg('--voting-delay'))
    .option('--voting-period <duration>', 'how long voting stays open, e.g. 7d (default 30s)', durationArg('--voting-period'))
    .option('--timelock-delay <duration>', 'how long a passed proposal waits, e.g. 2d (default 10s)', durationArg('--timelock-delay'))
    .option('--quorum-percent <n>', 'quorum, percent of the supply (default 4)', wholeArg('--quorum-percent', 100))
    .addOption(
      new Option('--proposal-threshold <lode>', 'votes needed to propose, LODE, more than 0 (default 100000)').argParser((v) =>
        lodeAmount('--proposal-threshold')(v).toString(),
      ),
    )
    .option(
      '--initial-supply <lode>',
      'LODE minted at deployment: the allocations below, the rest to the timelock as the treasury (default 1000000000)',
      lodeAmount('--initial-supply'),
    )
    .option(
      '--operator <address>',
      'receives the operator allocation, its votes delegated to itself (default: the deploying account)',
      addressArg('--operator'),
    )
    .addOption(
      new Option('--operator-allocation <lode>', 'LODE for the operator (default 200000000; 0 for none)').argParser((v) =>
        v === '0' ? 0n : lodeAmount('--operator-allocation')(v),
      ),
    )
    .addOption(
      new Option(
        '--faucet-reserve <lode>',
        'LODE the gateway account holds for a faucet (`lode gateway --faucet`); must be below the quorum (default 0: no faucet)',
      ).argParser((v) => (v === '0' ? 0n : lodeAmount('--faucet-reserve')(v))),
    )
    .option('--treasury <address>', 'receives fees and slashed stake (default: the timelock, i.e. the DAO)', addressArg('--treasury'));
  withJson(cmd);
  cmd.addHelpText(
    'after',
    '\nThe gateway account (it settles batches and slashes) is the key `lode gateway\n' +
      '--data-dir <same dir>` signs with (<data-dir>/gateway/keystore.json, created if\n' +
      'missing); name another with the global flag as an address: `--gateway 0x…`.\n' +
      'The defaults suit a local test chain; a public one wants days, e.g.\n' +
      '--challenge-window 1d --unbonding-period 14d --settlement-period 1h\n' +
      '--voting-delay 1d --voting-period 7d --timelock-delay 2d --proposal-threshold 1000000\n' +
      '(docs/CONTRACTS.md says why). A faucet reserve is handed out only by a gateway\n' +
      'started with --faucet, and never reaches the quorum: free tokens cannot pass a vote.',
  );
  withExamples(
    cmd,
    'lode --data-dir ./deployer ledger deploy --rpc-url http://127.0.0.1:8545',
    'lode ledger deploy --rpc-url https://rpc.example --gateway 0x8ba1f109551bD432803012645Ac136ddd64DBA72 --out ledger.json --fee-bps 50',
  );
  cmd.action(async (opts: Options) => {
    const { dataDir } = globalsOf(cmd);
    checkPeriods(opts);
    const out = resolve(opts.out ?? join(dataDir, 'ledger.json'));
    if (existsSync(out) && !opts.force) {
      throw new UsageError(`${out} exists already (an earlier deployment?).`, 'Pass --force to overwrite it, or --out to write elsewhere.');
    }
    const { account, address: deployer } = await loadAccount(dataDir);
    const gateway = await gatewayAccount(cmd, dataDir);

    const { deployLedger, LedgerDeployError, LedgerParametersError, planAllocations } = await import('@lode/ledger');
    const params = {
      gateway: gateway.address,
      feeBps: opts.feeBps,
      slashBps: opts.slashBps,
      minStake: opts.minStake,
      unbondingPeriod: num(opts.unbondingPeriod),
      settlementPeriod: num(opts.settlementPeriod),
      challengeWindow: num(opts.challengeWindow),
      votingDelay: num(opts.votingDelay),
      votingPeriod: num(opts.votingPeriod),
      timelockDelay: num(opts.timelockDelay),
      quorumPercent: opts.quorumPercent,
      proposalThreshold: opts.proposalThreshold === undefined ? undefined : BigInt(opts.proposalThreshold),
      initialSupply: opts.initialSupply,
      treasury: opts.treasury,
      operator: opts.operator,
      operatorAllocation: opts.operatorAllocation,
      faucetReserve: opts.faucetReserve,
    };
    // The supply's allocation, checked before any network call (the timelock's address comes later).
    let allocations: ReturnType<typeof planAllocations>;
    try {
      allocations = planAllocations({ ...params, deployer, timelock: zeroAddress });
    } catch (err) {
      if (err instanceof LedgerParametersError)
        throw new UsageError(`Unsafe deployment parameters: ${err.message}`, 'Nothing was sent. `lode ledger deploy --help` lists the defaults.', {
          cause: err,
        });
      throw err;
    }

    const transport = http(opts.rpcUrl, { retryCount: 2, timeout: 60_000 });
    const publicClient = createPublicClient({ transport, pollingInterval: 500 }) as PublicClient;
    const chainId = await publicClient.getChainId().catch((err: unknown) => {
      throw new LedgerUnavailableError(`No EVM chain answered at ${opts.rpcUrl} (${(err as Error).message.split('\n')[0]}). Check --rpc-url.`, { cause: err });
    });
    const eth = await publicClient.getBalance({ address: deployer });
    if (eth === 0n) throw new NoGasError(deployer, chainId);

    if (!opts.json)
      process.stderr.write(
        `Deploying Lode's contracts on chain ${chainId} from ${deployer} (${formatEther(eth)} ETH): 8 contracts and 9 role changes, each waited for…\n`,
      );
    const wallet = createWalletClient({ account, transport });
    const addresses = await deployLedger(wallet, publicClient, params).catch((err: unknown) => {
      if (err instanceof LedgerDeployError) {
        const cause = causes(err);
        if (/insufficient funds|exceeds balance/i.test(cause)) throw new NoGasError(deployer, chainId, { cause: err });
        throw new DeployFailedError(
          `The deployment failed at "${err.step}"${err.receipt ? ` (transaction ${err.receipt.transactionHash} reverted)` : ''}. Contracts deployed before that step are abandoned; fix the cause and deploy again.`,
          {
            details: cause.split('\n').slice(0, 3).join('\n'),
            cause: err,
          },
        );
      }
      throw err;
    });

    await mkdir(dirname(out), { recursive: true });
    const tmp = `${out}.${process.pid}.tmp`;
    await writeFile(tmp, `${JSON.stringify(addresses, null, 2)}\n`);
    await rename(tmp, out);

    const supply = opts.initialSupply ?? 10n ** 27n;
    // Who got what: the timelock's share is what the others leave.
    const shares = allocations.map((a) => ({
      holder: a.holder === zeroAddress ? addresses.timelock : a.holder,
      amount: a.amount.toString(),
      delegatee: a.delegatee === zeroAddress ? null : a.delegatee,
      role:
        a.holder === zeroAddress
          ? 'treasury'
          : a.holder === (opts.operator ?? deployer) && a.delegatee !== zeroAddress
            ? 'operator'
            : a.holder === gateway.address
              ? 'faucet'
              : 'other',
    }));
    if (opts.json) {
      return printJson({
        file: out,
        rpcUrl: opts.rpcUrl,
        deployer,
        gateway: gateway.address,
        gatewayKeystore: gateway.path ?? null,
        initialSupply: supply.toString(),
        allocations: shares,
        addresses,
      });
    }
    const rows: Array<[string, string]> = [
      ['LodeToken', addresses.token],
      ['ProtocolConfig', addresses.config],
      ['Staking', addresses.staking],
      ['JobEscrow', addresses.escrow],
      ['DeviceRegistry', addresses.registry],
      ['LodeGovernor', addresses.governor],
      ['TimelockController', addresses.timelock],
    ];
    const sameDir = gateway.path !== undefined;
    process.stdout.write(
      `Deployed Lode on chain ${chainId} (first block ${addresses.deployBlock})\n` +
        rows.map(([n, a]) => `  ${n.padEnd(19)} ${a}\n`).join('') +
        `Addresses written to ${out}\n` +
        `  gateway account: ${gateway.address}${gateway.path ? ` (${gateway.path}${gateway.created ? ', created now' : ''})` : ''} — settles batches and slashes\n` +
        `  ${formatLode(supply)} allocated:\n` +
        shares
          .map(
            (a) =>
              `    ${a.role.padEnd(9)} ${a.holder}  ${formatLode(a.amount)}${a.delegatee ? ` (votes delegated to ${a.delegatee === a.holder ? 'itself' : a.delegatee})` : ''}\n`,
          )
          .join('') +
        `  governance (the timelock) holds every power but settling and slashing; this account holds none\n` +
        `Next:\n` +
        `  1. Send the gateway account ETH for gas on this chain.\n` +
        `  2. Start the gateway: lode gateway --data-dir ${sameDir ? dataDir : '<its data dir>'} --rpc-url ${opts.rpcUrl} --ledger-addresses ${out}\n` +
        `  3. Give providers and requesters LODE: lode --data-dir ${dataDir} wallet transfer <address> <amount>\n`,
    );
  });
}

/** The gateway's account: `--gateway 0x…` on the command line, else the key `lode gateway --data-dir` would use. */
async function gatewayAccount(cmd: Command, dataDir: string): Promise<{ address: Address; path?: string; created?: boolean }> {
  const raw = globalsOf(cmd).gateway;
  // The global --gateway is a URL everywhere else; here an address names the gateway's account
  // and a URL (an alias or habit) is simply not needed.
  if (cmd.getOptionValueSourceWithGlobals('gateway') === 'cli' && !/^(https?|wss?):\/\//.test(raw)) {
    if (!isAddress(raw, { strict: false })) {
      throw new UsageError(
        `lode ledger deploy takes --gateway as the gateway's account address, got "${raw}".`,
        'Pass the address of the key the gateway will sign with, or leave --gateway out to use <data-dir>/gateway.',
      );
    }
    return { address: getAddress(raw) };
  }
  const loaded = await loadOrCreateAccount(join(dataDir, 'gateway'), { create: true });
  return { address: loaded.address, path: loaded.path, created: loaded.created };
}

/** The bounds ProtocolConfig and the governor check in their constructors, refused before any gas is spent. */
function checkPeriods(o: Options): void {
  const challenge = o.challengeWindow ?? 5n;
  const unbonding = o.unbondingPeriod ?? 60n;
  const year = 365n * 86_400n;
  for (const [flag, v, min] of [
    ['--unbonding-period', unbonding, 0n],
    ['--settlement-period', o.settlementPeriod ?? 10n, 1n],
    ['--challenge-window', challenge, 1n],
    ['--voting-period', o.votingPeriod ?? 30n, 1n],
  ] as const) {
    if (v < min || (flag !== '--voting-period' && v > year)) throw new UsageError(`${flag} must be from ${min} s to 365 days, got ${v} s.`);
  }
  if (unbonding < challenge)
    throw new UsageError(
      `--unbonding-period (${unbonding} s) must be at least --challenge-window (${challenge} s).`,
      'Stake behind a batch must stay slashable while the batch can be challenged.',
    );
  if (o.slashBps === 0) throw new UsageError('--slash-bps must be from 1 to 10000.');
  if ((o.votingDelay ?? 0n) > 2n ** 48n - 1n || (o.votingPeriod ?? 0n) > 2n ** 32n - 1n || (o.timelockDelay ?? 0n) > 10n * year) {
    throw new UsageError('--voting-delay, --voting-period or --timelock-delay is too long.');
  }
}

function num(v: bigint | undefined): number | undefined {
  return v === undefined ? undefined : Number(v);
}

function httpUrl(value: string): string {
  if (!/^https?:\/\/[^\s]+$/.test(value)) throw new InvalidArgumentError(`--rpc-url must be an http(s) URL, got "${value}".`);
  return value;
}

function causes(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err; e instanceof Error && parts.length < 8; e = e.cause) parts.push(e instanceof LodeError ? e.shortMessage : e.message);
  return parts.join('\n');
}
