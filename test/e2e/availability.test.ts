/**
 * Proof of availability on real processes: a gateway with its embedded chain (epochs of 20 s),
 * three staked nodes registered as devices (DeviceRegistry, signed by each node key), and one
 * epoch in which one node stays online, one is offline, and one declares 16 slots on this
 * two-core machine. Only the first is rewarded; its reward batch is posted on chain and claimed
 * with `lode wallet claim` like a job payout; token supply moved only by the emission schedule.
 * Then the gateway is killed (SIGKILL) mid-epoch and started again: what the device passed before
 * is kept (read back from the store) and counts when the epoch is scored.
 */
import { join } from 'node:path';
import { createPublicClient, createWalletClient, http, keccak256, toHex, type Address, type Hex, type PublicClient } from 'viem';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadOrCreateAccount } from '@lode/keystore';
import { deviceRegistryAbi, jobEscrowAbi, lodeTokenAbi, signDeviceConsent } from '@lode/ledger/client';
import { verifyDeviceCredential, type PayoutsView } from '@lode/protocol';
import { Cluster, lode, lodeRun, waitFor, type Proc } from '../support/cluster.js';

vi.setConfig({ testTimeout: 240_000 });

const EPOCH_S = 20;
let cluster: Cluster;
let chain: PublicClient;
let contracts: { token: Address; escrow: Address; registry: Address };
const dirs = { online: 'dev-online', offline: 'dev-offline', liar: 'dev-liar' } as const;
const addresses: Record<keyof typeof dirs, Address> = {} as never;
const procs: Proc[] = [];

interface AvailabilityView {
  current: { epoch: number; devices: Array<{ node: string; challenges: number; passed: number; missed: number }> } | null;
  settled: Array<{
    epoch: number;
    rewards: Array<{ node: string; amount: string; score: number }>;
    batch: number | null;
    devices: Array<{ node: string; passed: number }>;
  }>;
}
const availability = async () => (await (await fetch(`${cluster.url}/v1/availability`)).json()) as AvailabilityView;

/** Registers the node in `dir` as a device it owns itself: the node key signs, and sends. */
async function register(dir: string): Promise<Address> {
  const { account } = await loadOrCreateAccount(join(cluster.dir, dir), { create: false });
  const wallet = createWalletClient({ account, transport: http(`${cluster.url}/rpc`) });
  const deadline = BigInt(Math.floor(Date.now() / 1000) + 600);
  const capabilitiesHash = keccak256(toHex(`{"cores":2}`));
  const signature = await signDeviceConsent(account, {
    registry: contracts.registry,
    chainId: await chain.getChainId(),
    owner: account.address,
    kind: 'server',
    capabilitiesHash,
    deadline,
  });
  const hash = await wallet.writeContract({
    address: contracts.registry,
    abi: deviceRegistryAbi,
    functionName: 'register',
    args: [account.address, 0, capabilitiesHash, deadline, signature as Hex],
    chain: null,
  });
  expect((await chain.waitForTransactionReceipt({ hash })).status).toBe('success');
  return account.address;
}

/**
 * On one machine every node has the gateway's view of one IP address, so all are challenged at
 * the same moments (as devices behind one address are); `nice` runs a node at the lowest CPU
 * priority, as if it were a machine of its own, so that the liar's sixteen threads do not starve
 * the honest node of the cores it really has.
 */
function startNode(dir: string, slots: number, nice?: number): Proc {
  // --no-claim: the test claims the rewards itself, with the user's verb.
  const p = lode(['node', '--gateway', cluster.wsUrl, '--data-dir', join(cluster.dir, dir), '--slots', String(slots), '--no-claim'], nice ? { nice } : {});
  procs.push(p);
  return p;
}

beforeAll(async () => {
  cluster = await new Cluster({ nodes: 0, ledger: true, gatewayArgs: ['--epoch-length', String(EPOCH_S)] }).start();
  chain = createPublicClient({ transport: http(`${cluster.url}/rpc`), pollingInterval: 100 }) as PublicClient;
  contracts = ((await (await fetch(`${cluster.url}/v1/ledger`)).json()) as { contracts: typeof contracts }).contracts;
  for (const [name, dir] of Object.entries(dirs)) {
    await cluster.provision(join(cluster.dir, dir), true);
    addresses[name as keyof typeof dirs] = await register(dir);
  }
});
afterAll(async () => {
  for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGTERM');
  await Promise.all(procs.map((p) => p.exited));
  await cluster?.stop();
});

describe('availability epochs', () => {
  it('reward only the device that stays online and answers as it declared; the reward is claimed like a payout', async () => {
    const supplyBefore = await chain.readContract({ address: contracts.token, abi: lodeTokenAbi, functionName: 'totalSupply' });
    const emittedBefore = await chain.readContract({ address: contracts.token, abi: lodeTokenAbi, functionName: 'emitted' });
    startNode(dirs.online, 1);
    startNode(dirs.liar, 16, 19); // declares 16 slots: 16 challenge tasks at once on two cores miss the deadline
    // The offline device never connects. Wait for an epoch that starts with all three registered
    // and both nodes connected, then for it to be settled.
    await waitFor('both nodes connected', async () => {
      const nodes = (await (await fetch(`${cluster.url}/v1/nodes`)).json()) as { nodes: Array<{ address: string; online?: boolean }> };
      return nodes.nodes.filter((n) => n.online !== false).length >= 2;
    });
    const first = (await waitFor('an epoch with the three devices', async () => {
      const v = await availability();
      return v.current && v.current.devices.length === 3 ? v.current.epoch : undefined;
    })) as number;
    const watched = first + 1; // the first whole epoch with both nodes connected from its start
    const settled = await waitFor(
      `epoch ${watched} settled`,
      async () => (await availability()).settled.find((e) => e.epoch === watched),
      (EPOCH_S * 3 + 20) * 1000,
      500,
    );
    const lower = (a: string) => a.toLowerCase();
    const passed = Object.fromEntries(settled.devices.map((d) => [d.node, d.passed]));
    expect(passed[lower(addresses.online)]).toBeGreaterThan(0);
    expect(passed[lower(addresses.offline)]).toBe(0);
    expect(passed[lower(addresses.liar)]).toBe(0);
    expect(settled.rewards.map((r) => r.node)).toEqual([lower(addresses.online)]);
    const reward = BigInt(settled.rewards[0]!.amount);
    expect(reward).toBeGreaterThan(0n);
    expect(settled.batch).not.toBeNull();

    // The device's credential (W3C VC) carries its availability, verified offline.
    const vc = (await (await fetch(`${cluster.url}/v1/nodes/${addresses.online}/device-credential`)).json()) as { jwt: string };
    const verified = await verifyDeviceCredential(vc.jwt);
    expect(verified.ok).toBe(true);
    if (verified.ok) {
      expect(verified.subject.availability?.epochs).toBeGreaterThanOrEqual(1);
      expect(verified.subject.availability?.score).toBeGreaterThan(0);
    }

    // Posted on chain as the epoch's reward batch, then claimed by the node with the usual verb.
    const batchId = await waitFor(
      'the reward batch on chain',
      async () => {
        const id = await chain.readContract({ address: contracts.escrow, abi: jobEscrowAbi, functionName: 'rewardBatchOf', args: [BigInt(watched)] });
        return id > 0n ? id : undefined;
      },
      60_000,
      250,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n--- gateway log (tail) ---\n${cluster.gateway?.output().slice(-6000)}`);
    });
    // The nodes stop first: the liar's 16 sandbox threads saturate this machine's two cores
    // during its challenges, which could push a chain call past the embedded chain's time budget.
    for (const p of procs) p.child.kill('SIGTERM');
    await Promise.all(procs.map((p) => p.exited));
    // Every reward of the online node (earlier epochs too) is in its payouts, with proofs; the
    // watched epoch's is exactly the reward the gateway computed.
    const payouts = await waitFor('the online node’s rewards final', async () => {
      const view = (await (await fetch(`${cluster.url}/v1/ledger/payouts/${addresses.online}`)).json()) as PayoutsView;
      const posted = view.payouts.filter((p) => p.chainBatchId !== null);
      const watchedFinal = posted.some((p) => p.chainBatchId === batchId.toString() && p.claimableAt !== null && p.claimableAt + 1000 <= Date.now());
      return watchedFinal ? posted : undefined;
    });
    expect(payouts.find((p) => p.chainBatchId === batchId.toString())?.amount).toBe(reward.toString());
    const before = await chain.readContract({ address: contracts.token, abi: lodeTokenAbi, functionName: 'balanceOf', args: [addresses.online] });
    const claim = await lodeRun(['--gateway', cluster.url, '--data-dir', join(cluster.dir, dirs.online), 'wallet', 'claim', '--json']);
    expect(claim.code, claim.stderr).toBe(0);
    const claimed = JSON.parse(claim.stdout) as { amount: string; batches: number[] };
    // It claimed the watched epoch's batch (and any earlier epoch's reward, never someone else's).
    const watchedPayout = payouts.find((p) => p.chainBatchId === batchId.toString())!;
    expect(claimed.batches).toContain(watchedPayout.batch);
    const expected = payouts.filter((p) => claimed.batches.includes(p.batch)).reduce((s, p) => s + BigInt(p.amount), 0n);
    expect(BigInt(claimed.amount)).toBe(expected);
    const after = await chain.readContract({ address: contracts.token, abi: lodeTokenAbi, functionName: 'balanceOf', args: [addresses.online] });
    expect(after - before).toBe(expected);
    expect(await chain.readContract({ address: contracts.escrow, abi: jobEscrowAbi, functionName: 'isClaimed', args: [batchId, addresses.online] })).toBe(true);
    for (const node of [addresses.offline, addresses.liar]) {
      expect(await chain.readContract({ address: contracts.escrow, abi: jobEscrowAbi, functionName: 'isClaimed', args: [batchId, node] })).toBe(false);
    }

    // Supply moved only by the schedule.
    const supplyAfter = await chain.readContract({ address: contracts.token, abi: lodeTokenAbi, functionName: 'totalSupply' });
    const emittedAfter = await chain.readContract({ address: contracts.token, abi: lodeTokenAbi, functionName: 'emitted' });
    expect(supplyAfter - supplyBefore).toBe(emittedAfter - emittedBefore);
  });

  it('keeps what a device passed when the gateway is killed mid-epoch and started again', async () => {
    const online = addresses.online.toLowerCase();
    startNode(dirs.online, 1);
    // An epoch in which the device has passed a challenge, with time left to restart inside it.
    const before = await waitFor(
      'a passed challenge with 12 s of the epoch left',
      async () => {
        const v = await availability();
        const d = v.current?.devices.find((x) => x.node === online);
        const left = v.current ? (v.current.epoch + 1) * EPOCH_S * 1000 - Date.now() : 0;
        return v.current && d && d.passed > 0 && left > 12_000 ? { epoch: v.current.epoch, passed: d.passed } : undefined;
      },
      (EPOCH_S * 6 + 20) * 1000,
      250,
    );
    await new Promise((r) => setTimeout(r, 1500)); // passes reach the store within a tick (500 ms)
    await cluster.killGateway('SIGKILL');
    await cluster.startGateway();
    // The restarted gateway's epoch in progress has the passes back at once, before the node is
    // even connected again (in memory alone it would start from none) ...
    const restored = await waitFor('the restarted gateway’s epoch', async () => (await availability()).current ?? undefined, 10_000, 100);
    expect(restored.epoch).toBe(before.epoch);
    expect(restored.devices.find((x) => x.node === online)?.passed).toBeGreaterThanOrEqual(before.passed);
    // ... and when it scores that epoch, they count.
    const settled = await waitFor(
      `epoch ${before.epoch} scored after the restart`,
      async () => (await availability()).settled.find((e) => e.epoch === before.epoch),
      (EPOCH_S * 2 + 20) * 1000,
      500,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n--- gateway log (tail) ---\n${cluster.gateway?.output().slice(-6000)}`);
    });
    expect(settled.devices.find((d) => d.node === online)?.passed).toBeGreaterThanOrEqual(before.passed);
    expect(settled.rewards.map((r) => r.node)).toContain(online);
  });
});
