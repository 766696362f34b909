import { describe, expect, it } from 'vitest';
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
