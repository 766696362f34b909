/**
 * Governance cannot be bought with free money, on real processes: a `lode gateway` with its
 * embedded chain, and an attacker who takes everything the faucet will give — several
 * addresses, several client IPs (127.0.0.2, 127.0.0.3, … are all this machine), until every
 * limit refuses, also after the gateway is killed and restarted — then pools the votes, proposes
 * to make itself settler and slasher and to empty the treasury, votes for it, and loses: the
 * proposal is Defeated for want of quorum and the attacker holds no role.
 */
import { request, type IncomingHttpHeaders } from 'node:http';
import {
  BaseError,
  ContractFunctionRevertedError,
  createPublicClient,
  createWalletClient,
  encodeFunctionData,
  http,
  keccak256,
  toHex,
  type Address,
  type Hex,
  type PublicClient,
} from 'viem';
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { governorAbi, jobEscrowAbi, lodeTokenAbi, stakingAbi } from '@lode/ledger/client';
import { Cluster, waitFor } from '../support/cluster.js';

// Voting takes real time: the local deployment's 30 s voting period.
vi.setConfig({ testTimeout: 180_000 });

const PER_IP = 6;
const PER_DAY = 12;
const GRANT = 10_000n * 10n ** 18n;
const SETTLER = keccak256(toHex('SETTLER_ROLE'));
const SLASHER = keccak256(toHex('SLASHER_ROLE'));
/** Governor.ProposalState */
const State = { Active: 1, Defeated: 3, Succeeded: 4 };

let cluster: Cluster;
let chain: PublicClient;
let contracts: { token: Address; staking: Address; escrow: Address; timelock: Address; governor: Address };
let gatewayAccount: Address;
const attacker = Array.from({ length: PER_DAY + 2 }, () => privateKeyToAccount(generatePrivateKey()));

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: { error?: { code: string; message: string; meta?: Record<string, unknown> } } & Record<string, unknown>;
}

/** POST /v1/ledger/faucet for `who`, sent from the local address `from` (a client IP of its own). */
function faucetFrom(from: string, who: Address): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const data = JSON.stringify({ address: who });
    const req = request(
      `${cluster.url}/v1/ledger/faucet`,
      { method: 'POST', localAddress: from, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: JSON.parse(text) as Answer['body'] }));
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

function expectRefused(answer: Answer, limit: string, words: RegExp): void {
  expect(answer.status, JSON.stringify(answer.body)).toBe(429);
  expect(answer.body.error).toMatchObject({ code: 'FAUCET_LIMIT', meta: { limit } });
  expect(answer.body.error!.message).toMatch(words);
  expect(Number(answer.headers['retry-after'])).toBeGreaterThan(0);
}

const lodeOf = (who: Address) => chain.readContract({ address: contracts.token, abi: lodeTokenAbi, functionName: 'balanceOf', args: [who] });

async function send(
  account: PrivateKeyAccount,
  call: { address: Address; abi: readonly unknown[]; functionName: string; args: readonly unknown[] },
): Promise<void> {
  const wallet = createWalletClient({ account, transport: http(`${cluster.url}/rpc`), chain: null });
  const hash = await wallet.writeContract(call as never);
  expect((await chain.waitForTransactionReceipt({ hash })).status).toBe('success');
}

/** The contract's custom error behind a refused simulation. */
async function refusal(p: Promise<unknown>): Promise<string | undefined> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'expected the contract to refuse').toBeInstanceOf(BaseError);
  const reverted = (err as BaseError).walk((e) => e instanceof ContractFunctionRevertedError) as ContractFunctionRevertedError | null;
  return reverted?.data?.errorName;
}

beforeAll(async () => {
  cluster = await new Cluster({ nodes: 0, ledger: true, gatewayArgs: ['--faucet-per-ip-day', String(PER_IP), '--faucet-per-day', String(PER_DAY)] }).start();
  chain = createPublicClient({ transport: http(`${cluster.url}/rpc`), pollingInterval: 100 }) as PublicClient;
  const info = (await (await fetch(`${cluster.url}/v1/ledger`)).json()) as { contracts: typeof contracts; gateway: Address };
  contracts = info.contracts;
  gatewayAccount = info.gateway;
});
afterAll(() => cluster?.stop());

describe('an attacker with everything the faucet gives', () => {
  it('is refused past each limit — per address, per client IP, in all — and a restart does not reset them', async () => {
    const [first, ...rest] = attacker;
    expect((await faucetFrom('127.0.0.2', first!.address)).status).toBe(200);
    expectRefused(await faucetFrom('127.0.0.2', first!.address), 'address', /one grant a day\. Come back after 20\d\d-.* \(in 2[34] h \d+ min\)/);
    // Another address from the same client: up to the per-IP limit.
    for (const a of rest.slice(0, PER_IP - 1)) expect((await faucetFrom('127.0.0.2', a.address)).status).toBe(200);
    expectRefused(
      await faucetFrom('127.0.0.2', rest[PER_IP - 1]!.address),
      'ip',
      new RegExp(`Your network \\(127\\.0\\.0\\.2\\) has had ${PER_IP} faucet grants in the last 24 hours`),
    );
    // Another client: up to the daily cap of the whole faucet.
    for (const a of rest.slice(PER_IP - 1, PER_DAY - 1)) expect((await faucetFrom('127.0.0.3', a.address)).status).toBe(200);
    expectRefused(
      await faucetFrom('127.0.0.4', rest[PER_DAY - 1]!.address),
      'total',
      new RegExp(`handed out its ${PER_DAY} grants for the last 24 hours, its daily cap`),
    );

    // Killed and started again on the same data: the grants are still counted.
    await cluster.killGateway();
    await cluster.startGateway();
    expectRefused(await faucetFrom('127.0.0.5', rest[PER_DAY]!.address), 'total', /its daily cap/);
    expectRefused(await faucetFrom('127.0.0.5', first!.address), 'address', /one grant a day/);

    // What it got, and what the faucet could ever give: its reserve, below the quorum.
    const taken = attacker.slice(0, PER_DAY);
    for (const a of taken) expect(await lodeOf(a.address)).toBe(GRANT);
    const [supply, numerator, denominator] = await Promise.all([
      chain.readContract({ address: contracts.token, abi: lodeTokenAbi, functionName: 'totalSupply' }),
      chain.readContract({ address: contracts.governor, abi: governorAbi, functionName: 'quorumNumerator' }),
      chain.readContract({ address: contracts.governor, abi: governorAbi, functionName: 'quorumDenominator' }),
    ]);
    const quorum = (supply * numerator) / denominator;
    const reserve = (await lodeOf(gatewayAccount)) + BigInt(PER_DAY) * GRANT;
    expect(reserve).toBeLessThan(quorum);
  });

  it('pools its votes, proposes to make itself settler and slasher and to empty the treasury, votes for it — and the proposal is defeated', async () => {
    const taken = attacker.slice(0, PER_DAY);
    const boss = taken[0]!;
    const treasury = await lodeOf(contracts.timelock);
    const targets: Address[] = [contracts.escrow, contracts.staking, contracts.token];
    const calldatas: Hex[] = [
      encodeFunctionData({ abi: jobEscrowAbi, functionName: 'grantRole', args: [SETTLER, boss.address] }),
      encodeFunctionData({ abi: stakingAbi, functionName: 'grantRole', args: [SLASHER, boss.address] }),
      encodeFunctionData({ abi: lodeTokenAbi, functionName: 'transfer', args: [boss.address, treasury] }),
    ];
    const values = [0n, 0n, 0n];
    const description = 'Routine maintenance';
    const propose = { address: contracts.governor, abi: governorAbi, functionName: 'propose', args: [targets, values, calldatas, description] } as const;

    // One grant is below the proposal threshold.
    await send(boss, { address: contracts.token, abi: lodeTokenAbi, functionName: 'delegate', args: [boss.address] });
    await new Promise((r) => setTimeout(r, 1100)); // votes count from the next second
    expect(await refusal(chain.simulateContract({ ...propose, account: boss }))).toBe('GovernorInsufficientProposerVotes');

    // Every grant's votes to one address: enough to propose.
    for (const a of taken.slice(1)) await send(a, { address: contracts.token, abi: lodeTokenAbi, functionName: 'delegate', args: [boss.address] });
    await new Promise((r) => setTimeout(r, 1100));
    const pooled = await chain.readContract({ address: contracts.token, abi: lodeTokenAbi, functionName: 'getVotes', args: [boss.address] });
    expect(pooled).toBe(BigInt(PER_DAY) * GRANT);
    await send(boss, propose);
    const id = await chain.readContract({
      address: contracts.governor,
      abi: governorAbi,
      functionName: 'hashProposal',
      args: [targets, values, calldatas, keccak256(toHex(description))],
    });
    const state = () => chain.readContract({ address: contracts.governor, abi: governorAbi, functionName: 'state', args: [id] });
    await waitFor('voting to open', async () => (await state()) === State.Active, 30_000, 250);
    await send(boss, { address: contracts.governor, abi: governorAbi, functionName: 'castVote', args: [id, 1] });

    const end = await waitFor(
      'voting to close',
      async () => {
        const s = await state();
        return s === State.Defeated || s === State.Succeeded ? s : undefined;
      },
      90_000,
      500,
    );
    expect(end).toBe(State.Defeated);
    const [against, forVotes] = await chain.readContract({ address: contracts.governor, abi: governorAbi, functionName: 'proposalVotes', args: [id] });
    expect([against, forVotes]).toEqual([0n, pooled]);
    const snapshot = await chain.readContract({ address: contracts.governor, abi: governorAbi, functionName: 'proposalSnapshot', args: [id] });
    expect(forVotes).toBeLessThan(await chain.readContract({ address: contracts.governor, abi: governorAbi, functionName: 'quorum', args: [snapshot] }));

    const queue = {
      address: contracts.governor,
      abi: governorAbi,
      functionName: 'queue',
      args: [targets, values, calldatas, keccak256(toHex(description))],
    } as const;
    expect(await refusal(chain.simulateContract({ ...queue, account: boss }))).toBe('GovernorUnexpectedProposalState');
    expect(await chain.readContract({ address: contracts.escrow, abi: jobEscrowAbi, functionName: 'hasRole', args: [SETTLER, boss.address] })).toBe(false);
    expect(await chain.readContract({ address: contracts.staking, abi: stakingAbi, functionName: 'hasRole', args: [SLASHER, boss.address] })).toBe(false);
    expect(await lodeOf(contracts.timelock)).toBeGreaterThanOrEqual(treasury);
  });
});
