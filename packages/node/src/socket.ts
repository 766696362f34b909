/**
 * The provider connection's socket on Node: `ws`, with a bounded frame size and handshake time,
 * pings (which turn on the connection's keep-alive) and `terminate` for dead sessions.
 */
import WebSocket from 'ws';
import { LIMITS } from '@lode/protocol';
import type { SocketFactory, SocketLike } from '@lode/provider';

export function wsSocketFactory(options: { handshakeTimeoutMs: number }): SocketFactory {
  return (url) => {
    const ws = new WebSocket(url, { maxPayload: LIMITS.maxBodyBytes * 2, handshakeTimeout: options.handshakeTimeoutMs });
    const socket: SocketLike = {
      get readyState() {
        return ws.readyState;
      },
      send: (data) => ws.send(data),
      close: (code, reason) => ws.close(code, reason),
      terminate: () => ws.terminate(),
      ping: () => ws.ping(),
      addEventListener(type, listener) {
        // ws's EventTarget API hands text frames over as strings, like a browser's.
        if (type === 'pong') ws.on('pong', listener as () => void);
        else ws.addEventListener(type, listener as never);
      },
    };
    return socket;
  };
}
