/**
 * The browser node's WebSocket session with its gateway — the same protocol as `lode node`
 * (packages/node/src/connection.ts; docs/api.md, "Node WebSocket protocol").
 *
 * Guarantees:
 * - A session is authenticated once: on `challenge` the page signs an EIP-712 NodeHello over
 *   { node, challenge, capabilitiesHash(capabilities), origin, expiresAt }, in the domain of the
 *   gateway and chain the challenge names, and sends `hello`, checked
 *   against the protocol's `HelloMsg` schema first. Only after `welcome` are messages delivered
 *   to listeners or accepted by `send`.
 * - Every frame from the gateway is validated against `GatewayMessage`; a malformed or
 *   out-of-order frame is logged and ignored, never thrown.
 * - Until `stop()`, a lost or refused session is retried with jittered exponential backoff
 *   (reset by the next `welcome`).
 * - Capabilities changed with `setCapabilities` are announced by the next hello (a new session):
 *   they are signed, so a session cannot change them.
 *
 * Browsers cannot send WebSocket pings; the agent's heartbeats keep the gateway's silence
 * detector quiet, and a dead TCP path surfaces as a `close` event.
 */
import type { LocalAccount } from 'viem';
import {
  Capabilities,
  capabilitiesHash,
  GatewayMessage,
  HelloMsg,
  HelloRefusedError,
  nodeHelloTypedData,
  originOf,
  PROTOCOL_VERSION,
  ProtocolViolationError,
  type LodeDomain,
  type NodeMessage,
} from '@lode/protocol';
import { systemClock, type Clock } from './clock.js';
import { Emitter } from './emitter.js';
import type { Logger } from './log.js';

type Msg = GatewayMessage;
/** Messages delivered once a session is established. */
export type SessionMessage = Extract<Msg, { t: 'lease' | 'cancel' | 'ack' | 'error' }>;
/** What the node sends after the hello. */
export type OutgoingMessage = Exclude<NodeMessage, HelloMsg>;

/** The part of the WebSocket API the connection uses (the browser's, or `ws` in Node tests). */
export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'open' | 'close' | 'error' | 'message', listener: (ev: never) => void): void;
}
export type SocketFactory = (url: string) => SocketLike;

export interface Welcome {
  sessionId: string;
  heartbeatMs: number;
}

export type ConnectionState = 'stopped' | 'connecting' | 'handshake' | 'established' | 'waiting';

export interface ConnectionEvents extends Record<string, unknown> {
  state: ConnectionState;
  welcome: Welcome;
  message: SessionMessage;
  /** The socket closed. `retryInMs` is null once the connection is stopped. */
  disconnected: { code: number; reason: string; established: boolean; retryInMs: number | null };
  error: Error;
}

export interface ConnectionOptions {
  /** ws(s)://host:port/v1/nodes/ws */
  url: string;
  account: LocalAccount;
  capabilities: Capabilities;
  log: Logger;
  clock?: Clock;
  /** @default the global WebSocket */
  socket?: SocketFactory;
  /** Time allowed from opening the socket to `welcome`. @default 10_000 */
  handshakeTimeoutMs?: number;
  /** First reconnect delay; doubles (with jitter) up to `maxBackoffMs`. @default 500 */
  initialBackoffMs?: number;
  /** @default 30_000 */
  maxBackoffMs?: number;
}

export interface GatewayConnection {
  /** Opens the first socket. Returns at once; watch `welcome`. */
  start(): void;
  /** Closes the socket and stops reconnecting. */
  stop(): void;
  /** Sends a frame in an established session. Returns false (and sends nothing) otherwise. */
  send(msg: OutgoingMessage): boolean;
  /** Capabilities for the next hello (validated with the protocol schema). */
  setCapabilities(capabilities: Capabilities): void;
  readonly capabilities: Capabilities;
  readonly established: boolean;
  readonly state: ConnectionState;
  readonly sessionId: string | undefined;
  on: Emitter<ConnectionEvents>['on'];
  off: Emitter<ConnectionEvents>['off'];
}

const OPEN = 1;
const CLOSE_NORMAL = 1000;

/** ws(s)://host/v1/nodes/ws for a page at `origin` (http→ws, https→wss). */
export function nodeSocketUrl(origin: string): string {
  const u = new URL('/v1/nodes/ws', origin);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  return u.toString();
}

export function createConnection(options: ConnectionOptions): GatewayConnection {
  const { url, account, log } = options;
  const clock = options.clock ?? systemClock;
  const handshakeTimeoutMs = options.handshakeTimeoutMs ?? 10_000;
  const initialBackoff = options.initialBackoffMs ?? 500;
  const maxBackoff = options.maxBackoffMs ?? 30_000;
  const open: SocketFactory = options.socket ?? ((u) => new WebSocket(u) as unknown as SocketLike);
  const events = new Emitter<ConnectionEvents>();

  let capabilities = Capabilities.parse(options.capabilities);
  let ws: SocketLike | undefined;
  let stopped = true;
  let state: ConnectionState = 'stopped';
  let helloSent = false;
  let sessionId: string | undefined;
  let attempts = 0;
  let reconnectTimer: unknown;
  let handshakeTimer: unknown;

  function setState(next: ConnectionState): void {
    if (next === state) return;
    state = next;
    events.emit('state', next);
  }

  function connect(): void {
    reconnectTimer = undefined;
    if (stopped) return;
    attempts++;
    log.info('connecting to the gateway', { url, attempt: attempts });
    setState('connecting');
    let socket: SocketLike;
    try {
      socket = open(url);
    } catch (err) {
      log.warn('could not open a WebSocket', { err: String(err) });
      scheduleReconnect(1006, 'could not open', false);
      return;
    }
    ws = socket;
    helloSent = false;
    handshakeTimer = clock.setTimeout(() => {
      if (ws === socket && state !== 'established') {
        log.warn('the gateway did not complete the handshake in time; closing');
        socket.close(CLOSE_NORMAL, 'handshake timeout');
        onClose(socket, 4000, 'handshake timeout');
      }
    }, handshakeTimeoutMs);
    socket.addEventListener('open', () => {
      if (ws === socket) setState('handshake');
    });
    socket.addEventListener('message', (ev: { data: unknown }) => {
      if (ws === socket) onFrame(socket, ev.data);
    });
    socket.addEventListener('error', () => log.debug('gateway socket error'));
    socket.addEventListener('close', (ev: { code: number; reason: string }) => onClose(socket, ev.code, ev.reason));
  }

  function onClose(socket: SocketLike, code: number, reason: string): void {
    if (ws !== socket) return;
    const wasEstablished = state === 'established';
    ws = undefined;
    sessionId = undefined;
    clock.clearTimeout(handshakeTimer);
    scheduleReconnect(code, reason, wasEstablished);
  }

  function scheduleReconnect(code: number, reason: string, wasEstablished: boolean): void {
    let retryInMs: number | null = null;
    if (!stopped) {
      const base = Math.min(maxBackoff, initialBackoff * 2 ** Math.min(attempts - 1, 16));
      retryInMs = Math.round(base / 2 + Math.random() * (base / 2));
      reconnectTimer = clock.setTimeout(connect, retryInMs);
      setState('waiting');
    } else {
      setState('stopped');
    }
    log.info(wasEstablished ? 'gateway session closed' : 'could not establish a gateway session', { code, reason, retryInMs });
    events.emit('disconnected', { code, reason, established: wasEstablished, retryInMs });
  }

  function onFrame(socket: SocketLike, data: unknown): void {
    if (typeof data !== 'string') return reject('binary frame');
    let json: unknown;
    try {
      json = JSON.parse(data);
    } catch {
      return reject('frame is not JSON');
    }
    const parsed = GatewayMessage.safeParse(json);
    if (!parsed.success) {
      const t = (json as { t?: unknown } | null)?.t;
      return reject(`frame does not match the protocol (t=${JSON.stringify(t)}): ${parsed.error.issues[0]?.message ?? ''}`);
    }
    const msg = parsed.data;
    switch (msg.t) {
      case 'challenge':
        if (state === 'established' || helloSent) return reject('unexpected challenge');
        if (msg.protocol !== PROTOCOL_VERSION) {
          log.warn('the gateway speaks another protocol version; trying anyway', { gateway: msg.protocol, node: PROTOCOL_VERSION });
        }
        helloSent = true;
        void sendHello(socket, msg.challenge as `0x${string}`, { gateway: msg.gateway as `0x${string}`, chainId: msg.chainId });
        return;
      case 'welcome':
        if (!helloSent || state === 'established') return reject('unexpected welcome');
        if (msg.node.toLowerCase() !== account.address.toLowerCase()) {
          log.error('the gateway welcomed another address; closing', { node: msg.node });
          socket.close(CLOSE_NORMAL, 'welcome for another node');
          return;
        }
        sessionId = msg.sessionId;
        attempts = 0;
        clock.clearTimeout(handshakeTimer);
        setState('established');
        log.info('gateway session established', { sessionId: msg.sessionId });
        events.emit('welcome', { sessionId: msg.sessionId, heartbeatMs: msg.heartbeatMs });
        return;
      case 'error':
        if (state !== 'established') {
          log.warn('the gateway refused the hello', { code: msg.code, message: msg.message });
          events.emit('error', new HelloRefusedError(`The gateway refused this node: ${msg.code}: ${msg.message}`, { meta: { code: msg.code } }));
          socket.close(CLOSE_NORMAL, 'hello refused');
          return;
        }
        events.emit('message', msg);
        return;
      default:
        if (state !== 'established') return reject(`${msg.t} before welcome`);
        events.emit('message', msg);
    }
  }

  function reject(why: string): void {
    log.warn('ignoring a bad frame from the gateway', { why });
    events.emit('error', new ProtocolViolationError(`Ignored a frame from the gateway: ${why}`));
  }

  /**
   * Signs the hello for the gateway and chain the challenge names, and for the origin this page
   * dialed: the page is served by the gateway it connects to, so a relay would have to serve the
   * page too; the gateway refuses a hello whose origin is not its own.
   */
  async function sendHello(socket: SocketLike, challenge: `0x${string}`, domain: LodeDomain): Promise<void> {
    try {
      const expiresAt = clock.now() + 60_000;
      const caps = capabilities;
      const origin = originOf(url);
      const signature = await account.signTypedData(
        nodeHelloTypedData({ node: account.address, challenge, capabilitiesHash: capabilitiesHash(caps), origin, expiresAt: BigInt(expiresAt) }, domain),
      );
      if (ws !== socket || socket.readyState !== OPEN) return;
      const hello = HelloMsg.parse({ t: 'hello', protocol: PROTOCOL_VERSION, node: account.address, capabilities: caps, origin, expiresAt, signature });
      socket.send(JSON.stringify(hello));
    } catch (err) {
      log.error('could not sign the hello', { err: String(err) });
      events.emit('error', err instanceof Error ? err : new Error(String(err)));
      socket.close(CLOSE_NORMAL, 'hello failed');
    }
  }

  return {
    start() {
      if (!stopped) return;
      stopped = false;
      attempts = 0;
      connect();
    },
    stop() {
      if (stopped) return;
      stopped = true;
      clock.clearTimeout(reconnectTimer);
      reconnectTimer = undefined;
      const socket = ws;
      if (socket) {
        socket.close(CLOSE_NORMAL, 'node stopping');
        onClose(socket, CLOSE_NORMAL, 'node stopping');
      } else {
        setState('stopped');
      }
    },
    send(msg) {
      if (state !== 'established' || !ws || ws.readyState !== OPEN) return false;
      ws.send(JSON.stringify(msg));
      return true;
    },
    setCapabilities(next) {
      capabilities = Capabilities.parse(next);
    },
    get capabilities() {
      return capabilities;
    },
    get established() {
      return state === 'established';
    },
    get state() {
      return state;
    },
    get sessionId() {
      return sessionId;
    },
    on: events.on.bind(events),
    off: events.off.bind(events),
  };
}
