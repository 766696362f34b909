import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { addressArg, durationArg, iso, proposalIdArg, when, wholeArg } from './shared.js';

describe('ledger verb parsers', () => {
  it('reads durations in seconds, minutes, hours and days', () => {
    const d = durationArg('--x');
    expect([d('60'), d('90s'), d('5m'), d('2h'), d('14d')]).toEqual([60n, 90n, 300n, 7200n, 1_209_600n]);
    for (const bad of ['', '1w', '-5', '1.5h', 'soon']) expect(() => d(bad)).toThrow(InvalidArgumentError);
  });

  it('checksums addresses and refuses anything else by name', () => {
    expect(addressArg('<to>')('0x8ba1f109551bd432803012645ac136ddd64dba72')).toBe('0x8ba1f109551bD432803012645Ac136ddd64DBA72');
    expect(() => addressArg('<to>')('0x1234')).toThrow(/<to> must be an address/);
  });

  it('takes proposal ids as decimal or hex uint256, and whole numbers within bounds', () => {
    expect(proposalIdArg('46673033259287875760931553028671545227138113714052150662673088907860113456164')).toBe(
      46673033259287875760931553028671545227138113714052150662673088907860113456164n,
    );
    expect(proposalIdArg('0xff')).toBe(255n);
    expect(() => proposalIdArg('12ab')).toThrow(/the proposal id/);
    expect(wholeArg('--fee-bps', 2000)('250')).toBe(250);
    expect(() => wholeArg('--fee-bps', 2000)('2001')).toThrow(/0 to 2000/);
  });

  it('says chain times in UTC for machines and relative to now for people', () => {
    expect(iso(1_700_000_000)).toBe('2023-11-14T22:13:20Z');
    const now = 1_700_000_000_000;
    expect(when(1_700_000_060, now)).toMatch(/\(in 1m 00s\)$/);
    expect(when(1_699_999_990, now)).toMatch(/\(10\.0 s ago\)$/);
    expect(when(1_700_000_000, now)).toMatch(/\(now\)$/);
  });
});
