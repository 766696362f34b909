/**
 * A node's record on a gateway as a W3C Verifiable Credential in JWT form (VC-JWT), which anyone
 * verifies offline with did-jwt-vc and pkh-did-resolver alone — beside the EIP-712
 * `NodeReputation` credential (trust.ts) that gateways take from each other as priors, which
 * keeps working unchanged.
 *
 * - Issuer: the gateway, `did:pkh:eip155:<chainId>:<gateway address>`; subject (`sub`, and
 *   `credentialSubject.id` in the W3C form): the node, `did:pkh:eip155:<chainId>:<node address>`.
 *   Addresses in these DIDs are lower-case; compare them case-insensitively.
 * - Signed `ES256K-R` (see jwtSigner.ts): a did:pkh publishes an address, not a public key, so
 *   the verifier recovers the key from the signature and compares its address.
 * - The claims (`DeviceClaims`) are what the gateway saw: the capabilities the node declared in
 *   its signed hello (declared, not measured), its checked results, uptime, offences (evidence
 *   and slashes) and availability (null until the gateway reports it).
 * - The chain is in the issuer's DID, which is signed: a credential from another chain is told
 *   apart (`CREDENTIAL_WRONG_CHAIN`) though the signature alone would verify on any.
 *
 * @example
 * const jwt = await issueDeviceCredential({ subject, account, chainId, now: Date.now(), ttlSeconds: 30 * 86400 });
 * const v = await verifyDeviceCredential(jwt, { chainId, trustedIssuers: [account.address] });
 * if (!v.ok) throw new DeviceCredentialRefusedError(v.code, v.reason);
 */
import { createVerifiableCredentialJwt, verifyCredential, type JwtCredentialPayload } from 'did-jwt-vc';
import { Resolver } from 'did-resolver';
import { getResolver } from 'pkh-did-resolver';
import type { Hex } from 'viem';
import { z } from 'zod';
import { fromBase64url, fromUtf8 } from './encoding.js';
import { didPkh } from './eip712.js';
import type { DeviceCredentialCode } from './errors/credential.js';
import { InvalidRequestError } from './errors/request.js';
import { Address, Amount } from './jobSpec.js';
import { es256kRecoverableSigner, type JwtAccount } from './jwtSigner.js';
import { LIMITS } from './limits.js';
import { Capabilities } from './messages.js';

/** The W3C VC type that marks a Lode device credential (beside `VerifiableCredential`). */
export const DEVICE_CREDENTIAL_TYPE = 'LodeDeviceCredential';
/** The JWS algorithm of device credentials (see jwtSigner.ts for why the recoverable form). */
export const DEVICE_CREDENTIAL_ALG = 'ES256K-R';
/** Clock difference tolerated between the issuer and a verifier, either way. @default 60 s */
export const DEVICE_CREDENTIAL_SKEW_S = 60;
/** Longest validity an issuer may give. @default 366 days */
export const MAX_DEVICE_CREDENTIAL_TTL_S = 366 * 24 * 3600;

const VC_CONTEXT = 'https://www.w3.org/2018/credentials/v1';

const Count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/** `did:pkh:eip155:<chainId>:<address>` (CAIP-10; a CAIP-2 eip155 reference is decimal, at most 32 digits). */
export const PkhDid = z.string().regex(/^did:pkh:eip155:(0|[1-9][0-9]{0,31}):0x[0-9a-fA-F]{40}$/, 'expected did:pkh:eip155:<chainId>:<0x address>');

/** The device part of a node's declared capabilities (prices are offers, not facts about the device). */
export const CredentialCapabilities = z.object(
  Capabilities.pick({ cores: true, memoryMiB: true, os: true, arch: true, kind: true, slots: true, benchmark: true, agent: true }).shape,
);
export type CredentialCapabilities = z.infer<typeof CredentialCapabilities>;

/** A node's availability as its gateway measured it over availability epochs. */
export const DeviceAvailability = z.object({
  /** Epochs the node took part in. */
  epochs: Count,
  /** Share of the challenges it answered in time, in [0, 1]. */
  score: z.number().min(0).max(1),
});
export type DeviceAvailability = z.infer<typeof DeviceAvailability>;

/**
 * What a gateway attests about a node. Unknown members are dropped when read (a newer issuer's
 * extra claims do not make an older verifier refuse the credential).
 */
export const DeviceClaims = z.object({
  /** The node's account (lower-case in credentials this package issues). */
  node: Address,
  /** As the node declared them in its signed hello: declared, not measured. */
  capabilities: CredentialCapabilities,
  /** Time connected to this gateway over all sessions. */
  uptimeSeconds: Count,
  /** When this gateway first saw the node (Unix seconds). */
  firstSeenAt: Count,
  /** Its checked results (docs/trust.md): right, proven wrong, and right since the last wrong one. */
  checks: z.object({ validated: Count, invalid: Count, consecutiveValid: Count }),
  /** Evidence records against it, and what its stake lost to slashes (token wei, decimal). */
  offences: z.object({ count: Count, slashedWei: Amount }),
  /** null until the gateway reports availability epochs for it. */
  availability: DeviceAvailability.nullable(),
});
export type DeviceClaims = z.infer<typeof DeviceClaims>;
export type DeviceClaimsInit = z.input<typeof DeviceClaims>;

/** The claims with the subject's DID: the W3C `credentialSubject`. */
export const DeviceCredentialSubject = DeviceClaims.extend({ id: PkhDid });
export type DeviceCredentialSubject = z.infer<typeof DeviceCredentialSubject>;

/**
 * `GET /v1/nodes/:address/device-credential`: the JWT, and what it says beside it for display.
 * Rely only on what `verifyDeviceCredential(jwt)` returns; the other members are a convenience.
 */
export const DeviceCredentialView = z.object({
  jwt: z.string().max(LIMITS.maxDeviceCredentialBytes),
  /** The gateway's did:pkh. */
  issuer: PkhDid,
  subject: DeviceCredentialSubject,
  /** Unix seconds. */
  issuedAt: Count,
  /** Unix seconds. */
  expiresAt: Count,
});
export type DeviceCredentialView = z.infer<typeof DeviceCredentialView>;

/** The did:pkh of an account in device credentials (address lower-case). */
export function deviceDid(address: string, chainId: number): string {
  return didPkh(address.toLowerCase(), chainId);
}

/** The chain and address of a `did:pkh:eip155` DID, or null when it is not one. */
export function parsePkhDid(did: string): { chainId: number; address: Hex } | null {
  if (!PkhDid.safeParse(did).success) return null;
  const [, , , chain, address] = did.split(':');
  const chainId = Number(chain);
  return Number.isSafeInteger(chainId) ? { chainId, address: address!.toLowerCase() as Hex } : null;
}

// ---------------------------------------------------------------- issuing

export interface IssueDeviceCredentialParameters {
  /** What the gateway attests (validated here: an invalid subject is an InvalidRequestError). */
  subject: DeviceClaimsInit;
  /** The gateway's account: a local key, as it signs raw hashes (see jwtSigner.ts). */
  account: JwtAccount;
  /** The chain the gateway is bound to (0 without a ledger): named in both DIDs. */
  chainId: number;
  /** Unix ms: the credential is valid from this second. */
  now: number;
  /** Validity, seconds (1 … MAX_DEVICE_CREDENTIAL_TTL_S). */
  ttlSeconds: number;
}

/** The JWT payload of a device credential (JWT encoding of the W3C VC data model). */
function credentialPayload(claims: DeviceClaims, subjectDid: string, nbf: number, exp: number): JwtCredentialPayload {
  return {
    sub: subjectDid,
    nbf,
    exp,
    vc: { '@context': [VC_CONTEXT], type: ['VerifiableCredential', DEVICE_CREDENTIAL_TYPE], credentialSubject: claims },
  };
}

/**
 * Signs a device credential as the gateway: a compact JWT (`header.payload.signature`), at most
 * `LIMITS.maxDeviceCredentialBytes`, that `verifyDeviceCredential` — or did-jwt-vc's
 * `verifyCredential` with the did:pkh resolver alone — verifies offline.
 */
export async function issueDeviceCredential(p: IssueDeviceCredentialParameters): Promise<string> {
  const claims = DeviceClaims.safeParse(p.subject);
  if (!claims.success) throw new InvalidRequestError("A device credential's subject does not match DeviceClaims.", { details: z.prettifyError(claims.error) });
  if (!Number.isSafeInteger(p.chainId) || p.chainId < 0) throw new TypeError(`chainId must be a non-negative integer, got ${p.chainId}.`);
  if (!Number.isInteger(p.ttlSeconds) || p.ttlSeconds < 1 || p.ttlSeconds > MAX_DEVICE_CREDENTIAL_TTL_S)
    throw new TypeError(`ttlSeconds must be an integer from 1 to ${MAX_DEVICE_CREDENTIAL_TTL_S}, got ${p.ttlSeconds}.`);
  const nbf = Math.floor(p.now / 1000);
  const subject = { ...claims.data, node: claims.data.node.toLowerCase() };
  const payload = credentialPayload(subject, deviceDid(subject.node, p.chainId), nbf, nbf + p.ttlSeconds);
  const issuer = { did: deviceDid(p.account.address, p.chainId), signer: es256kRecoverableSigner(p.account), alg: DEVICE_CREDENTIAL_ALG };
  const jwt = await createVerifiableCredentialJwt(payload, issuer);
  if (jwt.length > LIMITS.maxDeviceCredentialBytes)
    throw new TypeError(`The device credential came to ${jwt.length} bytes, over ${LIMITS.maxDeviceCredentialBytes}.`);
  return jwt;
}

// ---------------------------------------------------------------- verifying

export interface VerifyDeviceCredentialOptions {
  /** Unix ms to check validity at. @default Date.now() */
  now?: number;
  /** Refuse a credential issued on another chain (`CREDENTIAL_WRONG_CHAIN`). @default any chain */
  chainId?: number;
  /** Gateway addresses whose credentials are accepted (`CREDENTIAL_UNTRUSTED_ISSUER` otherwise). @default any issuer */
  trustedIssuers?: readonly string[];
}

export interface DeviceCredentialAccepted {
  ok: true;
  /** The issuer's did:pkh. */
  issuer: string;
  /** The issuing gateway's address (lower-case) and chain, from its DID. */
  gateway: Hex;
  chainId: number;
  /** The claims, with the node's did:pkh as `id`. */
  subject: DeviceCredentialSubject;
  /** Unix seconds. */
  issuedAt: number;
  /** Unix seconds. */
  expiresAt: number;
}

export interface DeviceCredentialRefusal {
  ok: false;
  code: DeviceCredentialCode;
  /** What is wrong and what to do next. */
  reason: string;
}

export type DeviceCredentialVerification = DeviceCredentialAccepted | DeviceCredentialRefusal;

const refuse = (code: DeviceCredentialCode, reason: string): DeviceCredentialRefusal => ({ ok: false, code, reason });
const malformed = (what: string) =>
  refuse(
    'CREDENTIAL_MALFORMED',
    `${what}. It is not a Lode device credential: fetch one with \`lode credential export --vc\` (GET /v1/nodes/<address>/device-credential).`,
  );
const iso = (s: number) => new Date(s * 1000).toISOString();

const JwtHeader = z.object({ alg: z.string(), typ: z.string().optional() });
const JwtPayload = z.object({
  iss: PkhDid,
  sub: PkhDid,
  nbf: Count,
  exp: Count,
  vc: z.object({ type: z.union([z.string(), z.array(z.string())]), credentialSubject: z.record(z.string(), z.unknown()) }),
});
type JwtPayload = z.infer<typeof JwtPayload>;

interface Envelope {
  payload: JwtPayload;
  issuer: { chainId: number; address: Hex };
  subject: { chainId: number; address: Hex };
}

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

function decodeJson(part: string): unknown {
  try {
    return JSON.parse(fromUtf8(fromBase64url(part)));
  } catch {
    return undefined;
  }
}

/** The JWT's header and claims, checked for form only. Nothing here is trusted yet. */
function readEnvelope(jwt: string): Envelope | DeviceCredentialRefusal {
  if (!COMPACT_JWS.test(jwt)) return malformed('The input is not a JWT (three base64url parts separated by dots)');
  const [h, p, s] = jwt.split('.') as [string, string, string];
  const header = JwtHeader.safeParse(decodeJson(h));
  if (!header.success) return malformed("The JWT's header is not JSON with an `alg`");
  if (header.data.alg !== DEVICE_CREDENTIAL_ALG)
    return malformed(`The JWT is signed with ${header.data.alg}; device credentials are signed ${DEVICE_CREDENTIAL_ALG}`);
  if (fromBase64url(s).length !== 65) return malformed('The signature is not 65 bytes (r ‖ s ‖ recovery byte, as ES256K-R is)');
  const payload = JwtPayload.safeParse(decodeJson(p));
  if (!payload.success) return malformed(`The JWT's claims are not a device credential's (${z.prettifyError(payload.error).replace(/\n/g, '; ')})`);
  const types = [payload.data.vc.type].flat();
  if (!types.includes(DEVICE_CREDENTIAL_TYPE)) return malformed(`The credential's type is ${types.join(', ')}, not ${DEVICE_CREDENTIAL_TYPE}`);
  if (payload.data.exp <= payload.data.nbf) return malformed('The credential expires before it becomes valid');
  const issuer = parsePkhDid(payload.data.iss);
  const subject = parsePkhDid(payload.data.sub);
  if (!issuer || !subject) return malformed("The issuer's or the subject's DID names a chain id beyond 2^53");
  if (subject.chainId !== issuer.chainId) return malformed(`The subject's DID is on chain ${subject.chainId}, the issuer's on ${issuer.chainId}`);
  return { payload: payload.data, issuer, subject };
}

let resolver: Resolver | undefined;
/** did:pkh only: resolving it needs no network (the document is derived from the DID itself). */
const pkhResolver = () => (resolver ??= new Resolver(getResolver()));

/** did-jwt's error prefixes that mean the signature is not the issuer's (any other failure past `readEnvelope` is the crypto refusing it too). */
const NOT_FORGERY = ['schema_error', 'format_error', 'invalid_jwt', 'not_supported', 'resolver_error', 'invalid_argument'];

/** Checks the signature against the issuer's DID with did-jwt-vc, as any third party would. */
async function checkSignature(jwt: string, issuerDid: string): Promise<DeviceCredentialRefusal | null> {
  try {
    // Validity times are checked by `checkValidity`, with the caller's clock and stable codes.
    await verifyCredential(jwt, pkhResolver(), { proofPurpose: 'assertionMethod', policies: { issuanceDate: false, expirationDate: false } });
    return null;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (NOT_FORGERY.some((prefix) => message.startsWith(prefix))) return malformed(`did-jwt-vc refused it: ${message}`);
    return refuse(
      'CREDENTIAL_FORGED',
      `The signature does not recover to the issuer ${issuerDid}: the credential was altered or signed by another key. Do not rely on it; ask the issuing gateway for a fresh one.`,
    );
  }
}

function checkIssuer(e: Envelope, o: VerifyDeviceCredentialOptions): DeviceCredentialRefusal | null {
  if (o.chainId !== undefined && e.issuer.chainId !== o.chainId) {
    return refuse(
      'CREDENTIAL_WRONG_CHAIN',
      `The credential was issued on chain ${e.issuer.chainId}; chain ${o.chainId} was expected. Get one from a gateway on chain ${o.chainId}, or verify for chain ${e.issuer.chainId} if that is the one you meant.`,
    );
  }
  if (o.trustedIssuers && !o.trustedIssuers.some((t) => t.toLowerCase() === e.issuer.address)) {
    return refuse(
      'CREDENTIAL_UNTRUSTED_ISSUER',
      `The credential was issued by ${e.issuer.address}, which is not among the trusted issuers (${o.trustedIssuers.join(', ') || 'none'}). Trust that gateway explicitly, or get a credential from one you trust.`,
    );
  }
  return null;
}

function checkValidity(p: JwtPayload, nowS: number): DeviceCredentialRefusal | null {
  if (p.nbf > nowS + DEVICE_CREDENTIAL_SKEW_S) {
    return refuse(
      'CREDENTIAL_NOT_YET_VALID',
      `The credential is valid only from ${iso(p.nbf)} (it is ${iso(nowS)} here). Check this machine's clock and the issuer's; retry once it is valid.`,
    );
  }
  if (nowS >= p.exp + DEVICE_CREDENTIAL_SKEW_S) {
    return refuse(
      'CREDENTIAL_EXPIRED',
      `The credential expired at ${iso(p.exp)} (valid from ${iso(p.nbf)}). Ask the gateway for a fresh one (\`lode credential export --vc\`).`,
    );
  }
  return null;
}

function readSubject(e: Envelope): DeviceCredentialSubject | DeviceCredentialRefusal {
  const claims = DeviceClaims.safeParse(e.payload.vc.credentialSubject);
  if (!claims.success) return malformed(`Its claims do not match DeviceClaims (${z.prettifyError(claims.error).replace(/\n/g, '; ')})`);
  if (claims.data.node.toLowerCase() !== e.subject.address)
    return malformed(`Its claims are about ${claims.data.node}, its subject DID names ${e.subject.address}`);
  return { id: e.payload.sub, ...claims.data };
}

/**
 * Verifies a device credential offline: its form (bounded to `LIMITS.maxDeviceCredentialBytes`
 * before anything is decoded), the issuer's ES256K-R signature with did-jwt-vc and the did:pkh
 * resolver, the issuer's chain and trust when asked, its validity at `now` (± 60 s of clock
 * difference), then its claims against `DeviceClaims`. Never throws: a refusal says which check
 * failed (`code`) and what to do next (`reason`).
 */
export async function verifyDeviceCredential(jwt: string, options: VerifyDeviceCredentialOptions = {}): Promise<DeviceCredentialVerification> {
  if (typeof jwt !== 'string') return malformed('The input is not a string');
  if (jwt.length > LIMITS.maxDeviceCredentialBytes)
    return malformed(`The input is ${jwt.length} characters; a device credential is at most ${LIMITS.maxDeviceCredentialBytes}`);
  const token = jwt.trim();
  const envelope = readEnvelope(token);
  if ('ok' in envelope) return envelope;
  const forged = await checkSignature(token, envelope.payload.iss);
  if (forged) return forged;
  const refused = checkIssuer(envelope, options) ?? checkValidity(envelope.payload, Math.floor((options.now ?? Date.now()) / 1000));
  if (refused) return refused;
  const subject = readSubject(envelope);
  if ('ok' in subject) return subject;
  return {
    ok: true,
    issuer: envelope.payload.iss,
    gateway: envelope.issuer.address,
    chainId: envelope.issuer.chainId,
    subject,
    issuedAt: envelope.payload.nbf,
    expiresAt: envelope.payload.exp,
  };
}
