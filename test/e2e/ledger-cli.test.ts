/**
 * The ledger verbs of the `lode` CLI on real processes: a gateway with its embedded chain started
 * with `lode gateway`, a provider node with `lode node`, and every `lode wallet|stake|earnings|
 * gov|ledger` call a child process, as a user runs it. Answers are checked against the chain
 * itself (viem reads over the gateway's /rpc), never against the CLI's own helpers; refusals
 * against their exit code and words.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createPublicClient, getAddress, http, keccak256, toHex, type Address, type Hex, type PublicClient } from 'viem';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { jobEscrowAbi, ledgerAddressesSchema, lodeTokenAbi, protocolConfigAbi, stakingAbi } from '@lode/ledger/client';
import { Cluster, freePort, lode, lodeRun, waitFor, type Proc } from '../support/cluster.js';
import { json, keystoreAddress } from '../support/cliOutput.js';
import { finalPayouts } from '../support/payouts.js';

// Every step is a `lode` process (about a second each on two cores), and settlement and voting take real time.
vi.setConfig({ testTimeout: 180_000 });

const PRICE = 10n ** 15n; // what the node asks per task: 0.001 LODE
const E = (lode: string) => BigInt(Math.round(Number(lode) * 1e6)) * 10n ** 12n; // exact for the test's amounts

let cluster: Cluster;
let chain: PublicClient;
let contracts: { token: Address; config: Address; staking: Address; escrow: Address };
let gatewayB: Proc | undefined;
/** When alice's unbonding (in the stake test) is released: the last test withdraws it. */
let aliceReleaseAt: number | undefined;

/** `lode --gateway <url> --data-dir <dir> ...args` run to completion. */
function cli(dataDir: string, args: string[], gateway = cluster.url) {
  return lodeRun(['--gateway', gateway, '--data-dir', join(cluster.dir, dataDir), ...args]);
}

const addressOf = (dataDir: string): Address => keystoreAddress(join(cluster.dir, dataDir));

const lodeOf = (who: Address) => chain.readContract({ address: contracts.token, abi: lodeTokenAbi, functionName: 'balanceOf', args: [who] });

beforeAll(async () => {
  cluster = await new Cluster({ nodes: 0, ledger: true }).start(); // the provider node starts in its test, once staked
  chain = createPublicClient({ transport: http(`${cluster.url}/rpc`), pollingInterval: 100 }) as PublicClient;
  contracts = ((await (await fetch(`${cluster.url}/v1/ledger`)).json()) as { contracts: typeof contracts }).contracts;
});
afterAll(async () => {
  if (gatewayB && gatewayB.child.exitCode === null) {
    gatewayB.child.kill('SIGKILL');
    await gatewayB.exited;
  }
  await cluster?.stop();
});

describe('lode wallet', () => {
  it('faucet creates and funds the account; balance reports what the chain holds', async () => {
    const got = json(await cli('alice', ['wallet', 'faucet', '--json']));
    const alice = addressOf('alice');
    expect(getAddress(got.address)).toBe(alice);
    const balance = json(await cli('alice', ['wallet', 'balance', '--json']));
    expect(balance).toMatchObject({
      address: alice,
      eth: (await chain.getBalance({ address: alice })).toString(),
      lode: (await lodeOf(alice)).toString(),
      stake: '0',
      eligible: false,
    });
    expect(BigInt(balance.lode)).toBe(BigInt(got.lode));
    const text = await cli('alice', ['wallet', 'balance']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/LODE:\s+10000 LODE/);
    expect(text.stdout).toMatch(/not eligible — needs 100 LODE of own stake/);
  });

  it('balance of another address needs no account; an account-less data dir says how to make one', async () => {
    const alice = addressOf('alice');
    expect(json(await cli('nobody', ['wallet', 'balance', alice, '--json'])).address).toBe(alice);
    const none = await cli('nobody', ['wallet', 'balance']);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/error \[NO_ACCOUNT\]: No account in .*keystore\.json\. Create one with `lode account new`/);
  });

  it('transfer moves exactly the amount; more than the balance, a bad address or amount is refused in words', async () => {
    json(await cli('bob', ['wallet', 'faucet', '--json']));
    const [alice, bob] = [addressOf('alice'), addressOf('bob')];
    const before = await Promise.all([lodeOf(alice), lodeOf(bob)]);
    const sent = json(await cli('alice', ['wallet', 'transfer', bob, '25.5', '--json']));
    expect(sent).toMatchObject({ from: alice, to: bob, amount: E('25.5').toString() });
    expect(await lodeOf(alice)).toBe(before[0]! - E('25.5'));
    expect(await lodeOf(bob)).toBe(before[1]! + E('25.5'));
    expect((await chain.getTransactionReceipt({ hash: sent.txHash })).status).toBe('success');

    const nonce = await chain.getTransactionCount({ address: alice });
    const tooMuch = await cli('alice', ['wallet', 'transfer', bob, '1000000']);
    expect(tooMuch.code).toBe(1);
    expect(tooMuch.stderr).toMatch(/error \[TX_REVERTED\]: .*\(ERC20InsufficientBalance\)\. The account does not hold enough LODE/);
    expect(tooMuch.stderr).toContain(`It holds ${Number((before[0]! - E('25.5')) / 10n ** 12n) / 1e6} LODE; this needs 1000000 LODE.`);
    for (const [args, words] of [
      [['0x1234', '5'], /<to> must be an address \(0x and 40 hex digits\), got "0x1234"/],
      [[bob, '-5'], /unknown option '-5'|<amount> must be an amount of LODE/],
      [[bob, 'ten'], /<amount> must be an amount of LODE like 100 or 0\.25, got "ten"/],
      [[bob, '0'], /<amount> must be more than 0/],
      [[bob, '1.0000000000000000001'], /<amount> must be an amount of LODE/],
    ] as const) {
      const bad = await cli('alice', ['wallet', 'transfer', ...args]);
      expect(bad.code, bad.stderr).toBe(2);
      expect(bad.stderr).toMatch(/^error \[USAGE\]: /);
      expect(bad.stderr).toMatch(words);
    }
    expect(await chain.getTransactionCount({ address: alice })).toBe(nonce); // nothing was sent
  });
});

describe('lode stake', () => {
  it('adds stake, delegates, reports status, unbonds — and refuses a withdrawal before the period ends', async () => {
    const [alice, bob] = [addressOf('alice'), addressOf('bob')];
    const added = json(await cli('alice', ['stake', 'add', '150', '--json']));
    expect(added).toMatchObject({ stake: E('150').toString(), eligible: true });
    expect(await chain.readContract({ address: contracts.staking, abi: stakingAbi, functionName: 'stakeOf', args: [alice] })).toBe(E('150'));

    json(await cli('bob', ['stake', 'delegate', alice, '10', '--json']));
    expect(await chain.readContract({ address: contracts.staking, abi: stakingAbi, functionName: 'delegationOf', args: [alice, bob] })).toBe(E('10'));

    const unbonded = json(await cli('alice', ['stake', 'unbond', '50', '--json']));
    const period = await chain.readContract({ address: contracts.config, abi: protocolConfigAbi, functionName: 'unbondingPeriod' });
    const receipt = await chain.getTransactionReceipt({ hash: unbonded.txHash });
    const minedAt = (await chain.getBlock({ blockNumber: receipt.blockNumber })).timestamp;
    expect(BigInt(unbonded.releaseAtSeconds)).toBe(minedAt + period);
    aliceReleaseAt = unbonded.releaseAtSeconds;

    const status = json(await cli('alice', ['stake', 'status', '--json']));
    expect(status).toMatchObject({ stake: E('100').toString(), totalStake: E('110').toString(), eligible: true, withdrawable: '0' });
    expect(status.unbonding).toEqual([
      { provider: alice, amount: E('50').toString(), releaseAt: unbonded.releaseAt, releaseAtSeconds: unbonded.releaseAtSeconds, released: false },
    ]);
    expect(json(await cli('bob', ['stake', 'status', '--json'])).delegations).toEqual([{ provider: alice, amount: E('10').toString() }]);
    const text = await cli('alice', ['stake', 'status']);
    expect(text.stdout).toMatch(/own stake +50 LODE +20\d\d-\d\d-\d\d \d\d:\d\d:\d\d \(in /);

    const early = await cli('alice', ['stake', 'withdraw']);
    expect(early.code).toBe(1);
    expect(early.stderr).toMatch(/error \[TX_REVERTED\]: Withdrawing was refused by the contract \(UnbondingNotFinished\): nothing is released yet/);
    expect(early.stderr).toContain(`releases at ${unbonded.releaseAt}`);

    const nothing = await cli('bob', ['stake', 'withdraw']);
    expect(nothing.code).toBe(1);
    expect(nothing.stderr).toMatch(/\(NothingToWithdraw\)\. Nothing is ready to withdraw: unbond first/);

    const tooMuch = await cli('alice', ['stake', 'unbond', '5000']);
    expect(tooMuch.code).toBe(1);
    expect(tooMuch.stderr).toMatch(
      /\(InsufficientStake\)\. The account has less stake than that with this provider\.\n {2}Its stake with 0x[0-9a-fA-F]{40} is 100 LODE; this asks for 5000 LODE\./,
    );
    expect((await cli('alice', ['stake', 'unbond', 'half'])).code).toBe(2);
    expect((await cli('alice', ['stake', 'delegate', 'alice', '5'])).stderr).toMatch(/<provider> must be an address/);
  });
});

describe('lode wallet claim and lode earnings', () => {
  it("claims a provider's settled payouts once, and lists them as a statement with a CSV header", async () => {
    json(await cli('provider', ['wallet', 'faucet', '--json']));
    json(await cli('provider', ['stake', 'add', '100', '--json']));
    const provider = addressOf('provider');
    const none = await cli('provider', ['wallet', 'claim']);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/error \[NOTHING_TO_CLAIM\]: Nothing to claim for 0x[0-9a-fA-F]{40}: it has no payouts yet/);

    await cluster.startNode(join(cluster.dir, 'provider'), ['--price', PRICE.toString(), '--no-claim', '--slots', '2']);
    json(await cli('requester', ['wallet', 'faucet', '--json']));
    const tasks = 6;
    const run = await cli('requester', ['run', 'pi', '--tasks', String(tasks), '--json']);
    expect(run.code, run.stderr).toBe(0);

    // Independently: the gateway's payouts, posted and past the challenge window on chain.
    const payouts = await finalPayouts({ gateway: cluster.url, chain, escrow: contracts.escrow, provider: provider, tasks });
    const feeBps = BigInt(await chain.readContract({ address: contracts.config, abi: protocolConfigAbi, functionName: 'feeBps' }));
    const gross = PRICE * BigInt(tasks);
    const net = payouts.payouts.reduce((n, p) => n + BigInt(p.gross) - (BigInt(p.gross) * feeBps) / 10_000n, 0n);
    expect(BigInt(payouts.totals.gross)).toBe(gross);

    const before = await lodeOf(provider);
    const claimed = json(await cli('provider', ['wallet', 'claim', '--json']));
    expect(claimed).toMatchObject({ address: provider, amount: net.toString(), restaked: false, pending: [] });
    expect(claimed.batches).toEqual(payouts.payouts.map((p) => p.batch).sort((a, b) => b - a));
    expect(await lodeOf(provider)).toBe(before + net);
    for (const p of payouts.payouts) {
      expect(
        await chain.readContract({ address: contracts.escrow, abi: jobEscrowAbi, functionName: 'isClaimed', args: [BigInt(p.chainBatchId!), provider] }),
      ).toBe(true);
    }
    const again = await cli('provider', ['wallet', 'claim']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/error \[NOTHING_TO_CLAIM\]: Nothing to claim for .*: (its one payout is|all \d+ of its payouts are) claimed already\./);

    const csv = await cli('provider', ['earnings', '--csv']);
    expect(csv.code, csv.stderr).toBe(0);
    const [header, ...rows] = csv.stdout.trimEnd().split('\n');
    expect(header).toBe('date_utc,gateway_batch,chain_batch,status,tasks,gross_lode,fee_lode,net_lode,claimed,tx_hash');
    expect(rows).toHaveLength(payouts.payouts.length);
    const byBatch = new Map(payouts.payouts.map((p) => [p.batch, p]));
    let csvTasks = 0;
    for (const row of rows) {
      const [date, batch, chainBatch, status, n, grossLode, feeLode, netLode, isClaimed, tx] = row.split(',');
      const p = byBatch.get(Number(batch))!;
      expect(new Date(date!).getTime()).toBe(p.createdAt);
      expect([chainBatch, status, Number(n), isClaimed, tx]).toEqual([p.chainBatchId, 'posted', p.tasks, 'yes', p.txHash]);
      expect(E(grossLode!)).toBe(BigInt(p.gross));
      expect(E(feeLode!)).toBe((BigInt(p.gross) * feeBps) / 10_000n);
      expect(E(netLode!)).toBe(BigInt(p.amount));
      expect((await chain.getTransactionReceipt({ hash: tx as Hex })).to?.toLowerCase()).toBe(contracts.escrow.toLowerCase());
      csvTasks += Number(n);
    }
    expect(csvTasks).toBe(tasks);

    const statement = json(await cli('requester', ['earnings', provider, '--json']));
    expect(statement.totals).toMatchObject({ tasks, gross: gross.toString(), net: net.toString(), claimed: net.toString() });
    const today = new Date().toISOString().slice(0, 10);
    expect(json(await cli('requester', ['earnings', provider, '--from', today, '--to', today, '--json'])).rows).toHaveLength(rows.length);
    const future = await cli('provider', ['earnings', '--from', '2999-01-01', '--csv']);
    expect(future.code, future.stderr).toBe(0);
    expect(future.stdout.trimEnd().split('\n')).toEqual([header]);
    const table = await cli('provider', ['earnings']);
    expect(table.stdout).toMatch(new RegExp(`Total: ${rows.length} batch\\(es\\), ${tasks} task\\(s\\)`));

    for (const args of [
      ['--from', '2025-02-30'],
      ['--to', '25-01-01'],
      ['--from', '2025-02-01', '--to', '2025-01-01'],
    ]) {
      const bad = await cli('provider', ['earnings', ...args]);
      expect(bad.code, args.join(' ')).toBe(2);
      expect(bad.stderr).toMatch(/^error \[USAGE\]: .*(YYYY-MM-DD|is after --to)/);
    }
  });
});

describe('lode ledger deploy and lode gov', () => {
  it("deploys on the gateway's chain over HTTP, and a second gateway on it runs a fee change through propose, vote, queue and execute", async () => {
    const dir = join(cluster.dir, 'dao');
    json(await cli('dao', ['wallet', 'faucet', '--json']));
    json(await cli('anyone', ['wallet', 'faucet', '--json'])); // ETH for gas on the shared chain
    const deployer = addressOf('dao');
    const deployed = json(
      await cli('dao', [
        'ledger',
        'deploy',
        '--rpc-url',
        `${cluster.url}/rpc`,
        '--voting-delay',
        '1',
        '--voting-period',
        '10',
        '--timelock-delay',
        '8',
        '--fee-bps',
        '100',
        '--json',
      ]),
    );
    // The addresses file is where `lode gateway --data-dir` looks, valid, and every contract is there.
    expect(deployed.file).toBe(join(dir, 'ledger.json'));
    const addresses = ledgerAddressesSchema.parse(JSON.parse(readFileSync(deployed.file, 'utf8')));
    for (const a of [addresses.token, addresses.config, addresses.staking, addresses.escrow, addresses.governor, addresses.timelock]) {
      expect(await chain.getCode({ address: a })).toMatch(/^0x[0-9a-f]{2,}$/);
    }
    const gatewayAccount = keystoreAddress(join(dir, 'gateway'));
    expect(deployed.gateway).toBe(gatewayAccount);
    const settler = keccak256(toHex('SETTLER_ROLE'));
    expect(await chain.readContract({ address: addresses.escrow, abi: jobEscrowAbi, functionName: 'hasRole', args: [settler, gatewayAccount] })).toBe(true);
    // The supply, allocated on purpose: the deployer is the operator (its 20 %, delegated to itself),
    // the timelock holds the rest as the treasury, and no faucet reserve was asked for.
    const OPERATOR = 2n * 10n ** 26n;
    expect(deployed.allocations).toEqual([
      { holder: deployer, amount: OPERATOR.toString(), delegatee: deployer, role: 'operator' },
      { holder: addresses.timelock, amount: (8n * 10n ** 26n).toString(), delegatee: null, role: 'treasury' },
    ]);
    expect(await chain.readContract({ address: addresses.token, abi: lodeTokenAbi, functionName: 'balanceOf', args: [deployer] })).toBe(OPERATOR);
    expect(await chain.readContract({ address: addresses.token, abi: lodeTokenAbi, functionName: 'getVotes', args: [deployer] })).toBe(OPERATOR);
    const unsafe = await cli('dao', ['ledger', 'deploy', '--rpc-url', `${cluster.url}/rpc`, '--out', join(dir, 'unsafe.json'), '--faucet-reserve', '40000000']);
    expect(unsafe.code).toBe(2);
    expect(unsafe.stderr).toMatch(/error \[USAGE\]: Unsafe deployment parameters: faucetReserve .* must be strictly below the quorum/);
    const twice = await cli('dao', ['ledger', 'deploy', '--rpc-url', `${cluster.url}/rpc`]);
    expect(twice.code).toBe(2);
    expect(twice.stderr).toMatch(/ledger\.json exists already.*\n {2}Pass --force/);

    // A gateway on that deployment (an external chain to it: no faucet).
    const port = await freePort();
    const urlB = `http://127.0.0.1:${port}`;
    gatewayB = lode(['gateway', '--port', String(port), '--data-dir', dir, '--rpc-url', `${cluster.url}/rpc`, '--ledger-addresses', deployed.file]);
    await waitFor('the second gateway', async () => {
      if (gatewayB!.child.exitCode !== null) throw new Error(`gateway exited: ${gatewayB!.output()}`);
      return (await fetch(`${urlB}/healthz`)).ok;
    });
    const noFaucet = await cli('dao', ['wallet', 'faucet'], urlB);
    expect(noFaucet.code).toBe(1);
    expect(noFaucet.stderr).toMatch(/error \[NO_FAUCET\]: The gateway at .* has no faucet/);
    expect(json(await cli('dao', ['gov', 'params', '--json'], urlB))).toMatchObject({
      params: { feeBps: 100 },
      governance: { votingDelay: 1, votingPeriod: 10, timelockDelay: 8, quorumPercent: 4 },
      contracts: { config: addresses.config },
    });

    const badValue = await cli('dao', ['gov', 'propose', 'feeBps', '2500'], urlB);
    expect(badValue.code).toBe(2);
    expect(badValue.stderr).toMatch(/error \[USAGE\]: feeBps cannot be set to 2500: the protocol fee is at most 2000 basis points/);

    // Proposing needs votes above the threshold: an account without any is refused.
    const noVotes = await cli('anyone', ['gov', 'propose', 'feeBps', '3%'], urlB);
    expect(noVotes.code).toBe(1);
    expect(noVotes.stderr).toMatch(/\(GovernorInsufficientProposerVotes\)\. The account has fewer votes than the proposal threshold/);

    const proposed = await cli('dao', ['gov', 'propose', 'feeBps', '2.5%', '--description', 'Fee to 2.5 %', '--json'], urlB);
    const p = json(proposed);
    expect(proposed.stderr).toBe('');
    expect(p.delegatedVotesTx).toBeNull(); // the operator's votes were delegated at deployment
    expect(p.votes).toBe(OPERATOR.toString());
    expect(p).toMatchObject({ parameter: 'feeBps', value: '250', description: 'Fee to 2.5 %' });
    const id: string = p.proposalId;
    const status = async () => json(await cli('dao', ['gov', 'status', id, '--json'], urlB));

    await waitFor('voting to open', async () => (await status()).state === 'Active', 30_000, 250);
    const vote = json(await cli('dao', ['gov', 'vote', id, 'for', '--json'], urlB));
    expect(BigInt(vote.weight)).toBe(OPERATOR);
    const twiceVoted = await cli('dao', ['gov', 'vote', id, 'against'], urlB);
    expect(twiceVoted.code).toBe(1);
    expect(twiceVoted.stderr).toMatch(/\(GovernorAlreadyCastVote\)\. This account has voted on this proposal already/);

    await waitFor('the vote to pass', async () => (await status()).state === 'Succeeded', 30_000, 500);
    const queued = json(await cli('anyone', ['gov', 'queue', id, '--json'], urlB)); // anyone may queue
    const early = await cli('anyone', ['gov', 'execute', id], urlB);
    expect(early.code).toBe(1);
    expect(early.stderr).toMatch(
      new RegExp(`error \\[TX_REVERTED\\]: Executing proposal ${id} was refused: proposal ${id} is Queued — it waits in the timelock until ${queued.eta}`),
    );

    await waitFor('the timelock delay', async () => Date.now() / 1000 > queued.etaSeconds + 1, 30_000, 250);
    const executed = json(await cli('anyone', ['gov', 'execute', id, '--json'], urlB));
    expect(executed).toMatchObject({ state: 'Executed', params: [{ parameter: 'feeBps', value: '250' }] });
    expect(await chain.readContract({ address: addresses.config, abi: protocolConfigAbi, functionName: 'feeBps' })).toBe(250);
    expect((await status()).state).toBe('Executed');
    expect(json(await cli('dao', ['gov', 'params', '--json'], urlB)).params.feeBps).toBe(250);
    // The first gateway's own deployment is untouched.
    expect(await chain.readContract({ address: contracts.config, abi: protocolConfigAbi, functionName: 'feeBps' })).toBe(100);

    const unknown = await cli('dao', ['gov', 'status', '123'], urlB);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/error \[NOT_FOUND\]: No proposal 123 on the governor/);
    expect((await cli('dao', ['gov', 'status', 'abc'], urlB)).code).toBe(2);
    expect(existsSync(join(dir, 'ledger.json'))).toBe(true);
  });
});

describe('lode stake withdraw, once the period has passed', () => {
  // Runs last: the unbonding period (60 s by default) has mostly passed during the tests above.
  it('pays out the released unbonding exactly', async () => {
    expect(aliceReleaseAt, 'the stake test ran').toBeDefined();
    const alice = addressOf('alice');
    await waitFor('the unbonding period', async () => Date.now() / 1000 > aliceReleaseAt! + 1, 90_000, 500);
    expect(json(await cli('alice', ['stake', 'status', '--json'])).withdrawable).toBe(E('50').toString());
    const before = await lodeOf(alice);
    const out = json(await cli('alice', ['stake', 'withdraw', '--json']));
    expect(out).toMatchObject({ amount: E('50').toString(), stillUnbonding: [] });
    expect(await lodeOf(alice)).toBe(before + E('50'));
    expect((await cli('alice', ['stake', 'withdraw'])).stderr).toMatch(/\(NothingToWithdraw\)/);
  });
});
