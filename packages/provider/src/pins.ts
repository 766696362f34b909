/**
 * Which gateway account a provider expects at each gateway origin (like SSH's known_hosts).
 *
 * A provider signs its hello for the gateway account the challenge names (EIP-712 domain). A
 * gateway that relayed another gateway's challenge would name that other gateway, and the
 * provider would sign a hello that logs it in there. So before signing, the connection checks the
 * named account against the one pinned for the origin it dialed: pinned explicitly (`lode node
 * --gateway-address`), or on first use (the first welcome). Where pins are kept is the platform's
 * business (`lode node`: `<dataDir>/gateways.json`; a page served by its gateway: memory).
 */
import { HelloRefusedError } from '@lode/protocol';

export interface GatewayPins {
  /** Throws HelloRefusedError when `origin` is pinned to another account. */
  check(origin: string, gateway: string): void;
  /** Remembers `gateway` for `origin` (first use); an explicit pin is never replaced. */
  remember(origin: string, gateway: string): void;
}

export interface PinsOptions {
  /** The account the operator named, which holds for every origin. */
  explicit?: string;
  /** Pins remembered earlier (entries that are not an address are ignored). */
  initial?: Record<string, unknown>;
  /** Called with every pin after one is added. */
  save?: (pins: Record<string, string>) => void;
  /** Where pins are kept, for the error's advice (a file name). */
  where?: string;
}

const ADDRESS = /^0x[0-9a-f]{40}$/i;

export function createPins(options: PinsOptions = {}): GatewayPins {
  const { explicit, where } = options;
  const pins: Record<string, string> = {};
  for (const [origin, account] of Object.entries(options.initial ?? {})) {
    if (typeof account === 'string' && ADDRESS.test(account)) pins[origin] = account;
  }
  return {
    check(origin, gateway) {
      const want = explicit ?? pins[origin];
      if (!want || want.toLowerCase() === gateway.toLowerCase()) return;
      const how = explicit
        ? `Check --gateway-address (${explicit}).`
        : `If the gateway at ${origin} really changed its key, remove "${origin}" from ${where ?? 'the pinned gateways'} (or pass --gateway-address ${gateway}).`;
      throw new HelloRefusedError(
        `The gateway at ${origin} says it is ${gateway}, but this node expects ${want}: it may be relaying another gateway. The node did not sign. ${how}`,
        { meta: { origin, gateway, expected: want } },
      );
    },
    remember(origin, gateway) {
      if (explicit || pins[origin]) return;
      pins[origin] = gateway.toLowerCase();
      options.save?.({ ...pins });
    },
  };
}
