/**
 * The gateway's trust service: the reputation book, each job's verifier, and what follows when
 * a node is proven wrong — evidence signed by the gateway, stored, and (with a ledger) a slash
 * of the node's stake on chain; a node proven wrong `maxStrikes` times is refused.
 *
 * Guarantees:
 * - Evidence is written before the slash is sent, and a slash is sent at most once per
 *   evidence (the outbox's key and the contract's `EvidenceAlreadyUsed` both hold it); evidence
 *   whose slash was pending when the gateway stopped is slashed at the next start.
 * - An offence counts against the node's reputation at once (before the evidence is signed),
 *   so the next lease decision already sees it.
 * - Credentials this gateway issues verify with viem's `verifyTypedData` against its account;
 *   credentials from other gateways count only if their issuer is in `trustedIssuers`, and only
 *   up to `priorCap` checks.
 * - Device credentials (W3C VCs as JWTs) it issues verify offline with did-jwt-vc against its
 *   did:pkh on its chain (ES256K-R), and state only what this gateway holds about the node.
 */
import type { Hex, LocalAccount } from 'viem';
import type { Logger } from 'pino';
import {
  DeviceClaims,
  deviceDid,
  evidenceHash,
  factsMessage,
  issueDeviceCredential,
  signAgreedResult,
  signNodeReputation,
  signNodeResult,
  verifyNodeReputation,
  type Capabilities,
  type DeviceAvailability,
  type DeviceCredentialView,
  type Evidence,
  type JobSpec,
  type NodeReputationMessage,
  type NodeView,
  type ResultFacts,
  type SessionProof,
  type Signed,
} from '@lode/protocol';
import type { Clock } from '../clock.js';
import type { Store } from '../store/types.js';
import { NotSenderError } from '../store/errors.js';
import { JobVerification } from '../verify/jobVerification.js';
import { LoneTracker } from './loneTracker.js';
import { MAX_EVIDENCE_COUNTED, deviceClaimsOf } from './deviceClaims.js';
import { ReputationBook } from '../verify/reputation.js';
import { policyFor, type TrustConfig } from '../verify/trustConfig.js';
import { parseVoteKey } from '../verify/vote.js';

/** Slashes a provider on chain for one offence (GatewayLedger.slash). */
export interface Slasher {
  slash(provider: string, evidenceHash: Hex): Promise<{ slashed: bigint; txHash: Hex }>;
}

export interface TrustServiceOptions {
  store: Store;
  log: Logger;
  clock: Clock;
  /** The gateway's account: signs evidence and credentials. */
  account: LocalAccount;
  /** The chain its statements are bound to (0 without a ledger). */
  chainId: number;
  config: TrustConfig;
  /** Absent without a ledger: evidence is kept, nothing is slashed. */
  slasher?: Slasher;
  /** Uniform in [0, 1) for audits. @default Math.random */
  random?: () => number;
  /** A node was proven wrong `maxStrikes` times: close its sessions. */
  onRefused?(address: string): void;
}

/** One node's wrong result, as the gateway received it. */
export interface Offence {
  kind: Evidence['kind'];
  jobId: string;
  index: number;
  /** The verified answer's vote key and the accounts that agreed on it (or that verified the known answer). */
  agreedKey: string;
  agreeing: string[];
  node: string;
  leaseId: string;
  key: string;
  receivedAt: number;
  /** The hello that opened the session the result came on. */
  session: SessionProof | null;
}

/** Credibility of a node whose unaudited lone results reached the cap (its results are replicated until it passes a check). */
const BACKLOG_CREDIBILITY = 0.5;

/** How long a reputation credential (EIP-712 or device VC) stays valid. */
const CREDENTIAL_TTL_S = 30 * 24 * 3600;
/** How long evidence stands for a slash (a pending slash is sent within it, or not at all). */
const EVIDENCE_TTL_S = 30 * 24 * 3600;

export class TrustService {
  readonly book: ReputationBook;
  /** Results taken on one node's word alone, until it passes a check (see loneTracker.ts). */
  readonly lone: LoneTracker;
  private slashing: Promise<void> = Promise.resolve();
  /** Evidence whose slash is queued or waiting for a retry (bounded by the pending evidence listed). */
  private readonly queued = new Set<string>();
  private readonly random: () => number;

  constructor(private readonly o: TrustServiceOptions) {
    this.random = o.random ?? Math.random;
    this.book = new ReputationBook({
      store: o.store,
      log: o.log,
      now: () => o.clock.now(),
      trust: o.config.trust,
      maxStrikes: o.config.maxStrikes,
      priorCap: o.config.priorCap,
    });
    this.lone = new LoneTracker({ store: o.store, log: o.log, limits: o.config.loneResults });
  }

  get address(): Hex {
    return this.o.account.address;
  }

  /** The trust settings this service runs with. */
  get config(): TrustConfig {
    return this.o.config;
  }

  async start(): Promise<void> {
    await this.book.start();
    await this.lone.start((a) => this.book.get(a));
    await this.slashPending();
  }

  /**
   * Queues the slash of every stored evidence whose slash is pending and not queued here yet: at
   * start, and on every beat of a cluster's settler (other gateways store evidence; the settler
   * sends the slashes).
   */
  async slashPending(): Promise<void> {
    if (!this.o.slasher) return;
    for (const e of await this.o.store.listEvidence({ slash: 'pending', limit: 10_000 })) {
      if (!this.queued.has(e.hash)) this.queueSlash(e.node, e.hash as Hex);
    }
  }

  async stop(): Promise<void> {
    await this.lone.stop();
    await this.book.stop();
  }

  /** Waits for the slashes queued so far (tests, shutdown). */
  settled(): Promise<void> {
    return this.slashing;
  }

  /** A verifier for a job, fed by this gateway's reputation book. */
  verificationFor<P>(spec: JobSpec): JobVerification<P> {
    return new JobVerification<P>(policyFor(spec.verification, this.o.config), {
      credibility: (a) => this.credibility(a),
      isNewcomer: (a) => this.book.isNewcomer(a),
      establishedAvailable: () => this.book.establishedOnline() > 0,
      random: this.random,
      now: () => this.o.clock.now(),
    });
  }

  /**
   * A node's credibility as verifiers use it: its record's — except that a node holding
   * `loneResults.maxPerNode` results taken on its word alone and not yet audited is not taken
   * alone again (at most `BACKLOG_CREDIBILITY`) until it passes a check: its next results get a
   * second vote, which is that check. This bounds what one node can have accepted unchecked.
   */
  credibility(address: string): number {
    const c = this.book.credibility(address);
    return this.lone.book.of(address).length >= this.lone.book.maxPerNode ? Math.min(c, BACKLOG_CREDIBILITY) : c;
  }

  /** Leases of verified jobs a node may hold at once: few while it is on probation. */
  verifiedCapacity(address: string, slots: number, capacity: number): number {
    return this.book.isNewcomer(address) ? Math.min(capacity, slots * this.o.config.newcomerDepth) : capacity;
  }

  /**
   * Accounts whose checked results were right — each with the `seq` of the answer that was
   * checked (`lone.nextSeq()` when it arrived), or just the account for an answer given now. Its
   * results taken alone up to that answer are audited.
   */
  validated(checks: Iterable<string | { node: string; seq: number }>): void {
    for (const c of checks) {
      const { node, seq } = typeof c === 'string' ? { node: c, seq: this.lone.nextSeq() } : c;
      this.book.recordValid(node);
      this.lone.passed(node, seq);
    }
  }

  /**
   * A node's result was proven wrong: its reputation drops now; the evidence is signed and
   * stored, and its stake slashed. Resolves once the evidence is stored (not the slash).
   */
  async provenWrong(f: Offence): Promise<string> {
    this.strike(f.node, 'node proven wrong', 'proven wrong', { jobId: f.jobId, index: f.index, kind: f.kind });
    const evidence = await this.evidence(f);
    const hash = evidenceHash(evidence);
    await this.o.store.insertEvidence({
      hash,
      node: f.node,
      jobId: f.jobId,
      index: f.index,
      kind: f.kind,
      body: evidence,
      createdAt: this.o.clock.now(),
      slash: this.o.slasher ? 'pending' : 'none',
      slashed: null,
      txHash: null,
      error: null,
    });
    if (this.o.slasher) this.queueSlash(f.node, hash);
    return hash;
  }

  /**
   * A node broke the protocol as only a lying or broken node does (a result whose hash does not
   * match its own output, more fuel or output than its lease allows): a strike against its
   * reputation, with no evidence to slash (the gateway alone saw it; nothing is signed per task).
   * A node with `maxStrikes` strikes is refused.
   */
  misbehaved(node: string, what: string, meta: Record<string, unknown> = {}): void {
    this.strike(node, `node misbehaved: ${what}`, 'misbehaved', meta);
  }

  /**
   * A strike against `node`: every result it gave alone since its last passed check is
   * re-verified (jobs/revisions.ts), and at `maxStrikes` it is refused.
   */
  private strike(node: string, message: string, offence: string, meta: Record<string, unknown>): void {
    const strikes = this.book.recordWrong(node);
    this.lone.caught(node);
    this.o.log.warn({ node, strikes, ...meta }, message);
    if (strikes >= this.book.maxStrikes) {
      this.o.log.warn({ node, strikes }, `node refused: ${offence} too often`);
      this.o.onRefused?.(node);
    }
  }

  /** The reputation part of a node's view. */
  reputationOf(address: string): NonNullable<NodeView['reputation']> {
    const r = this.book.get(address);
    return {
      validated: r.validated,
      invalid: r.invalid,
      consecutiveValid: r.consecutiveValid,
      credibility: this.book.credibility(address),
      probation: this.book.isNewcomer(address),
      refused: this.book.isRefused(address),
      uptimeMs: Math.round(this.book.uptimeOf(address)),
    };
  }

  /** The node's record here, signed by this gateway: a credential it can carry to another gateway. */
  credential(address: string): Promise<Signed<NodeReputationMessage>> {
    const r = this.book.get(address);
    const now = Math.floor(this.o.clock.now() / 1000);
    return signNodeReputation(
      this.o.account,
      {
        gateway: this.o.account.address,
        node: address as Hex,
        validated: String(r.validated),
        invalid: String(r.invalid),
        consecutiveValid: String(r.consecutiveValid),
        uptimeSeconds: String(Math.floor(this.book.uptimeOf(address) / 1000)),
        firstSeenAt: String(Math.floor(r.firstSeenAt / 1000)),
        issuedAt: String(now),
        expiresAt: String(now + CREDENTIAL_TTL_S),
      },
      this.domain,
    );
  }

  /**
   * The node's record here as a W3C Verifiable Credential (a JWT signed ES256K-R by this gateway's
   * did:pkh), which anyone verifies offline with did-jwt-vc alone (deviceCredential.ts in
   * @lode/protocol): its checks and uptime from the reputation book, the capabilities it declared,
   * the evidence and slashes stored against it, and its availability when known.
   */
  async deviceCredential(address: string, device: { capabilities: Capabilities; availability: DeviceAvailability | null }): Promise<DeviceCredentialView> {
    const evidence = await this.o.store.listEvidence({ node: address, limit: MAX_EVIDENCE_COUNTED });
    const claims = DeviceClaims.parse(
      deviceClaimsOf({ address, ...device, reputation: this.book.get(address), uptimeMs: this.book.uptimeOf(address), evidence }),
    );
    const now = this.o.clock.now();
    const jwt = await issueDeviceCredential({ subject: claims, account: this.o.account, chainId: this.o.chainId, now, ttlSeconds: CREDENTIAL_TTL_S });
    const issuedAt = Math.floor(now / 1000);
    return {
      jwt,
      issuer: deviceDid(this.o.account.address, this.o.chainId),
      subject: { id: deviceDid(address, this.o.chainId), ...claims },
      issuedAt,
      expiresAt: issuedAt + CREDENTIAL_TTL_S,
    };
  }

  /** This gateway's EIP-712 domain. */
  private get domain() {
    return { gateway: this.o.account.address, chainId: this.o.chainId };
  }

  /**
   * Counts another gateway's credential as a prior for its node. Returns the checks counted, or
   * the reason it was not taken.
   */
  async importCredential(c: Signed<NodeReputationMessage>): Promise<{ counted: number } | { refused: string }> {
    const issuer = c.message.gateway.toLowerCase();
    if (issuer === this.o.account.address.toLowerCase()) return { refused: 'this gateway issued it; its own record already counts' };
    if (!this.o.config.trustedIssuers.some((t) => t.toLowerCase() === issuer))
      return { refused: `issuer ${c.message.gateway} is not among this gateway's trusted issuers` };
    if (c.chainId !== this.o.chainId) return { refused: `the credential is for chain ${c.chainId}; this gateway is on chain ${this.o.chainId}` };
    if (!(await verifyNodeReputation(c, this.o.clock.now(), this.o.chainId))) return { refused: 'the signature does not verify, or the credential expired' };
    if (BigInt(c.message.invalid) > 0n) return { refused: 'the credential records wrong results' };
    const node = c.message.node.toLowerCase();
    const counted = Math.min(this.book.priorCap, Number(BigInt(c.message.consecutiveValid)));
    this.book.importPrior(node, counted, issuer);
    return { counted: this.book.get(node).priorValid };
  }

  private async evidence(f: Offence): Promise<Evidence> {
    const gateway = this.o.account.address;
    const expiresAt = Math.floor(this.o.clock.now() / 1000) + EVIDENCE_TTL_S;
    const facts = (key: string): ResultFacts => {
      const v = parseVoteKey(key);
      return { status: v.status, errorCode: v.errorCode ?? '', resultHash: v.resultHash, fuelUsed: v.fuelUsed };
    };
    const agreed = await signAgreedResult(
      this.o.account,
      {
        gateway,
        jobId: f.jobId,
        taskIndex: f.index,
        ...factsMessage(facts(f.agreedKey)),
        agreeing: f.agreeing as Hex[],
        decidedAt: String(this.o.clock.now()),
        expiresAt: String(expiresAt),
      },
      this.domain,
    );
    const offending = await signNodeResult(
      this.o.account,
      {
        gateway,
        node: f.node as Hex,
        jobId: f.jobId,
        taskIndex: f.index,
        leaseId: f.leaseId,
        ...factsMessage(facts(f.key)),
        sessionChallenge: f.session?.challenge ?? (`0x${'0'.repeat(64)}` as Hex),
        receivedAt: String(f.receivedAt),
        expiresAt: String(expiresAt),
      },
      this.domain,
    );
    return { version: 1, kind: f.kind, agreed, offending, session: f.session };
  }

  /** Slashes one after another (one chain transaction at a time); a transient failure is retried later. */
  private queueSlash(node: string, hash: Hex, attempt = 0): void {
    const slasher = this.o.slasher!;
    this.queued.add(hash);
    this.slashing = this.slashing.then(async () => {
      try {
        const { slashed, txHash } = await slasher.slash(node, hash);
        this.queued.delete(hash);
        await this.o.store.updateEvidence(hash, { slash: 'slashed', slashed, txHash });
        this.o.log.warn({ node, evidence: hash, slashed: slashed.toString(), tx: txHash }, 'node slashed');
      } catch (err) {
        if (err instanceof NotSenderError) {
          // Another gateway of the cluster sends the chain transactions: it slashes (slashPending).
          this.queued.delete(hash);
          this.o.log.info({ node, evidence: hash }, 'evidence stored; the cluster settler sends the slash');
          return;
        }
        const reason = (err as { reason?: string }).reason;
        if (reason !== undefined) {
          // The chain said no (no stake to take, evidence used): final.
          this.queued.delete(hash);
          await this.o.store.updateEvidence(hash, { slash: 'failed', error: reason, txHash: (err as { txHash?: string }).txHash ?? null }).catch(() => {});
          this.o.log.warn({ node, evidence: hash, reason }, 'slash refused by the chain');
          return;
        }
        const delay = Math.min(60_000, 1000 * 2 ** attempt);
        this.o.log.error({ err, node, evidence: hash, retryInMs: delay }, 'slash failed; will retry');
        setTimeout(() => this.queueSlash(node, hash, attempt + 1), delay).unref();
      }
    });
  }
}
