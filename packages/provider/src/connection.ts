/**
 * Long because it is one state machine (connect → handshake → established → waiting) whose
 * timers, socket events and frames all read and change the same few variables; split across
 * files, each piece would need them all.
 *
 * The provider's WebSocket session with a gateway — one implementation for `lode node` (over
 * `ws`) and the browser (its own WebSocket): the platform passes a socket factory.
 *
 * Guarantees:
 * - A session is authenticated once: on `challenge` the provider checks the gateway account the
 *   challenge names against its pins (see pins.ts), signs an EIP-712 NodeHello over
 *   { node, challenge, capabilitiesHash(capabilities), origin, expiresAt } in the domain of that
 *   gateway and chain, and sends `hello` (checked against the protocol's `HelloMsg` first). Only
 *   after `welcome` are messages delivered to listeners or accepted by `send`.
 * - Every frame from the gateway is validated against `GatewayMessage`; a malformed or
 *   out-of-order frame is logged and ignored, never thrown.
 * - Until `stop()`, a lost or refused session is retried with jittered exponential backoff
 *   (reset by the next `welcome`); each attempt is logged.
 * - Where the socket can ping (`ws`), a session that stays silent (no frame and no pong) for two
 *   keep-alive periods is considered dead and is replaced, so a half-open TCP connection cannot
 *   stall the node. Browsers cannot ping: there the agent's heartbeats keep the gateway's
 *   silence detector quiet, and a dead TCP path surfaces as a `close` event.
 * - Capabilities changed with `setCapabilities` are announced by the next hello (a new
 *   session): they are signed, so a session cannot change them.
 * - A gateway may ask the node to `move` to another gateway of its cluster (one with work and too
 *   few nodes): the node moves only to a gateway on its own list (`urls`, compared by host), at
 *   once and without backoff; a move anywhere else is logged and ignored, so a gateway cannot lead
 *   its nodes to a stranger.
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
import { createBackoff, type BackoffOptions } from './backoff.js';
import { keepAlive, systemClock, type Clock } from './clock.js';
import { Emitter } from './emitter.js';
import { errorText, type Logger } from './log.js';
import { createPins, type GatewayPins } from './pins.js';

/** Messages delivered once a session is established. */
export type SessionMessage = Extract<GatewayMessage, { t: 'lease' | 'cancel' | 'ack' | 'error' }>;
/** What the node sends after the hello. */
export type OutgoingMessage = Exclude<NodeMessage, HelloMsg>;

/**
 * The part of the WebSocket API the connection uses: the browser's WebSocket as it is, or `ws`
 * through a small adapter (packages/node/src/socket.ts). Text frames arrive as strings.
 */
export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  /** `pong` fires only on sockets that can `ping`. */
  addEventListener(type: 'open' | 'close' | 'error' | 'message' | 'pong', listener: (ev: never) => void): void;
  /** Drops the connection at once, without a closing handshake. @default close() */
  terminate?(): void;
  /** Sends a WebSocket ping (Node only: browsers cannot), which turns on the keep-alive. */
  ping?(): void;
}
export type SocketFactory = (url: string) => SocketLike;

export interface Welcome {
  sessionId: string;
  heartbeatMs: number;
}

export type ConnectionState = 'stopped' | 'connecting' | 'handshake' | 'established' | 'waiting';

export interface ConnectionEvents extends Record<string, unknown> {
  state: ConnectionState;
  /** A session was established. */
  welcome: Welcome;
  /** A validated lease/cancel/ack/error frame in an established session. */
  message: SessionMessage;
  /** The socket closed. `retryInMs` is null once the connection is stopped. */
  disconnected: { code: number; reason: string; established: boolean; retryInMs: number | null };
  /** Something went wrong that the connection recovered from (refused hello, bad frame). */
  error: Error;
}

export interface ConnectionOptions {
  /** ws(s)://host:port/v1/nodes/ws */
  url: string;
  /**
   * Several gateways of one cluster (`url` is then ignored): the node connects to one, chosen at
   * random (so nodes spread over the gateways), and moves to another, at random, whenever its
   * session ends or cannot be established.
   */
  urls?: readonly string[];
  account: LocalAccount;
  capabilities: Capabilities;
  log: Logger;
  /** Opens the WebSocket (the platform's). */
  socket: SocketFactory;
  clock?: Clock;
  backoff?: BackoffOptions;
  /** Time allowed from opening the socket to `welcome`. @default 10_000 */
  handshakeTimeoutMs?: number;
  /** Ping period once established, where the socket can ping; silence for two periods closes it. @default 15_000 */
  keepaliveMs?: number;
  /** The gateway accounts this node expects (see pins.ts). @default in memory, first use */
  pins?: GatewayPins;
  /** How long a signed hello stays valid. @default 60_000 */
  helloTtlMs?: number;
}

export interface GatewayConnection {
  /** Opens the first socket. Returns at once; watch `welcome`. */
  start(): void;
  /** Closes the socket and stops reconnecting (`disconnected` fires at once). Resolves once the socket is closed. */
  stop(): Promise<void>;
  /** Sends a frame in an established session. Returns false (and sends nothing) otherwise. */
  send(msg: OutgoingMessage): boolean;
  /** Capabilities for the next hello (validated with the protocol schema). */
  setCapabilities(capabilities: Capabilities): void;
  readonly capabilities: Capabilities;
  /** True between `welcome` and the next disconnect. */
  readonly established: boolean;
  readonly state: ConnectionState;
  readonly sessionId: string | undefined;
  /** The gateway this connection uses now (or tries next). */
  readonly url: string;
  on: Emitter<ConnectionEvents>['on'];
  off: Emitter<ConnectionEvents>['off'];
}

const OPEN = 1;
const CLOSED = 3;
/** WebSocket close codes the node uses. */
const CLOSE_NORMAL = 1000;
const CLOSE_PROTOCOL = 1002;
/** The node leaves at its gateway's request (`move`). */
export const CLOSE_MOVING = 4010;
/** How long a node that moves waits before it dials the other gateway (none: it is asked to). */
const MOVE_DELAY_MS = 50;

/** ws(s)://host/v1/nodes/ws for a gateway at `origin` (http→ws, https→wss). */
export function nodeSocketUrl(origin: string): string {
  const u = new URL('/v1/nodes/ws', origin);
  u.protocol = u.protocol === 'https:' || u.protocol === 'wss:' ? 'wss:' : 'ws:';
  return u.toString();
}

export function createConnection(options: ConnectionOptions): GatewayConnection {
  const { account, log } = options;
  const targets = options.urls?.length ? [...options.urls] : [options.url];
  let at = Math.floor(Math.random() * targets.length);
  let url = targets[at]!;
  const open = options.socket;
  const clock = options.clock ?? systemClock;
  const handshakeTimeoutMs = options.handshakeTimeoutMs ?? 10_000;
  const keepaliveMs = options.keepaliveMs ?? 15_000;
  const backoff = createBackoff(options.backoff);
  const events = new Emitter<ConnectionEvents>();
  /** What the hello signs as the address dialed: the gateway refuses a hello dialed elsewhere (a relay). */
  let origin = originOf(url);
  const pins = options.pins ?? createPins();
  const helloTtlMs = options.helloTtlMs ?? 60_000;
  let capabilities = Capabilities.parse(options.capabilities);
  /** The gateway and chain the last hello was signed for (pinned at its welcome). */
  let helloDomain: LodeDomain | undefined;

  let ws: SocketLike | undefined;
  let state: ConnectionState = 'stopped';
  let stopped = true;
  let helloSent = false;
  let sessionId: string | undefined;
  let reconnectTimer: unknown;
  let handshakeTimer: unknown;
  let keepaliveTimer: unknown;
  let lastHeard = 0;
  /** The index in `targets` the gateway asked this node to move to, until the next attempt. */
  let moveTo: number | undefined;

  function setState(next: ConnectionState): void {
    if (next === state) return;
    state = next;
    events.emit('state', next);
  }

  function connect(): void {
    reconnectTimer = undefined;
    if (stopped) return;
    log.info('connecting to the gateway', { url, attempt: backoff.attempts + 1 });
    setState('connecting');
    let socket: SocketLike;
    try {
      socket = open(url);
    } catch (err) {
      log.warn('could not open a WebSocket', { err: errorText(err) });
      scheduleReconnect(1006, 'could not open', false);
      return;
    }
    ws = socket;
    helloSent = false;
    handshakeTimer = clock.setTimeout(() => {
      if (ws === socket && state !== 'established') {
        log.warn('the gateway did not complete the handshake in time; closing', { url });
        drop(socket, 4000, 'handshake timeout');
      }
    }, handshakeTimeoutMs);

    socket.addEventListener('open', () => {
      if (ws === socket) setState('handshake');
    });
    socket.addEventListener('message', (ev: { data: unknown }) => {
      if (ws !== socket) return;
      lastHeard = clock.now();
      onFrame(socket, ev.data);
    });
    socket.addEventListener('pong', () => {
      if (ws === socket) lastHeard = clock.now();
    });
    // 'close' always follows an error; the reconnect is scheduled there.
    socket.addEventListener('error', () => log.debug('gateway socket error'));
    socket.addEventListener('close', (ev: { code: number; reason: string }) => onClose(socket, ev.code, ev.reason));
  }

  /** Ends `socket` now, without waiting for its close event (which is then ignored). */
  function drop(socket: SocketLike, code: number, reason: string): void {
    if (socket.terminate) socket.terminate();
    else socket.close(CLOSE_NORMAL, reason);
    onClose(socket, code, reason);
  }

  function onClose(socket: SocketLike, code: number, reason: string): void {
    if (ws !== socket) return;
    const wasEstablished = state === 'established';
    ws = undefined;
    sessionId = undefined;
    clock.clearTimeout(handshakeTimer);
    clock.clearTimeout(keepaliveTimer);
    scheduleReconnect(code, reason, wasEstablished);
  }

  function scheduleReconnect(code: number, reason: string, wasEstablished: boolean): void {
    let retryInMs: number | null = null;
    const tried = url;
    if (!stopped) {
      const moving = moveTo !== undefined;
      if (moving) {
        // The gateway asked this node to serve another one of the cluster (onMove).
        at = moveTo!;
        moveTo = undefined;
      } else if (targets.length > 1) {
        // This gateway is gone or refused us: the next attempt goes to another one, at random, so
        // that the nodes of a dead gateway spread over the others rather than all moving to one.
        at = (at + 1 + Math.floor(Math.random() * (targets.length - 1))) % targets.length;
      }
      url = targets[at]!;
      origin = originOf(url);
      if (moving) backoff.reset();
      retryInMs = moving ? MOVE_DELAY_MS : backoff.next();
      reconnectTimer = clock.setTimeout(connect, retryInMs);
      // Waiting to reconnect is the node's whole job while the gateway is away: this timer must
      // keep a Node process alive, or a node exits when its gateway restarts.
      keepAlive(reconnectTimer);
      setState('waiting');
    } else {
      setState('stopped');
    }
    log.info(wasEstablished ? 'gateway session closed' : 'could not establish a gateway session', {
      gateway: tried,
      code,
      reason,
      retryInMs,
      ...(targets.length > 1 ? { next: url } : {}),
    });
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
        try {
          pins.check(origin, msg.gateway);
        } catch (err) {
          log.error(errorText(err), { origin, gateway: msg.gateway });
          events.emit('error', err as Error);
          socket.close(CLOSE_NORMAL, 'gateway identity mismatch');
          return;
        }
        helloSent = true;
        helloDomain = { gateway: msg.gateway as `0x${string}`, chainId: msg.chainId };
        void sendHello(socket, msg.challenge as `0x${string}`, helloDomain);
        return;
      case 'welcome':
        if (!helloSent || state === 'established') return reject('unexpected welcome');
        if (msg.node.toLowerCase() !== account.address.toLowerCase()) {
          log.error('the gateway welcomed another address; closing', { node: msg.node });
          socket.close(CLOSE_PROTOCOL, 'welcome for another node');
          return;
        }
        sessionId = msg.sessionId;
        if (helloDomain) pins.remember(origin, helloDomain.gateway);
        clock.clearTimeout(handshakeTimer);
        backoff.reset();
        setState('established');
        scheduleKeepalive(socket);
        log.info('gateway session established', { sessionId: msg.sessionId, heartbeatMs: msg.heartbeatMs });
        events.emit('welcome', { sessionId: msg.sessionId, heartbeatMs: msg.heartbeatMs });
        return;
      case 'error':
        if (state !== 'established') {
          log.error('the gateway refused the hello', { code: msg.code, message: msg.message });
          events.emit('error', new HelloRefusedError(`The gateway refused this node: ${msg.code}: ${msg.message}`, { meta: { code: msg.code } }));
          socket.close(CLOSE_NORMAL, 'hello refused');
          return;
        }
        events.emit('message', msg);
        return;
      case 'move':
        if (state !== 'established') return reject('move before welcome');
        return onMove(socket, msg.to);
      default:
        if (state !== 'established') return reject(`${msg.t} before welcome`);
        events.emit('message', msg);
    }
  }

  /** The gateway asks this node to serve another gateway of the cluster: only one on the node's own list. */
  function onMove(socket: SocketLike, to: string): void {
    let host: string;
    try {
      host = originOf(to);
    } catch {
      return reject('move to a malformed URL');
    }
    const i = targets.findIndex((t) => originOf(t) === host);
    if (i < 0 || i === at) {
      log.warn(
        i < 0
          ? 'the gateway asked this node to move to a gateway not on its list; staying (list every gateway of the cluster to let it balance its nodes)'
          : 'the gateway asked this node to move to itself; staying',
        { to },
      );
      return;
    }
    log.info('moving to another gateway of the cluster at its request (it has work waiting)', { from: url, to: targets[i] });
    moveTo = i;
    socket.close(CLOSE_MOVING, 'moving');
    onClose(socket, CLOSE_MOVING, 'moving');
  }

  function reject(why: string): void {
    log.warn('ignoring a bad frame from the gateway', { why });
    events.emit('error', new ProtocolViolationError(`Ignored a frame from the gateway: ${why}`));
  }

  async function sendHello(socket: SocketLike, challenge: `0x${string}`, domain: LodeDomain): Promise<void> {
    try {
      const expiresAt = clock.now() + helloTtlMs;
      const caps = capabilities;
      const signature = await account.signTypedData(
        nodeHelloTypedData({ node: account.address, challenge, capabilitiesHash: capabilitiesHash(caps), origin, expiresAt: BigInt(expiresAt) }, domain),
      );
      if (ws !== socket || socket.readyState !== OPEN) return;
      const hello = HelloMsg.parse({ t: 'hello', protocol: PROTOCOL_VERSION, node: account.address, capabilities: caps, origin, expiresAt, signature });
      socket.send(JSON.stringify(hello));
    } catch (err) {
      log.error('could not sign the hello', { err: errorText(err) });
      events.emit('error', err instanceof Error ? err : new Error(String(err)));
      socket.close(CLOSE_NORMAL, 'hello failed');
    }
  }

  function scheduleKeepalive(socket: SocketLike): void {
    if (!socket.ping) return;
    lastHeard = clock.now();
    const tick = (): void => {
      if (ws !== socket || state !== 'established') return;
      if (clock.now() - lastHeard > 2 * keepaliveMs) {
        log.warn('the gateway went silent; reconnecting', { silentMs: clock.now() - lastHeard });
        drop(socket, 4001, 'gateway silent');
        return;
      }
      socket.ping!();
      keepaliveTimer = clock.setTimeout(tick, keepaliveMs);
    };
    keepaliveTimer = clock.setTimeout(tick, keepaliveMs);
  }

  return {
    start() {
      if (!stopped) return;
      stopped = false;
      backoff.reset();
      connect();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      clock.clearTimeout(reconnectTimer);
      reconnectTimer = undefined;
      const socket = ws;
      if (!socket) {
        setState('stopped');
        return;
      }
      const closed = new Promise<void>((resolve) => {
        if (socket.readyState === CLOSED) return resolve();
        const force = globalThis.setTimeout(() => {
          socket.terminate?.();
          resolve();
        }, 1000) as unknown as { unref?: () => void };
        force.unref?.();
        socket.addEventListener('close', () => {
          globalThis.clearTimeout(force as unknown as number);
          resolve();
        });
      });
      if (socket.readyState === OPEN) socket.close(CLOSE_NORMAL, 'node stopping');
      else if (socket.terminate) socket.terminate();
      else socket.close();
      onClose(socket, CLOSE_NORMAL, 'node stopping');
      await closed;
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
    get url() {
      return url;
    },
    on: events.on.bind(events),
    off: events.off.bind(events),
  };
}
