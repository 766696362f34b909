import { describe, expect, it } from 'vitest';
import { DeviceClaims } from '@lode/protocol';
import { deviceClaimsOf, offencesOf } from './deviceClaims.js';

describe('device claims', () => {
  it('counts every evidence record, and only stake the chain confirmed slashed', () => {
    const evidence = [
      { slash: 'slashed' as const, slashed: 5n * 10n ** 18n },
      { slash: 'slashed' as const, slashed: 10n ** 30n },
      { slash: 'pending' as const, slashed: null },
      { slash: 'failed' as const, slashed: null },
      { slash: 'none' as const, slashed: null },
    ];
    expect(offencesOf(evidence)).toEqual({ count: 5, slashedWei: (5n * 10n ** 18n + 10n ** 30n).toString() });
    expect(offencesOf([])).toEqual({ count: 0, slashedWei: '0' });
  });

  it("states the node's record in Unix seconds and keeps availability as given (null until reported)", () => {
    const capabilities = {
      cores: 4,
      memoryMiB: 8192,
      os: 'linux',
      arch: 'arm64',
      kind: 'board' as const,
      slots: 2,
      pricePerTask: '7',
      benchmark: 90,
      agent: 'lode-node/0.1.0',
    };
    const claims = deviceClaimsOf({
      address: '0x00000000000000000000000000000000000000aa',
      capabilities,
      reputation: { validated: 3, invalid: 0, consecutiveValid: 3, firstSeenAt: 1_700_000_000_999 },
      uptimeMs: 61_999,
      evidence: [],
      availability: null,
    });
    expect(claims).toMatchObject({
      uptimeSeconds: 61,
      firstSeenAt: 1_700_000_000,
      checks: { validated: 3, invalid: 0, consecutiveValid: 3 },
      availability: null,
    });
    // Prices are offers, not device facts: the schema keeps the device's part only.
    expect(DeviceClaims.parse(claims).capabilities).toEqual({
      cores: 4,
      memoryMiB: 8192,
      os: 'linux',
      arch: 'arm64',
      kind: 'board',
      slots: 2,
      benchmark: 90,
      agent: 'lode-node/0.1.0',
    });
  });
});
