import { describe, expect, it } from 'vitest';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { hexToBytes } from 'viem';
import { createVerifiableCredentialJwt, verifyCredential } from 'did-jwt-vc';
// did-jwt comes with did-jwt-vc: its own signer is the reference our ES256K-R signer must match.
import { ES256KSigner } from 'did-jwt';
import { Resolver } from 'did-resolver';
import { getResolver } from 'pkh-did-resolver';
import {
  DEVICE_CREDENTIAL_SKEW_S,
  DEVICE_CREDENTIAL_TYPE,
  deviceDid,
  issueDeviceCredential,
  parsePkhDid,
  verifyDeviceCredential,
  type DeviceClaimsInit,
  type DeviceCredentialVerification,
} from './deviceCredential.js';
import { es256kRecoverableSigner } from './jwtSigner.js';
import { InvalidRequestError } from './errors/request.js';
import { fromBase64url, toBase64url } from './encoding.js';
import { LIMITS } from './limits.js';

const gatewayKey = generatePrivateKey();
const gateway = privateKeyToAccount(gatewayKey);
const node = privateKeyToAccount(generatePrivateKey());
const stranger = privateKeyToAccount(generatePrivateKey());
const chainId = 31337;
/** Unix ms at which the test credentials are issued. */
const T0 = 1_800_000_000_000;
const TTL = 3600;

const subject: DeviceClaimsInit = {
  node: node.address,
  capabilities: { cores: 8, memoryMiB: 16_384, os: 'linux', arch: 'x64', kind: 'server', slots: 4, benchmark: 812.5, agent: 'lode-node/0.1.0' },
  uptimeSeconds: 7200,
  firstSeenAt: 1_799_990_000,
  checks: { validated: 12, invalid: 1, consecutiveValid: 9 },
  offences: { count: 1, slashedWei: '5000000000000000000' },
  availability: { epochs: 3, score: 0.95 },
};

const issue = (over: { now?: number; chainId?: number; account?: typeof gateway } = {}) =>
  issueDeviceCredential({ subject, account: over.account ?? gateway, chainId: over.chainId ?? chainId, now: over.now ?? T0, ttlSeconds: TTL });

const b64urlJson = (value: unknown) => toBase64url(new TextEncoder().encode(JSON.stringify(value)));
const partJson = (part: string) => JSON.parse(new TextDecoder().decode(fromBase64url(part)));
const sigBytes = fromBase64url;

/** A VC-JWT with any payload, signed by `account` as `issuerDid` (for forgeries and odd claims). */
function signAs(account: typeof gateway, issuerDid: string, payload: Parameters<typeof createVerifiableCredentialJwt>[0]) {
  return createVerifiableCredentialJwt(payload, { did: issuerDid, signer: es256kRecoverableSigner(account), alg: 'ES256K-R' });
}

function refusal(v: DeviceCredentialVerification) {
  expect(v.ok).toBe(false);
  return v as Extract<DeviceCredentialVerification, { ok: false }>;
}

describe('device credentials', () => {
  it('round-trips: what the gateway signs is what a verifier reads back, issuer and subject as did:pkh', async () => {
    const jwt = await issue();
    expect(jwt.split('.')).toHaveLength(3);
    expect(partJson(jwt.split('.')[0]!)).toMatchObject({ alg: 'ES256K-R', typ: 'JWT' });
    const v = await verifyDeviceCredential(jwt, { now: T0 + 1000, chainId, trustedIssuers: [gateway.address] });
    expect(v).toEqual({
      ok: true,
      issuer: `did:pkh:eip155:${chainId}:${gateway.address.toLowerCase()}`,
      gateway: gateway.address.toLowerCase(),
      chainId,
      subject: { id: `did:pkh:eip155:${chainId}:${node.address.toLowerCase()}`, ...subject, node: node.address.toLowerCase() },
      issuedAt: T0 / 1000,
      expiresAt: T0 / 1000 + TTL,
    });
  });

  it('verifies with did-jwt-vc and the did:pkh resolver alone, as a third party would (no Lode code)', async () => {
    const jwt = await issue({ now: Date.now() });
    const v = await verifyCredential(jwt, new Resolver(getResolver()));
    expect(v.verified).toBe(true);
    expect(v.issuer).toBe(`did:pkh:eip155:${chainId}:${gateway.address.toLowerCase()}`);
    expect(v.verifiableCredential.type).toEqual(['VerifiableCredential', DEVICE_CREDENTIAL_TYPE]);
    expect(v.verifiableCredential.credentialSubject).toMatchObject({
      id: `did:pkh:eip155:${chainId}:${node.address.toLowerCase()}`,
      checks: { validated: 12, invalid: 1, consecutiveValid: 9 },
      offences: { count: 1, slashedWei: '5000000000000000000' },
    });
    const [h, p, s] = jwt.split('.') as [string, string, string];
    const tampered = `${h}.${b64urlJson({ ...partJson(p), vc: { ...partJson(p).vc, credentialSubject: { ...partJson(p).vc.credentialSubject, uptimeSeconds: 1e9 } } })}.${s}`;
    await expect(verifyCredential(tampered, new Resolver(getResolver()))).rejects.toThrow(/invalid_signature/);
  });

  it('works without a ledger: chain 0 is a valid did:pkh chain', async () => {
    const v = await verifyDeviceCredential(await issue({ chainId: 0 }), { now: T0, chainId: 0 });
    expect(v).toMatchObject({ ok: true, chainId: 0, issuer: deviceDid(gateway.address, 0) });
  });

  it('signs ES256K-R exactly as did-jwt does with the raw key (same bytes for the same input)', async () => {
    const reference = ES256KSigner(hexToBytes(gatewayKey), true);
    const ours = es256kRecoverableSigner(gateway);
    for (const input of ['eyJhbGciOiJFUzI1NkstUiJ9.eyJzdWIiOiJ4In0', 'a', '']) expect(await ours(input)).toBe(await reference(input));
  });

  it('refuses an account that cannot sign raw hashes, and claims that do not match the schema', async () => {
    expect(() => es256kRecoverableSigner({ address: gateway.address, sign: undefined })).toThrow(TypeError);
    const bad = issueDeviceCredential({
      subject: { ...subject, checks: { validated: -1, invalid: 0, consecutiveValid: 0 } },
      account: gateway,
      chainId,
      now: T0,
      ttlSeconds: TTL,
    });
    await expect(bad).rejects.toBeInstanceOf(InvalidRequestError);
    await expect(issueDeviceCredential({ subject, account: gateway, chainId, now: T0, ttlSeconds: 0 })).rejects.toThrow(/ttlSeconds/);
  });
});

describe('forged device credentials', () => {
  it('refuses a signature with flipped bytes (in r, in s, or the recovery byte) as CREDENTIAL_FORGED', async () => {
    const [h, p, s] = (await issue()).split('.') as [string, string, string];
    for (const at of [5, 40, 64]) {
      const bytes = sigBytes(s);
      bytes[at] = at === 64 ? bytes[at]! ^ 1 : bytes[at]! ^ 0xff;
      const v = refusal(await verifyDeviceCredential(`${h}.${p}.${toBase64url(bytes)}`, { now: T0 }));
      expect(v.code).toBe('CREDENTIAL_FORGED');
      expect(v.reason).toMatch(/does not recover to the issuer .*fresh one/);
    }
  });

  it('refuses claims changed after signing as CREDENTIAL_FORGED', async () => {
    const [h, p, s] = (await issue()).split('.') as [string, string, string];
    const claims = partJson(p);
    claims.vc.credentialSubject.checks.invalid = 0;
    expect(refusal(await verifyDeviceCredential(`${h}.${b64urlJson(claims)}.${s}`, { now: T0 })).code).toBe('CREDENTIAL_FORGED');
  });

  it("refuses a credential another key signed while claiming the gateway's DID", async () => {
    const [, p] = (await issue()).split('.') as [string, string, string];
    const { iss, ...payload } = partJson(p);
    const forged = await signAs(stranger, iss, payload);
    expect(partJson(forged.split('.')[1]!).iss).toBe(deviceDid(gateway.address, chainId));
    const v = refusal(await verifyDeviceCredential(forged, { now: T0, trustedIssuers: [gateway.address] }));
    expect(v.code).toBe('CREDENTIAL_FORGED');
    await expect(verifyCredential(forged, new Resolver(getResolver()), { policies: { now: T0 / 1000 } })).rejects.toThrow(/invalid_signature/);
  });
});

describe('device credential validity, chain and issuer', () => {
  it('refuses an expired credential, and says to fetch a fresh one', async () => {
    const jwt = await issue();
    const v = refusal(await verifyDeviceCredential(jwt, { now: T0 + (TTL + DEVICE_CREDENTIAL_SKEW_S) * 1000 }));
    expect(v.code).toBe('CREDENTIAL_EXPIRED');
    expect(v.reason).toMatch(/expired at .*lode credential export --vc/);
    expect((await verifyDeviceCredential(jwt, { now: T0 + (TTL + DEVICE_CREDENTIAL_SKEW_S - 1) * 1000 })).ok).toBe(true);
  });

  it('refuses a credential that is not valid yet (beyond the clock skew allowed)', async () => {
    const jwt = await issue();
    const v = refusal(await verifyDeviceCredential(jwt, { now: T0 - (DEVICE_CREDENTIAL_SKEW_S + 1) * 1000 }));
    expect(v.code).toBe('CREDENTIAL_NOT_YET_VALID');
    expect(v.reason).toMatch(/clock/);
    expect((await verifyDeviceCredential(jwt, { now: T0 - DEVICE_CREDENTIAL_SKEW_S * 1000 })).ok).toBe(true);
  });

  it('refuses a credential issued on another chain than the one expected', async () => {
    const v = refusal(await verifyDeviceCredential(await issue({ chainId: 1 }), { now: T0, chainId }));
    expect(v.code).toBe('CREDENTIAL_WRONG_CHAIN');
    expect(v.reason).toMatch(/issued on chain 1; chain 31337 was expected/);
  });

  it('refuses an issuer outside trustedIssuers, and compares addresses case-insensitively', async () => {
    const jwt = await issue();
    const v = refusal(await verifyDeviceCredential(jwt, { now: T0, trustedIssuers: [stranger.address] }));
    expect(v.code).toBe('CREDENTIAL_UNTRUSTED_ISSUER');
    expect(v.reason).toContain(gateway.address.toLowerCase());
    expect((await verifyDeviceCredential(jwt, { now: T0, trustedIssuers: [gateway.address.toUpperCase().replace('0X', '0x')] })).ok).toBe(true);
    expect(refusal(await verifyDeviceCredential(jwt, { now: T0, trustedIssuers: [] })).code).toBe('CREDENTIAL_UNTRUSTED_ISSUER');
  });
});

describe('malformed device credentials', () => {
  const nbf = T0 / 1000;
  const vcOf = (credentialSubject: Record<string, unknown>, type = ['VerifiableCredential', DEVICE_CREDENTIAL_TYPE]) => ({
    '@context': ['https://www.w3.org/2018/credentials/v1'],
    type,
    credentialSubject,
  });
  const payloadOf = (credentialSubject: Record<string, unknown>, type?: string[]) => ({
    sub: deviceDid(node.address, chainId),
    nbf,
    exp: nbf + TTL,
    vc: vcOf(credentialSubject, type),
  });

  it.each([
    ['an empty string', ''],
    ['text', 'not a credential'],
    ['two parts', 'eyJhbGciOiJFUzI1NkstUiJ9.eyJzdWIiOiJ4In0'],
    ['JSON', '{"jwt":"x"}'],
    ['a header that is not JSON', 'bm90IGpzb24.e30.AAAA'],
  ])('refuses %s as CREDENTIAL_MALFORMED', async (_what, input) => {
    const v = refusal(await verifyDeviceCredential(input));
    expect(v.code).toBe('CREDENTIAL_MALFORMED');
    expect(v.reason).toMatch(/lode credential export --vc/);
  });

  it('refuses input over the size bound before decoding it', async () => {
    const huge = `${'a'.repeat(LIMITS.maxDeviceCredentialBytes)}.b.c`;
    const v = refusal(await verifyDeviceCredential(huge));
    expect(v.code).toBe('CREDENTIAL_MALFORMED');
    expect(v.reason).toMatch(/at most 16384/);
  });

  it('refuses a JWT signed with another algorithm than ES256K-R', async () => {
    const [, p, s] = (await issue()).split('.') as [string, string, string];
    const v = refusal(await verifyDeviceCredential(`${b64urlJson({ alg: 'ES256K', typ: 'JWT' })}.${p}.${s}`, { now: T0 }));
    expect(v.code).toBe('CREDENTIAL_MALFORMED');
    expect(v.reason).toMatch(/signed with ES256K; device credentials are signed ES256K-R/);
    const none = refusal(await verifyDeviceCredential(`${b64urlJson({ alg: 'none' })}.${p}.`, { now: T0 }));
    expect(none.code).toBe('CREDENTIAL_MALFORMED');
  });

  it('refuses a genuine VC of another type, and one whose claims do not match the schema, though the gateway signed them', async () => {
    const issuer = deviceDid(gateway.address, chainId);
    const otherType = await signAs(gateway, issuer, payloadOf({ anything: 1 }, ['VerifiableCredential']));
    expect(refusal(await verifyDeviceCredential(otherType, { now: T0 })).reason).toMatch(/not LodeDeviceCredential/);
    const badClaims = await signAs(gateway, issuer, payloadOf({ ...subject, uptimeSeconds: 'long' }));
    const v = refusal(await verifyDeviceCredential(badClaims, { now: T0 }));
    expect(v.code).toBe('CREDENTIAL_MALFORMED');
    expect(v.reason).toMatch(/uptimeSeconds/);
  });

  it('refuses claims about another node than the subject DID, and a subject on another chain than the issuer', async () => {
    const issuer = deviceDid(gateway.address, chainId);
    const otherNode = await signAs(gateway, issuer, { ...payloadOf({ ...subject }), sub: deviceDid(stranger.address, chainId) });
    expect(refusal(await verifyDeviceCredential(otherNode, { now: T0 })).reason).toMatch(/its subject DID names/);
    const otherChain = await signAs(gateway, issuer, { ...payloadOf({ ...subject }), sub: deviceDid(node.address, 1) });
    expect(refusal(await verifyDeviceCredential(otherChain, { now: T0 })).reason).toMatch(/subject's DID is on chain 1/);
  });

  it('refuses a truncated signature as malformed, not forged', async () => {
    const [h, p, s] = (await issue()).split('.') as [string, string, string];
    const v = refusal(await verifyDeviceCredential(`${h}.${p}.${toBase64url(sigBytes(s).slice(0, 64))}`, { now: T0 }));
    expect(v.code).toBe('CREDENTIAL_MALFORMED');
  });
});

describe('parsePkhDid', () => {
  it('reads the chain and address of an eip155 did:pkh, and nothing else', () => {
    expect(parsePkhDid(`did:pkh:eip155:1:${node.address}`)).toEqual({ chainId: 1, address: node.address.toLowerCase() });
    expect(parsePkhDid('did:pkh:bip122:000000000019d6689c085ae165831e93:128Lkh3S7CkDTBZ8W7BbpsN3YYizJMp8p6')).toBeNull();
    expect(parsePkhDid(`did:pkh:eip155:01:${node.address}`)).toBeNull();
    expect(parsePkhDid(`did:pkh:eip155:${'9'.repeat(20)}:${node.address}`)).toBeNull();
  });
});
