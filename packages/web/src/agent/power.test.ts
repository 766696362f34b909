import { describe, expect, it } from 'vitest';
import { createPowerMonitor, type BatteryLike, type DocumentLike } from './power.js';

class FakeTarget {
  private fns = new Map<string, Set<() => void>>();
  addEventListener(type: string, fn: () => void) {
    if (!this.fns.has(type)) this.fns.set(type, new Set());
    this.fns.get(type)!.add(fn);
  }
  removeEventListener(type: string, fn: () => void) {
    this.fns.get(type)?.delete(fn);
  }
  fire(type: string) {
    for (const fn of this.fns.get(type) ?? []) fn();
  }
}
class FakeDoc extends FakeTarget implements DocumentLike {
  hidden = false;
}
class FakeBattery extends FakeTarget implements BatteryLike {
  level = 0.9;
  charging = false;
}

const tick = () => new Promise((r) => setTimeout(r, 0));

describe('when the contributor pauses by itself', () => {
  it('pauses on a hidden tab only when asked to', () => {
    const doc = new FakeDoc();
    const power = createPowerMonitor({ pauseWhenHidden: false, doc, getBattery: undefined });
    const seen: string[][] = [];
    power.on('change', (s) => seen.push(s.reasons));
    doc.hidden = true;
    doc.fire('visibilitychange');
    expect(power.state.reasons).toEqual([]);
    power.setPauseWhenHidden(true);
    expect(power.state.reasons).toEqual(['hidden']);
    doc.hidden = false;
    doc.fire('visibilitychange');
    expect(power.state.reasons).toEqual([]);
    expect(seen.at(-1)).toEqual([]);
    power.stop();
  });

  it('pauses when the battery is low and not charging, and resumes when charging', async () => {
    const battery = new FakeBattery();
    const power = createPowerMonitor({ pauseWhenHidden: false, doc: new FakeDoc(), getBattery: async () => battery });
    await tick();
    expect(power.state.battery).toEqual({ level: 0.9, charging: false });
    battery.level = 0.15;
    battery.fire('levelchange');
    expect(power.state.reasons).toEqual(['battery']);
    battery.charging = true;
    battery.fire('chargingchange');
    expect(power.state.reasons).toEqual([]);
    power.stop();
  });

  it('never pauses for the battery where the Battery Status API is missing', async () => {
    const power = createPowerMonitor({ pauseWhenHidden: true, doc: new FakeDoc(), getBattery: undefined });
    await tick();
    expect(power.state.battery).toBeNull();
    expect(power.state.reasons).toEqual([]);
    power.stop();
  });
});
