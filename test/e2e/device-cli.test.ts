/**
 * `lode device` on real processes: a gateway with its embedded chain (`lode gateway`), and every
 * `lode device` call a child process, as a user runs it. A staked node is registered as a device
 * owned by another account (the node's key consents, the owner sends), split into shares, one
 * share sold; `lode device show --json` is checked against the chain itself (viem reads over the
 * gateway's /rpc). Refusals — registering twice, splitting a device one does not own, claiming
 * nothing — are checked for their exit code and words. Then the device runs a paid job: its
 * payout goes to the share contract, and each shareholder claims exactly its share, to the wei.
 * Last, the node itself claims with `--restake`: a device's income is not the node's to restake,
 * so it falls back to a plain claim, paid to the share contract, its stake unchanged.
 */
import { join } from 'node:path';
import { createPublicClient, getAddress, http, type Address, type PublicClient } from 'viem';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { deviceRegistryAbi, deviceSharesAbi, jobEscrowAbi, lodeTokenAbi, stakingAbi } from '@lode/ledger/client';
import { deviceCapabilities, deviceCapabilitiesHash } from '@lode/protocol';
import { detectCapabilities } from '@lode/node';
import { Cluster, lodeRun, waitFor } from '../support/cluster.js';
import { json, keystoreAddress } from '../support/cliOutput.js';
import { finalPayouts } from '../support/payouts.js';

// Every step is a `lode` process (about a second each on two cores).
vi.setConfig({ testTimeout: 120_000 });

let cluster: Cluster;
let chain: PublicClient;
let registry: Address;

function cli(dataDir: string, args: string[]) {
  return lodeRun(['--gateway', cluster.url, '--data-dir', join(cluster.dir, dataDir), ...args]);
}

const addressOf = (dataDir: string): Address => keystoreAddress(join(cluster.dir, dataDir));

beforeAll(async () => {
  // No availability rewards here: an epoch ending mid-test would pay the device a reward batch
  // beside its job income, and the to-the-wei checks are about job income.
  cluster = await new Cluster({ nodes: 0, ledger: true, gatewayArgs: ['--no-availability'] }).start();
  chain = createPublicClient({ transport: http(`${cluster.url}/rpc`), pollingInterval: 100 }) as PublicClient;
  registry = ((await (await fetch(`${cluster.url}/v1/ledger`)).json()) as { contracts: { registry: Address } }).contracts.registry;
  await cluster.provision(join(cluster.dir, 'node'), true);
});
afterAll(async () => {
  await cluster?.stop();
});

describe('lode device', () => {
  it('registers a node owned by another account, splits it, sells a share; show --json agrees with the chain; refusals in words', async () => {
    json(await cli('alice', ['wallet', 'faucet', '--json']));
    json(await cli('bob', ['wallet', 'faucet', '--json']));
    const [node, alice, bob] = [addressOf('node'), addressOf('alice'), addressOf('bob')];

    // alice owns the node: its key (in --node) consents, alice sends and holds the token.
    const registered = json(await cli('alice', ['device', 'register', '--node', join(cluster.dir, 'node'), '--kind', 'laptop', '--json']));
    const caps = deviceCapabilities(await detectCapabilities({ benchmark: false }), 'laptop');
    expect(registered).toMatchObject({
      node,
      owner: alice,
      payee: alice,
      kind: 'laptop',
      capabilitiesHash: deviceCapabilitiesHash(caps),
      capabilities: caps,
      split: null,
    });
    expect(await chain.readContract({ address: registry, abi: deviceRegistryAbi, functionName: 'ownerOf', args: [BigInt(node)] })).toBe(alice);
    expect(await chain.readContract({ address: registry, abi: deviceRegistryAbi, functionName: 'payeeOf', args: [node] })).toEqual([alice, true]);

    const twice = await cli('alice', ['device', 'register', '--node', join(cluster.dir, 'node')]);
    expect(twice.code).toBe(1);
    expect(twice.stderr).toMatch(/^error \[TX_REVERTED\]: .*\(DeviceAlreadyRegistered\)\. This node is registered as a device already/);

    const notHers = await cli('bob', ['device', 'split', node, '100']);
    expect(notHers.code).toBe(1);
    expect(notHers.stderr).toMatch(/^error \[TX_REVERTED\]: .*\(NotDeviceOwner\)\. Only the device token's holder may do this/);
    const badCount = await cli('alice', ['device', 'split', node, 'many']);
    expect(badCount.code).toBe(2);
    expect(badCount.stderr).toMatch(/<count> must be a whole number of shares/);

    const split = json(await cli('alice', ['device', 'split', node, '100', '--json']));
    expect(split).toMatchObject({ node, owner: alice, count: '100' });
    const shares = getAddress(split.shares);
    expect(json(await cli('alice', ['device', 'transfer', node, bob, '--shares', '1', '--json']))).toMatchObject({
      to: bob,
      shares: '1',
      sharesContract: shares,
    });
    const sellWhole = await cli('alice', ['device', 'transfer', node, bob]);
    expect(sellWhole.code).toBe(1);
    expect(sellWhole.stderr).toMatch(/\(ERC721InsufficientApproval\)\. .*A split device's token is held by the registry/);

    const shown = json(await cli('nobody', ['device', 'show', node, '--json']));
    const [device, holder] = await chain.readContract({ address: registry, abi: deviceRegistryAbi, functionName: 'deviceOf', args: [BigInt(node)] });
    const sharesOf = (who: Address) => chain.readContract({ address: shares, abi: deviceSharesAbi, functionName: 'balanceOf', args: [who] });
    expect(shown).toEqual({
      node,
      deviceId: BigInt(node).toString(),
      registry,
      owner: null,
      holder,
      payee: shares,
      kind: 'laptop',
      capabilitiesHash: device.capabilitiesHash,
      joinedAt: new Date(Number(device.joinedAt) * 1000).toISOString().replace('.000Z', 'Z'),
      joinedAtSeconds: Number(device.joinedAt),
      split: {
        shares: device.shares,
        totalShares: '100',
        incomeTotal: '0',
        holderCount: 2,
        holders: [
          { holder: alice, shares: (await sharesOf(alice)).toString(), percent: 99, claimable: '0' },
          { holder: bob, shares: (await sharesOf(bob)).toString(), percent: 1, claimable: '0' },
        ],
      },
    });
    expect(holder).toBe(registry);
    const text = await cli('nobody', ['device', 'show', node]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/owner: +split into 100 shares/);
    expect(text.stdout).toMatch(new RegExp(`${bob}\\s+1\\s+1\\s+0 LODE`));

    const listed = json(await cli('nobody', ['device', 'ls', '--json']));
    expect(listed).toMatchObject({ owner: null, total: 1, truncated: false, devices: [{ node, owner: null, kind: 'laptop', shares }] });
    expect(json(await cli('alice', ['device', 'ls', '--mine', '--json']))).toMatchObject({ owner: alice, total: 0, devices: [] });

    const nothing = await cli('bob', ['device', 'claim', node]);
    expect(nothing.code).toBe(1);
    expect(nothing.stderr).toMatch(/^error \[NOTHING_TO_CLAIM\]: Nothing to claim for device .*no final payout of it is unclaimed, and .* has no share income/);
    const unknown = await cli('nobody', ['device', 'show', bob]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^error \[NOT_A_DEVICE\]: .* is not a registered device/);
  });

  it('pays a job run on the split device to its shareholders: each claims its share of the payout, to the wei', async () => {
    const PRICE = 10n ** 15n + 7n; // per task: not a round number, so the shares' floors matter
    const [node, alice, bob] = [addressOf('node'), addressOf('alice'), addressOf('bob')];
    const { escrow, token } = ((await (await fetch(`${cluster.url}/v1/ledger`)).json()) as { contracts: { escrow: Address; token: Address } }).contracts;
    const [device] = await chain.readContract({ address: registry, abi: deviceRegistryAbi, functionName: 'deviceOf', args: [BigInt(node)] });
    const lodeOf = (who: Address) => chain.readContract({ address: token, abi: lodeTokenAbi, functionName: 'balanceOf', args: [who] });
    const held = async (who: Address) => chain.readContract({ address: device.shares, abi: deviceSharesAbi, functionName: 'balanceOf', args: [who] });
    const [aliceShares, bobShares] = [await held(alice), await held(bob)];
    expect(aliceShares + bobShares).toBe(100n);

    // The node serves at a price and claims nothing itself: the owners claim with `lode device claim`.
    await cluster.startNode(join(cluster.dir, 'node'), ['--price', PRICE.toString(), '--no-claim', '--slots', '1']);
    json(await cli('carol', ['wallet', 'faucet', '--json']));
    const tasks = 3;
    const run = await cli('carol', ['run', 'pi', '--tasks', String(tasks), '--json']);
    expect(run.code, run.stderr).toBe(0);
    const payouts = await finalPayouts({ gateway: cluster.url, chain, escrow: escrow, provider: node, tasks });
    const income = BigInt(payouts.totals.net);
    expect(income).toBeGreaterThan(0n);

    // bob (1 share) claims: the device's payout goes into the share contract, then his part to him.
    const bobBefore = await lodeOf(bob);
    expect(json(await cli('bob', ['device', 'claim', node, '--json']))).toBeDefined();
    expect((await lodeOf(bob)) - bobBefore).toBe((income * bobShares) / 100n);
    const aliceBefore = await lodeOf(alice);
    expect(json(await cli('alice', ['device', 'claim', node, '--json']))).toBeDefined();
    expect((await lodeOf(alice)) - aliceBefore).toBe((income * aliceShares) / 100n);
    // What rounding leaves (below one wei per holder) stays in the share contract.
    const dust = income - (income * bobShares) / 100n - (income * aliceShares) / 100n;
    expect(await lodeOf(device.shares)).toBe(dust);
    expect(dust).toBeLessThan(2n);
    for (const p of payouts.payouts) {
      expect(await chain.readContract({ address: escrow, abi: jobEscrowAbi, functionName: 'isClaimed', args: [BigInt(p.chainBatchId!), node] })).toBe(true);
    }
  });

  it('a device node started with --restake claims its own payouts without restaking: paid to the share contract, its stake unchanged', async () => {
    const node = addressOf('node');
    const { escrow, token, staking } = ((await (await fetch(`${cluster.url}/v1/ledger`)).json()) as { contracts: Record<string, Address> }).contracts as {
      escrow: Address;
      token: Address;
      staking: Address;
    };
    const [device] = await chain.readContract({ address: registry, abi: deviceRegistryAbi, functionName: 'deviceOf', args: [BigInt(node)] });
    const lodeOf = (who: Address) => chain.readContract({ address: token, abi: lodeTokenAbi, functionName: 'balanceOf', args: [who] });
    const stakeOf = () => chain.readContract({ address: staking, abi: stakingAbi, functionName: 'stakeOf', args: [node] });
    const [stakeBefore, sharesBefore, nodeBefore] = [await stakeOf(), await lodeOf(device.shares), await lodeOf(node)];
    const paidBefore = await finalPayouts({ gateway: cluster.url, chain, escrow, provider: node, tasks: 3 }); // the last test's job

    const previous = cluster.nodes.pop()!;
    previous.child.kill('SIGTERM');
    await previous.exited;
    const proc = await cluster.startNode(join(cluster.dir, 'node'), ['--price', String(10n ** 15n), '--restake', '--claim-interval', '500', '--slots', '1']);
    const run = await cli('carol', ['run', 'pi', '--tasks', '2', '--json']);
    expect(run.code, run.stderr).toBe(0);
    const payouts = await finalPayouts({ gateway: cluster.url, chain, escrow, provider: node, tasks: 3 + 2 });
    const fresh = payouts.payouts.filter((p) => !paidBefore.payouts.some((q) => q.batch === p.batch));
    const income = fresh.reduce((n, p) => n + BigInt(p.amount), 0n);
    expect(income).toBeGreaterThan(0n);
    for (const p of fresh) {
      await waitFor(`the node's own claim of batch ${p.chainBatchId}`, () =>
        chain.readContract({ address: escrow, abi: jobEscrowAbi, functionName: 'isClaimed', args: [BigInt(p.chainBatchId!), node] }),
      ).catch((err: Error) => {
        throw new Error(`${err.message}; the node said:\n${proc.output()}`);
      });
    }
    expect(proc.output()).toMatch(/cannot be restaked; claiming without --restake/);
    expect(await lodeOf(device.shares)).toBe(sharesBefore + income);
    expect([await stakeOf(), await lodeOf(node)]).toEqual([stakeBefore, nodeBefore]);
  });
});
