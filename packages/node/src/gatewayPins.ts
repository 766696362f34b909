/**
 * Which gateway account a node expects at each gateway URL (like SSH's known_hosts).
 *
 * A node signs its hello for the gateway account the challenge names (EIP-712 domain). A
 * gateway that relayed another gateway's challenge would name that other gateway, and the node
 * would sign a hello that logs it in there. So before signing, the node checks the named account
 * against the one pinned for the URL it dialed: pinned by `--gateway-address`, or on first use
 * (the first welcome), kept in `<dataDir>/gateways.json`. A different account is refused with
 * what to do if the gateway really changed.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { HelloRefusedError } from '@lode/protocol';

export const PINS_FILE = 'gateways.json';

export interface GatewayPins {
  /** Throws HelloRefusedError when `origin` is pinned to another account. */
  check(origin: string, gateway: string): void;
  /** Remembers `gateway` for `origin` (first use); an explicit pin is never replaced. */
  remember(origin: string, gateway: string): void;
}

/**
 * Pins kept in `dataDir` (none: in memory only). `explicit`: the account the operator named with
 * `--gateway-address`, which holds for every origin this node dials.
 */
export function gatewayPins(dataDir: string | undefined, explicit?: string): GatewayPins {
  const file = dataDir ? join(dataDir, PINS_FILE) : undefined;
  let pins: Record<string, string> = {};
  if (file && existsSync(file)) {
    try {
      const raw = JSON.parse(readFileSync(file, 'utf8')) as unknown;
      if (raw && typeof raw === 'object') pins = Object.fromEntries(Object.entries(raw).filter(([, v]) => typeof v === 'string' && /^0x[0-9a-f]{40}$/i.test(v)));
    } catch {
      pins = {}; // an unreadable file pins nothing; it is rewritten at the next welcome
    }
  }
  const save = () => {
    if (!file) return;
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(`${file}.tmp`, `${JSON.stringify(pins, null, 2)}\n`, { mode: 0o600 });
    renameSync(`${file}.tmp`, file);
  };
  return {
    check(origin, gateway) {
      const want = explicit ?? pins[origin];
      if (!want || want.toLowerCase() === gateway.toLowerCase()) return;
      const how = explicit
        ? `Check --gateway-address (${explicit}).`
        : `If the gateway at ${origin} really changed its key, remove "${origin}" from ${file ?? PINS_FILE} (or pass --gateway-address ${gateway}).`;
      throw new HelloRefusedError(
        `The gateway at ${origin} says it is ${gateway}, but this node expects ${want}: it may be relaying another gateway. The node did not sign. ${how}`,
        { meta: { origin, gateway, expected: want } },
      );
    },
    remember(origin, gateway) {
      if (explicit || pins[origin]) return;
      pins[origin] = gateway.toLowerCase();
      save();
    },
  };
}
