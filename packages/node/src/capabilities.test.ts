import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Capabilities } from '@lode/protocol';
import { describe, expect, it } from 'vitest';
import { detectCapabilities, detectDeviceKind } from './capabilities.js';

describe('capabilities', () => {
  it('reports a battery-powered Linux machine as a laptop', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lode-psu-'));
    try {
      await mkdir(join(dir, 'BAT0'));
      await writeFile(join(dir, 'BAT0', 'type'), 'Battery\n');
      expect(detectDeviceKind({ platform: 'linux', arch: 'x64', memoryMiB: 16384, powerSupplyDir: dir })).toBe('laptop');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reports a small ARM Linux machine as a board and other Linux machines as servers', () => {
    const none = '/nonexistent/power_supply';
    expect(detectDeviceKind({ platform: 'linux', arch: 'arm64', memoryMiB: 4096, powerSupplyDir: none })).toBe('board');
    expect(detectDeviceKind({ platform: 'linux', arch: 'arm64', memoryMiB: 65536, powerSupplyDir: none })).toBe('server');
    expect(detectDeviceKind({ platform: 'linux', arch: 'x64', memoryMiB: 2048, powerSupplyDir: none })).toBe('server');
    expect(detectDeviceKind({ platform: 'darwin', arch: 'arm64', memoryMiB: 16384 })).toBe('unknown');
  });

  it('produces capabilities that satisfy the protocol schema', async () => {
    const caps = await detectCapabilities({ slots: 3, pricePerTask: '42', benchmark: 7 });
    expect(Capabilities.parse(caps)).toEqual(caps);
    expect(caps).toMatchObject({ slots: 3, pricePerTask: '42', benchmark: 7 });
    expect(caps.cores).toBeGreaterThanOrEqual(1);
  });

  it('rejects a malformed price', async () => {
    await expect(detectCapabilities({ pricePerTask: '1.5', benchmark: false })).rejects.toThrow();
  });
});
