/**
 * When the contributor page should pause on its own: the tab is hidden (if the person asked
 * for that; Page Visibility API), or the battery is low and not charging (Battery Status API,
 * where the browser has it — Chromium does, Firefox and Safari do not).
 *
 * Guarantees: `reasons` is recomputed on every visibility or battery event and `change` is
 * emitted only when it changes; without the Battery Status API `battery` stays null and the
 * battery never pauses anything.
 */
import { Emitter } from '@lode/provider';

export type PauseReason = 'you' | 'hidden' | 'battery';

/** The parts of `BatteryManager` used here. */
export interface BatteryLike {
  level: number;
  charging: boolean;
  addEventListener(type: 'levelchange' | 'chargingchange', fn: () => void): void;
  removeEventListener(type: 'levelchange' | 'chargingchange', fn: () => void): void;
}

export interface DocumentLike {
  readonly hidden: boolean;
  addEventListener(type: 'visibilitychange', fn: () => void): void;
  removeEventListener(type: 'visibilitychange', fn: () => void): void;
}

export interface PowerMonitorOptions {
  pauseWhenHidden: boolean;
  /** Battery level (0..1) below which, when not charging, work pauses. @default 0.2 */
  lowBattery?: number;
  doc?: DocumentLike;
  /** @default navigator.getBattery, when the browser has it */
  getBattery?: () => Promise<BatteryLike>;
}

export interface PowerState {
  /** Automatic pause reasons now in force (`hidden`, `battery`). */
  reasons: PauseReason[];
  hidden: boolean;
  pauseWhenHidden: boolean;
  /** null: the browser has no Battery Status API. */
  battery: { level: number; charging: boolean } | null;
  lowBattery: number;
}

export interface PowerMonitor {
  readonly state: PowerState;
  setPauseWhenHidden(on: boolean): void;
  on: Emitter<{ change: PowerState }>['on'];
  stop(): void;
}

export function createPowerMonitor(options: PowerMonitorOptions): PowerMonitor {
  const doc = options.doc ?? (globalThis.document as DocumentLike | undefined);
  const nav = globalThis.navigator as (Navigator & { getBattery?: () => Promise<BatteryLike> }) | undefined;
  const getBattery = options.getBattery ?? (nav?.getBattery ? () => nav.getBattery!() : undefined);
  const lowBattery = options.lowBattery ?? 0.2;
  const events = new Emitter<{ change: PowerState }>();
  let pauseWhenHidden = options.pauseWhenHidden;
  let battery: BatteryLike | undefined;
  let stopped = false;
  let state = compute();

  function compute(): PowerState {
    const hidden = !!doc?.hidden;
    const reasons: PauseReason[] = [];
    if (pauseWhenHidden && hidden) reasons.push('hidden');
    if (battery && !battery.charging && battery.level < lowBattery) reasons.push('battery');
    return {
      reasons,
      hidden,
      pauseWhenHidden,
      battery: battery ? { level: battery.level, charging: battery.charging } : null,
      lowBattery,
    };
  }

  function update(): void {
    if (stopped) return;
    const next = compute();
    const changed = JSON.stringify(next) !== JSON.stringify(state);
    state = next;
    if (changed) events.emit('change', state);
  }

  doc?.addEventListener('visibilitychange', update);
  if (getBattery) {
    getBattery()
      .then((b) => {
        if (stopped) return;
        battery = b;
        b.addEventListener('levelchange', update);
        b.addEventListener('chargingchange', update);
        update();
      })
      .catch(() => {
        // Refused (e.g. by a permissions policy): behave as without the API.
      });
  }

  return {
    get state() {
      return state;
    },
    setPauseWhenHidden(on) {
      pauseWhenHidden = on;
      update();
    },
    on: events.on.bind(events),
    stop() {
      stopped = true;
      doc?.removeEventListener('visibilitychange', update);
      battery?.removeEventListener('levelchange', update);
      battery?.removeEventListener('chargingchange', update);
    },
  };
}
