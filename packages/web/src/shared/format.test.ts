import { describe, expect, it } from 'vitest';
import { countdown, formatLode, formatLodeExact, formatLodeShort, formatPrice } from './format.js';

describe('amounts in LODE', () => {
  it('shows a price exactly, down to one wei, instead of raw wei', () => {
    expect(formatPrice('0')).toBe('free');
    expect(formatPrice('1000000000000000')).toBe('0.001 LODE/task');
    expect(formatPrice('1')).toBe('0.000000000000000001 LODE/task');
    expect(formatPrice('2500000000000000000000')).toBe(`${(2500).toLocaleString()} LODE/task`);
  });

  it('adds the price per fuel, per million units so that it reads as a number', () => {
    expect(formatPrice('1000000000000000', '500000000000')).toBe('0.001 LODE/task + 0.5 LODE per 10⁶ fuel');
    expect(formatPrice('0', '1000')).toBe('0.000000001 LODE per 10⁶ fuel');
    expect(formatPrice('0', '0')).toBe('free');
  });

  it('keeps small amounts visible when it shortens them, and shows a statement to the wei', () => {
    expect(formatLodeShort(80_000_000_000_000n)).toBe('0.00008 LODE');
    expect(formatLodeShort(7_920_000_000_000_000n)).toBe('0.00792 LODE');
    expect(formatLodeShort(1_234_567_000_000_000n)).toBe('0.00123 LODE');
    expect(formatLodeShort(123_456_000_000_000_000n)).toBe('0.123 LODE');
    expect(formatLodeShort(0n)).toBe('0 LODE');
    expect(formatLodeShort(9_900n * 10n ** 18n + 123n)).toBe(`${(9900).toLocaleString()} LODE`);
    expect(formatLodeExact('10890000000000001')).toBe('0.010890000000000001 LODE');
  });

  it('rounds totals down to the digits asked for', () => {
    expect(formatLode(7_920_000_000_000_000n)).toBe('0.0079 LODE');
    expect(formatLode('100000000000000000000', 2)).toBe('100 LODE');
  });
});

describe('times to come', () => {
  it('counts down to a time, says now once it has passed, and a dash without one', () => {
    expect(countdown(10_000, 6_000)).toBe('in 4.0 s');
    expect(countdown(5_000, 6_000)).toBe('now');
    expect(countdown(null)).toBe('—');
  });
});
