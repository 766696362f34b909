/**
 * `lode device register [--node DIR] [--kind KIND]` — register a node as a device owned by the
 * --data-dir account: the node's key (in --node, default the same account) signs its consent,
 * the owner sends it and receives the device token, and with it the node's payouts.
 */
import type { Command } from 'commander';
import { resolve } from 'node:path';
import type { DeviceKind } from '@lode/ledger/client';
import { loadAccount } from '@lode/keystore';
import { globalsOf, withExamples, withJson } from '../../context.js';
import { printJson } from '../../output.js';
import { sending, signerOf, when } from '../ledger/shared.js';
import { deviceJson, deviceOrFail, kindOption, localDeviceCapabilities, registerWithConsent } from './shared.js';

export function registerDeviceRegister(parent: Command): void {
  const cmd = parent
    .command('register')
    .description("register a node as a device owned by the --data-dir account: the node's key consents, you receive the device token and its payouts")
    .option('--node <dir>', "the node's data dir, whose key signs the consent (default: the --data-dir account registers itself)")
    .addOption(kindOption());
  withJson(cmd);
  withExamples(
    cmd,
    'lode device register --node .lode/nodes/0              # your account owns node 0',
    'lode --data-dir ~/.lode-node device register --kind laptop   # a node owning itself',
    'lode device register --node /srv/lode --json',
  );
  cmd.action(async (opts: { node?: string; kind?: DeviceKind; json?: boolean }) => {
    const s = await signerOf(cmd);
    const nodeDir = resolve(opts.node ?? globalsOf(cmd).dataDir);
    const { account: node } = await loadAccount(nodeDir);
    const { capabilities, capabilitiesHash } = await localDeviceCapabilities(opts.kind);
    const { txHash } = await sending(s, () => registerWithConsent(s.ledger, node, { kind: capabilities.kind, capabilitiesHash }));
    const device = await deviceOrFail(s.ledger, node.address);
    if (opts.json) return printJson({ ...deviceJson(device, s.ledger.addresses.registry), capabilities, txHash });
    process.stdout.write(
      `Registered ${node.address} as a device (${capabilities.kind}, ${capabilities.cores} cores, ${capabilities.memoryMiB} MiB, ${capabilities.os} ${capabilities.arch})\n` +
        `  token:  ${device.deviceId} (the node's address as a number, in DeviceRegistry ${s.ledger.addresses.registry})\n` +
        `  owner:  ${device.owner}${device.owner === node.address ? ' (the node itself)' : ''} — its payouts go there from now on\n` +
        `  joined: ${when(device.joinedAt)}\n` +
        `  tx:     ${txHash}\n`,
    );
  });
}
