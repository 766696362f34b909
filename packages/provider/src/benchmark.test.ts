import { describe, expect, it } from 'vitest';
import { benchmark } from './benchmark.js';

describe('benchmark', () => {
  it('measures a positive benchmark figure', async () => {
    expect(await benchmark({ durationMs: 20 })).toBeGreaterThan(0);
  });
});
