import { keccak256, toBytes } from 'viem';
import { describe, expect, it } from 'vitest';
import { deviceCapabilities, deviceCapabilitiesHash } from './devices.js';

const detected = {
  cores: 8,
  memoryMiB: 16_384,
  os: 'linux 6.8.0',
  arch: 'x64',
  kind: 'server' as const,
  slots: 8,
  pricePerTask: '0',
  benchmark: 1234,
  agent: 'lode-node/0.1.0',
};

describe('device capabilities', () => {
  it('hash the canonical JSON of cores, memory, os, arch and kind only', () => {
    const caps = deviceCapabilities(detected);
    expect(caps).toEqual({ cores: 8, memoryMiB: 16_384, os: 'linux 6.8.0', arch: 'x64', kind: 'server' });
    expect(deviceCapabilitiesHash(caps)).toBe(keccak256(toBytes('{"arch":"x64","cores":8,"kind":"server","memoryMiB":16384,"os":"linux 6.8.0"}')));
    // Slots, prices and the benchmark change between starts; they are not part of the device.
    expect(deviceCapabilitiesHash(deviceCapabilities({ ...detected, slots: 1, benchmark: 1 } as typeof detected))).toBe(deviceCapabilitiesHash(caps));
    expect(deviceCapabilitiesHash({ ...caps, memoryMiB: 8192 })).not.toBe(deviceCapabilitiesHash(caps));
  });

  it('registers a node of unknown kind as a server, unless a kind is given', () => {
    expect(deviceCapabilities({ ...detected, kind: 'unknown' }).kind).toBe('server');
    expect(deviceCapabilities({ ...detected, kind: 'unknown' }, 'phone').kind).toBe('phone');
    expect(deviceCapabilities(detected, 'laptop').kind).toBe('laptop');
  });
});
