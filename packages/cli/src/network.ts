/**
 * Addresses to give other machines. A gateway listening on every interface (`--host 0.0.0.0`)
 * reports itself as 127.0.0.1, which only works on this machine; nodes elsewhere need an
 * address of this machine on the network.
 */
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';

/** Whether `host` means "every interface". */
export function isWildcardHost(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '[::]';
}

/** This machine's first non-internal IPv4 address, or undefined when it has none (offline). */
export function firstExternalIPv4(interfaces: NodeJS.Dict<NetworkInterfaceInfo[]> = networkInterfaces()): string | undefined {
  for (const infos of Object.values(interfaces)) {
    // `family` is 4 (a number) on Node 18.0–18.3, 'IPv4' elsewhere.
    const found = infos?.find((i) => !i.internal && (i.family === 'IPv4' || (i.family as unknown) === 4));
    if (found) return found.address;
  }
  return undefined;
}

/**
 * `url` with its host replaced by an address other machines can reach, when the server listens
 * on every interface; undefined when it listens on one interface (its URL is already right) or
 * when this machine has no external IPv4 address.
 */
export function remoteUrl(url: string, listenHost: string, interfaces?: NodeJS.Dict<NetworkInterfaceInfo[]>): string | undefined {
  if (!isWildcardHost(listenHost)) return undefined;
  const address = firstExternalIPv4(interfaces);
  if (!address) return undefined;
  const u = new URL(url);
  u.hostname = address;
  return u.toString().replace(/\/$/, url.endsWith('/') ? '/' : '');
}
