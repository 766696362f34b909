import { describe, expect, it } from 'vitest';
import { clientKey } from './clientKey.js';

describe('the client a per-IP limit (faucet, rates, sockets) counts against', () => {
  it('is an IPv4 address as it is, also when it arrives IPv4-mapped', () => {
    expect(clientKey('127.0.0.1')).toBe('127.0.0.1');
    expect(clientKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(clientKey('::FFFF:10.0.0.1')).toBe('10.0.0.1');
  });

  it("is an IPv6 address's /64: one host holds a whole /64, so it gets no more than one IPv4 client", () => {
    expect(clientKey('2001:db8:1:2:aaaa:bbbb:cccc:dddd')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:db8:1:2::1')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:0db8:0001:0002:0:0:0:ffff')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(clientKey('::1')).toBe('0:0:0:0::/64');
    expect(clientKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(clientKey('64:ff9b::198.51.100.1')).toBe('64:ff9b:0:0::/64');
  });

  it('is anything else as given', () => {
    expect(clientKey('unix-socket')).toBe('unix-socket');
  });
});
