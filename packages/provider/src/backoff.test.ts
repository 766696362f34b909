import { describe, expect, it } from 'vitest';
import { createBackoff } from './backoff.js';

describe('backoff', () => {
  it('grows exponentially with jitter up to the cap, and starts over after reset', () => {
    let r = 0;
    const b = createBackoff({ initialMs: 100, maxMs: 1000, random: () => r });
    expect([b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([50, 100, 200, 400, 500]);
    r = 0.999;
    expect(b.next()).toBeLessThanOrEqual(1000);
    expect(b.next()).toBeGreaterThan(900);
    b.reset();
    expect(b.attempts).toBe(0);
    expect(b.next()).toBeLessThanOrEqual(100);
  });
});
