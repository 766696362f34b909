/** The gateway's two addresses: the node WebSocket and the HTTP base for blobs. */
export const NODE_WS_PATH = '/v1/nodes/ws';

export interface GatewayUrls {
  /** ws(s)://host:port/v1/nodes/ws */
  ws: string;
  /** http(s)://host:port (no trailing slash) */
  http: string;
}

/**
 * Accepts `http(s)://host:port[/]`, `ws(s)://host:port[/]` or a full `ws(s)://…/v1/nodes/ws`
 * and derives both addresses. A bare `host:port` is taken as http. Throws TypeError otherwise.
 */
export function gatewayUrls(gateway: string): GatewayUrls {
  const url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(gateway) ? gateway : `http://${gateway}`);
  const secure = url.protocol === 'https:' || url.protocol === 'wss:';
  if (!['http:', 'https:', 'ws:', 'wss:'].includes(url.protocol)) {
    throw new TypeError(`Unsupported gateway URL ${gateway}: use http://host:port or ws://host:port`);
  }
  const isWs = url.protocol === 'ws:' || url.protocol === 'wss:';
  const path = url.pathname.replace(/\/+$/, '');
  const basePath = isWs ? '' : path;
  const wsPath = isWs && path !== '' ? path : `${basePath}${NODE_WS_PATH}`;
  return {
    ws: `${secure ? 'wss' : 'ws'}://${url.host}${wsPath}${url.search}`,
    http: `${secure ? 'https' : 'http'}://${url.host}${basePath}`,
  };
}
