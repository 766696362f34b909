import { describe, expect, it } from 'vitest';
import { createBackoff } from './backoff.js';
import { gatewayUrls } from './urls.js';

describe('gatewayUrls', () => {
  it('derives the node socket from an http URL and the blob base from a ws URL', () => {
    expect(gatewayUrls('http://127.0.0.1:7070')).toEqual({ ws: 'ws://127.0.0.1:7070/v1/nodes/ws', http: 'http://127.0.0.1:7070' });
    expect(gatewayUrls('https://gw.example/')).toEqual({ ws: 'wss://gw.example/v1/nodes/ws', http: 'https://gw.example' });
    expect(gatewayUrls('ws://h:1')).toEqual({ ws: 'ws://h:1/v1/nodes/ws', http: 'http://h:1' });
    expect(gatewayUrls('ws://h:1/v1/nodes/ws')).toEqual({ ws: 'ws://h:1/v1/nodes/ws', http: 'http://h:1' });
    expect(gatewayUrls('localhost:7070').ws).toBe('ws://localhost:7070/v1/nodes/ws');
    expect(() => gatewayUrls('ftp://x')).toThrow(TypeError);
  });
});

describe('backoff', () => {
  it('grows exponentially with jitter up to the cap, and starts over after reset', () => {
    let r = 0;
    const b = createBackoff({ initialMs: 100, maxMs: 1000, random: () => r });
    expect([b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([50, 100, 200, 400, 500]);
    r = 0.999;
    expect(b.next()).toBeLessThanOrEqual(1000);
    expect(b.next()).toBeGreaterThan(900);
    b.reset();
    expect(b.attempts).toBe(0);
    expect(b.next()).toBeLessThanOrEqual(100);
  });
});
