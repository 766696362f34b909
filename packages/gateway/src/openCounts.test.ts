import { describe, expect, it } from 'vitest';
import { OpenCounts } from './openCounts.js';

describe('OpenCounts', () => {
  it('opens up to the maximum per key, and again after a close', () => {
    const c = new OpenCounts();
    expect([c.tryOpen('a', 2), c.tryOpen('a', 2), c.tryOpen('a', 2)]).toEqual([true, true, false]);
    expect(c.tryOpen('b', 2)).toBe(true);
    c.close('a');
    expect(c.of('a')).toBe(1);
    expect(c.tryOpen('a', 2)).toBe(true);
    expect(c.tryOpen('a', 2)).toBe(false);
  });

  it('forgets a key back at zero and never goes below it', () => {
    const c = new OpenCounts();
    c.tryOpen('a');
    c.close('a');
    c.close('a');
    expect(c.of('a')).toBe(0);
    expect(c.tryOpen('a', 1)).toBe(true);
    expect(c.tryOpen('a', 1)).toBe(false);
  });
});
