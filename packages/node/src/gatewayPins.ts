/**
 * `lode node`'s gateway pins, kept in `<dataDir>/gateways.json` (the rule itself: @lode/provider
 * pins.ts). Unreadable files pin nothing and are rewritten at the next welcome.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createPins, type GatewayPins } from '@lode/provider';

export const PINS_FILE = 'gateways.json';
export type { GatewayPins };

/**
 * Pins kept in `dataDir` (none: in memory only). `explicit`: the account the operator named with
 * `--gateway-address`, which holds for every origin this node dials.
 */
export function gatewayPins(dataDir: string | undefined, explicit?: string): GatewayPins {
  const file = dataDir ? join(dataDir, PINS_FILE) : undefined;
  let initial: Record<string, unknown> = {};
  if (file && existsSync(file)) {
    try {
      const raw = JSON.parse(readFileSync(file, 'utf8')) as unknown;
      if (raw && typeof raw === 'object') initial = raw as Record<string, unknown>;
    } catch {
      initial = {};
    }
  }
  return createPins({
    ...(explicit ? { explicit } : {}),
    initial,
    where: file ?? PINS_FILE,
    save: (pins) => {
      if (!file) return;
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(`${file}.tmp`, `${JSON.stringify(pins, null, 2)}\n`, { mode: 0o600 });
      renameSync(`${file}.tmp`, file);
    },
  });
}
