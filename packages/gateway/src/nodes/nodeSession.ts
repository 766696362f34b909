/**
 * One node's WebSocket session: the challenge/hello handshake, then lease and result frames.
 *
 * The session is authenticated once, by the node's EIP-712 signature over a fresh random
 * challenge; afterwards the socket is the credential (tasks are never signed one by one).
 * A frame that is not JSON or breaks the schema gets an `error` frame; three such frames
 * close the session. A node that does not say hello in time is disconnected.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { WebSocket } from 'ws';
import {
  type HelloMsg,
  HelloRefusedError,
  LIMITS,
  LodeError,
  NodeMessage,
  PROTOCOL_VERSION,
  capabilitiesHash,
  recoverNodeHello,
  type Capabilities,
  type GatewayMessage,
  type Lease,
  type LodeDomain,
  type SessionProof,
} from '@lode/protocol';
import type { Logger } from 'pino';
import type { JobLease, JobSession } from '../jobs/leases.js';
import { zodMessage } from '../zodMessage.js';

export interface SessionHost {
  log: Logger;
  heartbeatMs: number;
  helloTimeoutMs: number;
  /** This gateway and its chain: the domain a hello must be signed for. */
  domain: LodeDomain;
  /** Whether a hello dialed to `origin` (`host:port`) reached this gateway, given the Host the upgrade request came with. */
  originAllowed(origin: string, requestHost: string | undefined): boolean;
  capacityOf(slots: number): number;
  now(): number;
  /**
   * Checks that a node whose hello verified may serve (the ledger's minimum stake); throws a
   * LodeError (e.g. StakeRequiredError), sent to the node before the session closes.
   */
  authorize?(address: string): Promise<void>;
  /** Called once the hello is verified; the host registers the session with the scheduler. */
  onReady(session: NodeSession): void;
  onResults(session: NodeSession, results: import('@lode/protocol').TaskOutcome[]): void;
  onDrain(session: NodeSession): void;
  /** A node asked to move stayed (askToMove): it may get work again. */
  onStay?(session: NodeSession): void;
  onClose(session: NodeSession): void;
}

/** Raises the largest frame `ws` accepts on this socket (its receiver's limit; a no-op if it has none). */
function setMaxPayload(ws: WebSocket, bytes: number): void {
  const receiver = (ws as unknown as { _receiver?: { _maxPayload?: number } })._receiver;
  if (receiver && typeof receiver._maxPayload === 'number') receiver._maxPayload = bytes;
}

export class NodeSession implements JobSession {
  readonly id = randomUUID().slice(0, 8);
  address = '';
  capabilities!: Capabilities;
  inflight = 0;
  capacity = 0;
  /** The node said it drains (no new leases). */
  private drainSaid = false;
  /** Asked to move to another gateway (askToMove) and not yet known to stay: no new leases. */
  private moving = false;
  /** When this gateway last asked the node to move (0: never). */
  moveAskedAt = 0;
  /** Held from job leases until then (an availability challenge is out); 0: not held. */
  private heldUntil = 0;
  ready = false;
  connectedAt = 0;
  lastSeenAt = 0;
  completed = 0;
  failed = 0;
  readonly leases = new Map<string, JobLease>();
  verifiedInflight = 0;
  /** The node's signed hello over this session's challenge (set once it verified). */
  proof: SessionProof | undefined;
  private readonly challenge = `0x${randomBytes(32).toString('hex')}` as const;
  private strikes = 0;
  private pendingAcks: string[] = [];
  private ackScheduled = false;
  private helloTimer: ReturnType<typeof setTimeout>;
  private closed = false;

  /**
   * `remote`: the node's IP address as the gateway sees it (replicas of a task go to distinct ones
   * where possible); `requestHost`: the Host header of its upgrade request.
   */
  constructor(
    private readonly ws: WebSocket,
    private readonly host: SessionHost,
    readonly remote = '',
    private readonly requestHost?: string,
  ) {
    ws.on('message', (data, isBinary) => {
      try {
        this.onFrame(data as Buffer, isBinary);
      } catch (err) {
        // A bug met by one frame must not take the gateway down with every other node's session.
        host.log.error({ err, session: this.id, node: this.address }, 'handling a node frame failed');
        this.strike('INTERNAL', 'The gateway failed to handle this frame; it has been logged.');
      }
    });
    ws.on('close', () => this.onClosed());
    ws.on('error', (err) => host.log.debug({ err, session: this.id }, 'node socket error'));
    // Until its hello is accepted, a stranger's frames are limited to 64 KiB (the server's limit
    // for every new socket; checked again per frame in onFrame should ws ever rename its receiver);
    // the session raises it to the protocol's frame size at the welcome.
    this.helloTimer = setTimeout(() => {
      if (!this.ready) this.close(4001, 'no hello in time');
    }, host.helloTimeoutMs);
    this.send({ t: 'challenge', challenge: this.challenge, protocol: PROTOCOL_VERSION, gateway: host.domain.gateway, chainId: host.domain.chainId });
  }

  /** No new leases: the node drains, was asked to move, or answers an availability challenge. */
  get draining(): boolean {
    return this.drainSaid || this.moving || (this.heldUntil > 0 && this.host.now() < this.heldUntil);
  }

  /** No job leases until `untilMs` (an availability challenge is out); 0 lifts it. */
  holdUntil(untilMs: number): void {
    this.heldUntil = untilMs;
  }

  /**
   * Asks the node to move to another gateway of the cluster (cluster/rebalance.ts) and gives it
   * no new lease meanwhile. A node that moves closes its session; one that stays (that gateway is
   * not on its list, or it predates moves) gets work again after `waitMs` (`onStay`).
   */
  askToMove(to: string, waitMs: number): void {
    if (this.closed) return;
    this.moveAskedAt = this.host.now();
    this.moving = true;
    this.send({ t: 'move', to });
    const stay = setTimeout(() => {
      this.moving = false;
      if (!this.closed) this.host.onStay?.(this);
    }, waitMs);
    stay.unref();
  }

  sendLeases(leases: Lease[]): void {
    this.send({ t: 'lease', leases });
  }

  sendCancel(leaseIds: string[]): void {
    this.send({ t: 'cancel', leaseIds });
  }

  /** Acknowledges a settled result; coalesced into one frame per tick. */
  ack(leaseId: string): void {
    this.pendingAcks.push(leaseId);
    if (this.ackScheduled) return;
    this.ackScheduled = true;
    setImmediate(() => {
      this.ackScheduled = false;
      const ids = this.pendingAcks;
      this.pendingAcks = [];
      if (ids.length) this.send({ t: 'ack', leaseIds: ids });
    });
  }

  sendError(code: string, message: string, leaseId?: string): void {
    this.send({ t: 'error', code, message, ...(leaseId ? { leaseId } : {}) });
  }

  close(code = 1000, reason = ''): void {
    if (this.closed) return;
    try {
      this.ws.close(code, reason);
    } catch {
      this.ws.terminate();
    }
  }

  /** Drops the connection at once, without a closing handshake (for a peer that no longer answers). */
  terminate(): void {
    this.ws.terminate();
  }

  private send(msg: GatewayMessage): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    this.ws.send(JSON.stringify(msg));
  }

  private strike(code: string, message: string): void {
    this.sendError(code, message);
    if (++this.strikes >= 3) this.close(4002, 'too many protocol errors');
  }

  private onFrame(data: Buffer, isBinary: boolean): void {
    this.lastSeenAt = this.host.now();
    if (!this.ready && data.byteLength > LIMITS.maxFrameBeforeHelloBytes) {
      this.sendError('TOO_LARGE', `Frames before the hello are limited to ${LIMITS.maxFrameBeforeHelloBytes} bytes.`);
      return this.close(1009, 'frame too large before hello');
    }
    if (isBinary) return this.strike('PROTOCOL_VIOLATION', 'Frames must be JSON text.');
    let json: unknown;
    try {
      json = JSON.parse(data.toString('utf8'));
    } catch {
      return this.strike('MALFORMED_JSON', 'The frame is not valid JSON.');
    }
    const parsed = NodeMessage.safeParse(json);
    if (!parsed.success) return this.strike('INVALID_REQUEST', `The frame does not match the node protocol: ${zodMessage(parsed.error)}`);
    const msg = parsed.data;
    if (!this.ready) {
      if (msg.t !== 'hello') return this.strike('PROTOCOL_VIOLATION', 'Say hello first.');
      this.onHello(msg).catch((err: unknown) => {
        this.host.log.error({ err, session: this.id }, 'admitting a node failed');
        this.close(4005, 'internal error');
      });
      return;
    }
    switch (msg.t) {
      case 'hello':
        return this.strike('PROTOCOL_VIOLATION', 'Already authenticated.');
      case 'results':
        return this.host.onResults(this, msg.results);
      case 'heartbeat':
        return;
      case 'drain':
        this.drainSaid = true;
        return this.host.onDrain(this);
    }
  }

  private async onHello(msg: HelloMsg): Promise<void> {
    if (msg.protocol !== PROTOCOL_VERSION) {
      this.sendError('HELLO_REFUSED', `Protocol ${msg.protocol} is not supported; this gateway speaks ${PROTOCOL_VERSION}. Update the node.`);
      return this.close(4003, 'protocol version');
    }
    if (msg.expiresAt < this.host.now()) {
      this.sendError('HELLO_REFUSED', "The hello has expired (expiresAt is in the past). Check the node's clock.");
      return this.close(4004, 'hello expired');
    }
    if (!this.host.originAllowed(msg.origin, this.requestHost)) {
      this.sendError(
        'HELLO_REFUSED',
        `The hello was signed for ${msg.origin}, which is not this gateway. A node signs the address it dialed; connect to this gateway directly.`,
      );
      return this.close(4004, 'wrong origin');
    }
    let signer: string;
    try {
      signer = await recoverNodeHello(
        {
          node: msg.node as `0x${string}`,
          challenge: this.challenge,
          capabilitiesHash: capabilitiesHash(msg.capabilities),
          origin: msg.origin,
          expiresAt: BigInt(msg.expiresAt),
        },
        msg.signature as `0x${string}`,
        this.host.domain,
      );
    } catch {
      signer = '';
    }
    if (signer.toLowerCase() !== msg.node.toLowerCase()) {
      this.sendError(
        'HELLO_REFUSED',
        `The hello signature does not match the node address, this session's challenge and this gateway (${this.host.domain.gateway} on chain ${this.host.domain.chainId}).`,
      );
      return this.close(4004, 'bad signature');
    }
    if (this.host.authorize) {
      try {
        await this.host.authorize(msg.node.toLowerCase());
      } catch (err) {
        const e = err instanceof LodeError ? err : new HelloRefusedError('The gateway could not admit this node.', { cause: err });
        this.sendError(e.code, e.shortMessage);
        return this.close(4005, e.code.toLowerCase().slice(0, 100));
      }
      if (this.closed) return;
    }
    clearTimeout(this.helloTimer);
    this.proof = {
      node: msg.node as `0x${string}`,
      challenge: this.challenge,
      capabilitiesHash: capabilitiesHash(msg.capabilities),
      origin: msg.origin,
      expiresAt: String(msg.expiresAt),
      gateway: this.host.domain.gateway,
      chainId: this.host.domain.chainId,
      signature: msg.signature as `0x${string}`,
    };
    this.address = msg.node.toLowerCase();
    this.capabilities = msg.capabilities;
    this.capacity = this.host.capacityOf(msg.capabilities.slots);
    this.connectedAt = this.host.now();
    this.lastSeenAt = this.connectedAt;
    this.ready = true;
    setMaxPayload(this.ws, LIMITS.maxBodyBytes);
    this.send({ t: 'welcome', sessionId: this.id, node: msg.node, heartbeatMs: this.host.heartbeatMs });
    this.host.onReady(this);
  }

  private onClosed(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.helloTimer);
    if (this.ready) this.host.onClose(this);
  }
}
