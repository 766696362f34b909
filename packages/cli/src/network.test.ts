import type { NetworkInterfaceInfo } from 'node:os';
import { describe, expect, it } from 'vitest';
import { firstExternalIPv4, remoteUrl } from './network.js';

const iface = (address: string, family: 'IPv4' | 'IPv6', internal: boolean) => ({ address, family, internal }) as NetworkInterfaceInfo;
const LAN = {
  lo: [iface('127.0.0.1', 'IPv4', true), iface('::1', 'IPv6', true)],
  eth0: [iface('fe80::1', 'IPv6', false), iface('192.168.1.20', 'IPv4', false)],
  eth1: [iface('10.0.0.5', 'IPv4', false)],
};

describe('addresses for other machines', () => {
  it('picks the first non-internal IPv4 address', () => {
    expect(firstExternalIPv4(LAN)).toBe('192.168.1.20');
    expect(firstExternalIPv4({ lo: LAN.lo })).toBeUndefined();
  });

  it("rewrites the URL of a server on every interface to this machine's address, and leaves others alone", () => {
    expect(remoteUrl('ws://127.0.0.1:7070/v1/nodes/ws', '0.0.0.0', LAN)).toBe('ws://192.168.1.20:7070/v1/nodes/ws');
    expect(remoteUrl('http://127.0.0.1:7070', '::', LAN)).toBe('http://192.168.1.20:7070');
    expect(remoteUrl('http://127.0.0.1:7070', '127.0.0.1', LAN)).toBeUndefined();
    expect(remoteUrl('http://10.0.0.5:7070', '10.0.0.5', LAN)).toBeUndefined();
    expect(remoteUrl('http://127.0.0.1:7070', '0.0.0.0', { lo: LAN.lo })).toBeUndefined(); // offline: only the local URL
  });
});
