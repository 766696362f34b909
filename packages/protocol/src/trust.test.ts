import { describe, expect, it } from 'vitest';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { verifyTypedData } from 'viem';
import { capabilitiesHash, nodeHelloTypedData, type Capabilities } from './index.js';
import {
  checkEvidence,
  evidenceHash,
  factsMessage,
  nodeReputationTypedData,
  signAgreedResult,
  signNodeReputation,
  signNodeResult,
  verifyNodeReputation,
  type Evidence,
} from './trust.js';

const gateway = privateKeyToAccount(generatePrivateKey());
const node = privateKeyToAccount(generatePrivateKey());
const other = privateKeyToAccount(generatePrivateKey());
const caps: Capabilities = { cores: 1, memoryMiB: 1024, os: 'linux', arch: 'x64', kind: 'server', slots: 1, pricePerTask: '0', benchmark: 1, agent: 't' };
const challenge = `0x${'ab'.repeat(32)}` as const;
const domain = { gateway: gateway.address, chainId: 31337 };

async function evidence(): Promise<Evidence> {
  const right = { status: 'ok' as const, errorCode: '', resultHash: 'aa'.repeat(32), fuelUsed: 1234 };
  const wrong = { ...right, resultHash: 'bb'.repeat(32) };
  const agreed = await signAgreedResult(
    gateway,
    {
      gateway: gateway.address,
      jobId: 'j1',
      taskIndex: 3,
      ...factsMessage(right),
      agreeing: [other.address],
      decidedAt: '1700000000000',
      expiresAt: '1800000000',
    },
    domain,
  );
  const offending = await signNodeResult(
    gateway,
    {
      gateway: gateway.address,
      node: node.address,
      jobId: 'j1',
      taskIndex: 3,
      leaseId: 's.1',
      ...factsMessage(wrong),
      sessionChallenge: challenge,
      receivedAt: '1700000000001',
      expiresAt: '1800000000',
    },
    domain,
  );
  const expiresAt = 1_700_000_060_000n;
  const origin = '127.0.0.1:7070';
  const signature = await node.signTypedData(
    nodeHelloTypedData({ node: node.address, challenge, capabilitiesHash: capabilitiesHash(caps), origin, expiresAt }, domain),
  );
  return {
    version: 1,
    kind: 'quorum',
    agreed,
    offending,
    session: {
      node: node.address,
      challenge,
      capabilitiesHash: capabilitiesHash(caps),
      origin,
      expiresAt: String(expiresAt),
      gateway: gateway.address,
      chainId: 31337,
      signature,
    },
  };
}

describe('evidence', () => {
  it("holds when both statements are the gateway's, about one task, and disagree", async () => {
    const e = await evidence();
    expect(await checkEvidence(e)).toBeNull();
    expect(evidenceHash(e)).toMatch(/^0x[0-9a-f]{64}$/);
    expect(evidenceHash(JSON.parse(JSON.stringify(e)))).toBe(evidenceHash(e)); // survives a JSON round trip
  });

  it("fails when a statement was altered, the answers agree, or the session is someone else's", async () => {
    const e = await evidence();
    expect(await checkEvidence({ ...e, offending: { ...e.offending, message: { ...e.offending.message, taskIndex: 4 } } })).toMatch(/different tasks/);
    expect(await checkEvidence({ ...e, agreed: { ...e.agreed, message: { ...e.agreed.message, fuelUsed: '1' } } })).toMatch(/not signed/);
    expect(await checkEvidence({ ...e, offending: { ...e.offending, message: { ...e.offending.message, resultHash: e.agreed.message.resultHash } } })).toMatch(
      /is the agreed one/,
    );
    expect(await checkEvidence({ ...e, session: { ...e.session!, node: other.address } })).toMatch(/not opened by the node/);
    // Bound to one gateway and chain: a hello or a statement from another does not make evidence here.
    expect(await checkEvidence({ ...e, session: { ...e.session!, gateway: other.address } })).toMatch(/another gateway or chain/);
    expect(await checkEvidence({ ...e, agreed: { ...e.agreed, chainId: 1 } })).toMatch(/different chains/);
    expect(await checkEvidence({ ...e, agreed: { ...e.agreed, chainId: 1 }, offending: { ...e.offending, chainId: 1 } })).toMatch(/not signed/);
    expect(evidenceHash({ ...e, kind: 'canary' })).not.toBe(evidenceHash(e));
  });
});

describe('reputation credential', () => {
  it('verifies with viem verifyTypedData against the issuing gateway, until it expires', async () => {
    const c = await signNodeReputation(
      gateway,
      {
        gateway: gateway.address,
        node: node.address,
        validated: '120',
        invalid: '0',
        consecutiveValid: '120',
        uptimeSeconds: '3600',
        firstSeenAt: '1700000000',
        issuedAt: '1700003600',
        expiresAt: String(Math.floor(Date.now() / 1000) + 3600),
      },
      domain,
    );
    expect(await verifyTypedData({ address: gateway.address, ...nodeReputationTypedData(c.message, 31337), signature: c.signature })).toBe(true);
    expect(await verifyTypedData({ address: other.address, ...nodeReputationTypedData(c.message, 31337), signature: c.signature })).toBe(false);
    expect(await verifyNodeReputation(c)).toBe(true);
    expect(await verifyNodeReputation(c, Date.now(), 1)).toBe(false); // for another chain
    expect(await verifyNodeReputation({ ...c, chainId: 1 })).toBe(false);
    expect(await verifyNodeReputation({ ...c, message: { ...c.message, validated: '9999' } })).toBe(false);
    expect(await verifyNodeReputation(c, Date.now() + 7_200_000)).toBe(false);
  });
});
