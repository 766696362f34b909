/** `lode device` — nodes as assets: register a device, list and show devices, sell one, split its income into shares, claim. */
import type { Command } from 'commander';
import { withExamples } from '../../context.js';
import { registerDeviceClaim } from './claim.js';
import { registerDeviceLs } from './ls.js';
import { registerDeviceRegister } from './register.js';
import { registerDeviceShow } from './show.js';
import { registerDeviceSplit } from './split.js';
import { registerDeviceTransfer } from './transfer.js';
import { registerDeviceUnsplit } from './unsplit.js';

export function registerDevice(program: Command): void {
  const device = program
    .command('device')
    .description("devices as assets: a node's device token carries its income — register, sell, split into shares, claim");
  withExamples(
    device,
    'lode device register --node .lode/nodes/0    # your account owns node 0 and its payouts',
    'lode device ls',
    'lode device split 0x8ba1…BA72 100 && lode device transfer 0x8ba1…BA72 0x71C7…976F --shares 10',
  );
  registerDeviceRegister(device);
  registerDeviceLs(device);
  registerDeviceShow(device);
  registerDeviceTransfer(device);
  registerDeviceSplit(device);
  registerDeviceUnsplit(device);
  registerDeviceClaim(device);
}
