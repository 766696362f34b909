import { describe, expect, it, vi } from 'vitest';
import { Lifecycle, every, type Part } from './lifecycle.js';

function recorder() {
  const calls: string[] = [];
  const part = (name: string, failStart = false, failStop = false): Part => ({
    name,
    start() {
      calls.push(`start ${name}`);
      if (failStart) throw new Error(`${name} cannot start`);
    },
    stop() {
      calls.push(`stop ${name}`);
      if (failStop) throw new Error(`${name} cannot stop`);
    },
  });
  return { calls, part };
}

describe('the gateway lifecycle', () => {
  it('starts parts in order and stops them in reverse, once', async () => {
    const { calls, part } = recorder();
    const parts = new Lifecycle({ warn: () => {} });
    await parts.start([part('store'), part('jobs')]);
    await parts.start([part('http')]);
    await parts.stop();
    await parts.stop();
    expect(calls).toEqual(['start store', 'start jobs', 'start http', 'stop http', 'stop jobs', 'stop store']);
  });

  it('stops what had started, and the part that failed, when one cannot start', async () => {
    const { calls, part } = recorder();
    const parts = new Lifecycle({ warn: () => {} });
    await expect(parts.start([part('store'), part('http', true), part('never')])).rejects.toThrow('http cannot start');
    expect(calls).toEqual(['start store', 'start http', 'stop http', 'stop store']);
  });

  it('keeps stopping the others when one fails to stop, and says which', async () => {
    const { calls, part } = recorder();
    const warn = vi.fn();
    const parts = new Lifecycle({ warn });
    await parts.start([part('store'), part('jobs', false, true), part('http')]);
    await parts.stop();
    expect(calls.slice(3)).toEqual(['stop http', 'stop jobs', 'stop store']);
    expect(warn).toHaveBeenCalledWith(expect.objectContaining({ part: 'jobs' }), expect.any(String));
  });

  it('runs a timer part only between its start and its stop', async () => {
    vi.useFakeTimers();
    try {
      let ticks = 0;
      const timer = every('tick', 100, () => ticks++);
      vi.advanceTimersByTime(500);
      expect(ticks).toBe(0);
      timer.start!();
      vi.advanceTimersByTime(350);
      expect(ticks).toBe(3);
      timer.stop!();
      vi.advanceTimersByTime(500);
      expect(ticks).toBe(3);
    } finally {
      vi.useRealTimers();
    }
  });
});
