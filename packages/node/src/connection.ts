/**
 * The node's WebSocket session with a gateway.
 *
 * Guarantees:
 * - A session is authenticated once: on `challenge` the node signs an EIP-712 NodeHello over
 *   { node, challenge, capabilitiesHash(capabilities), timestamp (Unix ms) } and sends `hello`.
 *   Only after `welcome` are messages delivered to listeners or accepted by `send`.
 * - Every frame from the gateway is validated against `GatewayMessage`; a malformed or
 *   out-of-order frame is logged and ignored, never thrown.
 * - Until `stop()`, a lost or refused session is retried with jittered exponential backoff
 *   (reset by the next `welcome`); each attempt is logged.
 * - A session that stays silent (no frame and no pong) for two keep-alive periods is
 *   considered dead and is replaced, so a half-open TCP connection cannot stall the node.
 */
import type { Logger } from 'pino';
import type { LocalAccount } from 'viem';
import WebSocket from 'ws';
import {
  capabilitiesHash,
  GatewayMessage,
  HelloRefusedError,
  LIMITS,
  nodeHelloTypedData,
  originOf,
  PROTOCOL_VERSION,
  ProtocolViolationError,
  type Capabilities,
  type HelloMsg,
  type LodeDomain,
  type NodeMessage,
} from '@lode/protocol';
import type { z } from 'zod';
import { createBackoff, type BackoffOptions } from './backoff.js';
import { systemClock, type Clock } from './clock.js';
import { Emitter } from './emitter.js';
import { gatewayPins, type GatewayPins } from './gatewayPins.js';

type Msg = z.infer<typeof GatewayMessage>;
/** Messages delivered once a session is established. */
export type SessionMessage = Extract<Msg, { t: 'lease' | 'cancel' | 'ack' | 'error' }>;

export interface Welcome {
  sessionId: string;
  heartbeatMs: number;
}

export interface ConnectionEvents extends Record<string, unknown> {
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
  account: LocalAccount;
  capabilities: Capabilities;
  log: Logger;
  clock?: Clock;
  backoff?: BackoffOptions;
  /** Time allowed from socket open to `welcome`. @default 10_000 */
  handshakeTimeoutMs?: number;
  /** Ping period once established; silence for two periods closes the socket. @default 15_000 */
  keepaliveMs?: number;
  /** The gateway accounts this node expects (see gatewayPins.ts). @default in memory, first use */
  pins?: GatewayPins;
  /** How long a signed hello stays valid. @default 60_000 */
  helloTtlMs?: number;
}

export interface GatewayConnection {
  /** Opens the first socket. Returns at once; watch `welcome`. */
  start(): void;
  /** Closes the socket and stops reconnecting. Resolves once the socket is closed. */
  stop(): Promise<void>;
  /** Sends a frame in an established session. Returns false (and sends nothing) otherwise. */
  send(msg: Exclude<NodeMessage, HelloMsg>): boolean;
  /** True between `welcome` and the next disconnect. */
  readonly established: boolean;
  readonly sessionId: string | undefined;
  on: Emitter<ConnectionEvents>['on'];
  off: Emitter<ConnectionEvents>['off'];
}

/** WebSocket close codes the node uses. */
const CLOSE_NORMAL = 1000;
const CLOSE_PROTOCOL = 1002;

export function createConnection(options: ConnectionOptions): GatewayConnection {
  const { url, account, capabilities, log } = options;
  const clock = options.clock ?? systemClock;
  const handshakeTimeoutMs = options.handshakeTimeoutMs ?? 10_000;
  const keepaliveMs = options.keepaliveMs ?? 15_000;
  const backoff = createBackoff(options.backoff);
  const events = new Emitter<ConnectionEvents>();
  const capsHash = capabilitiesHash(capabilities);
  /** What the hello signs as the address dialed: the gateway refuses a hello dialed elsewhere (a relay). */
  const origin = originOf(url);
  const pins = options.pins ?? gatewayPins(undefined);
  const helloTtlMs = options.helloTtlMs ?? 60_000;
  /** The gateway and chain the last hello was signed for (pinned at its welcome). */
  let helloDomain: LodeDomain | undefined;

  let ws: WebSocket | undefined;
  let stopped = true;
  let established = false;
  let helloSent = false;
  let sessionId: string | undefined;
  let reconnectTimer: unknown;
  let handshakeTimer: unknown;
  let keepaliveTimer: unknown;
  let lastHeard = 0;

  function connect(): void {
    reconnectTimer = undefined;
    if (stopped) return;
    const attempt = backoff.attempts + 1;
    log.info({ url, attempt }, 'connecting to gateway');
    const socket = new WebSocket(url, { maxPayload: LIMITS.maxBodyBytes * 2, handshakeTimeout: handshakeTimeoutMs });
    ws = socket;
    established = false;
    helloSent = false;
    handshakeTimer = clock.setTimeout(() => {
      if (ws === socket && !established) {
        log.warn({ url }, 'gateway did not complete the handshake in time; closing');
        socket.terminate();
      }
    }, handshakeTimeoutMs);

    socket.on('message', (data, isBinary) => {
      if (ws !== socket) return;
      lastHeard = clock.now();
      onFrame(socket, data, isBinary);
    });
    socket.on('pong', () => {
      if (ws === socket) lastHeard = clock.now();
    });
    socket.on('error', (err) => {
      // 'close' always follows; the reconnect is scheduled there.
      log.debug({ err: err.message }, 'gateway socket error');
    });
    socket.on('close', (code, reasonBuf) => {
      if (ws !== socket) return;
      onClose(code, reasonBuf.toString());
    });
  }

  function onClose(code: number, reason: string): void {
    const wasEstablished = established;
    ws = undefined;
    established = false;
    sessionId = undefined;
    clock.clearTimeout(handshakeTimer);
    clock.clearTimeout(keepaliveTimer);
    let retryInMs: number | null = null;
    if (!stopped) {
      retryInMs = backoff.next();
      reconnectTimer = clock.setTimeout(connect, retryInMs);
      // Waiting to reconnect is the node's whole job while the gateway is away: this timer must
      // keep the process alive (the clock's timers are unref'd), or a node exits when its gateway restarts.
      (reconnectTimer as { ref?: () => void } | undefined)?.ref?.();
    }
    log.info({ code, reason, retryInMs }, wasEstablished ? 'gateway session closed' : 'could not establish a gateway session');
    events.emit('disconnected', { code, reason, established: wasEstablished, retryInMs });
  }

  function onFrame(socket: WebSocket, data: WebSocket.RawData, isBinary: boolean): void {
    if (isBinary) return reject('binary frame');
    let json: unknown;
    try {
      json = JSON.parse(rawToString(data));
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
        if (established || helloSent) return reject('unexpected challenge');
        if (msg.protocol !== PROTOCOL_VERSION) {
          log.warn({ gateway: msg.protocol, node: PROTOCOL_VERSION }, 'gateway speaks another protocol version; trying anyway');
        }
        try {
          pins.check(origin, msg.gateway);
        } catch (err) {
          log.error({ origin, gateway: msg.gateway }, (err as Error).message);
          events.emit('error', err as Error);
          socket.close(CLOSE_NORMAL, 'gateway identity mismatch');
          return;
        }
        helloSent = true;
        helloDomain = { gateway: msg.gateway as `0x${string}`, chainId: msg.chainId };
        void sendHello(socket, msg.challenge as `0x${string}`, helloDomain);
        return;
      case 'welcome':
        if (!helloSent || established) return reject('unexpected welcome');
        if (msg.node.toLowerCase() !== account.address.toLowerCase()) {
          log.error({ node: msg.node }, 'gateway welcomed another address; closing');
          socket.close(CLOSE_PROTOCOL, 'welcome for another node');
          return;
        }
        established = true;
        sessionId = msg.sessionId;
        if (helloDomain) pins.remember(origin, helloDomain.gateway);
        clock.clearTimeout(handshakeTimer);
        backoff.reset();
        scheduleKeepalive(socket);
        log.info({ sessionId: msg.sessionId, heartbeatMs: msg.heartbeatMs }, 'gateway session established');
        events.emit('welcome', { sessionId: msg.sessionId, heartbeatMs: msg.heartbeatMs });
        return;
      case 'error':
        if (!established) {
          const err = new HelloRefusedError(`The gateway refused this node: ${msg.code}: ${msg.message}`, {
            meta: { code: msg.code },
          });
          log.error({ code: msg.code, message: msg.message }, 'gateway refused the hello');
          events.emit('error', err);
          socket.close(CLOSE_NORMAL, 'hello refused');
          return;
        }
        events.emit('message', msg);
        return;
      default:
        if (!established) return reject(`${msg.t} before welcome`);
        events.emit('message', msg);
    }
  }

  function reject(why: string): void {
    log.warn({ why }, 'ignoring a bad frame from the gateway');
    events.emit('error', new ProtocolViolationError(`Ignored a frame from the gateway: ${why}`));
  }

  async function sendHello(socket: WebSocket, challenge: `0x${string}`, domain: LodeDomain): Promise<void> {
    try {
      const expiresAt = clock.now() + helloTtlMs;
      const signature = await account.signTypedData(
        nodeHelloTypedData({ node: account.address, challenge, capabilitiesHash: capsHash, origin, expiresAt: BigInt(expiresAt) }, domain),
      );
      if (ws !== socket || socket.readyState !== WebSocket.OPEN) return;
      const hello: HelloMsg = {
        t: 'hello',
        protocol: PROTOCOL_VERSION,
        node: account.address,
        capabilities,
        origin,
        expiresAt,
        signature,
      };
      socket.send(JSON.stringify(hello));
    } catch (err) {
      log.error({ err }, 'could not sign the hello');
      events.emit('error', err instanceof Error ? err : new Error(String(err)));
      socket.close(CLOSE_NORMAL, 'hello failed');
    }
  }

  function scheduleKeepalive(socket: WebSocket): void {
    lastHeard = clock.now();
    const tick = (): void => {
      if (ws !== socket || !established) return;
      if (clock.now() - lastHeard > 2 * keepaliveMs) {
        log.warn({ silentMs: clock.now() - lastHeard }, 'gateway went silent; reconnecting');
        socket.terminate();
        return;
      }
      socket.ping();
      keepaliveTimer = clock.setTimeout(tick, keepaliveMs);
    };
    keepaliveTimer = clock.setTimeout(tick, keepaliveMs);
  }

  return {
    start() {
      if (!stopped) return;
      stopped = false;
      connect();
    },
    async stop() {
      stopped = true;
      clock.clearTimeout(reconnectTimer);
      reconnectTimer = undefined;
      const socket = ws;
      if (!socket || socket.readyState === WebSocket.CLOSED) return;
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          socket.terminate();
          resolve();
        }, 1000);
        force.unref();
        socket.once('close', () => {
          clearTimeout(force);
          resolve();
        });
        if (socket.readyState === WebSocket.CONNECTING) socket.terminate();
        else socket.close(CLOSE_NORMAL, 'node stopping');
      });
    },
    send(msg) {
      if (!established || !ws || ws.readyState !== WebSocket.OPEN) return false;
      ws.send(JSON.stringify(msg));
      return true;
    },
    get established() {
      return established;
    },
    get sessionId() {
      return sessionId;
    },
    on: events.on.bind(events),
    off: events.off.bind(events),
  };
}

function rawToString(data: WebSocket.RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}
