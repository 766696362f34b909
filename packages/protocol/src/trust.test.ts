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

async function evidence(): Promise<Evidence> {
  const right = { status: 'ok' as const, errorCode: '', resultHash: 'aa'.repeat(32), fuelUsed: 1234 };
  const wrong = { ...right, resultHash: 'bb'.repeat(32) };
  const agreed = await signAgreedResult(gateway, {
    gateway: gateway.address, jobId: 'j1', taskIndex: 3, ...factsMessage(right), agreeing: [other.address], decidedAt: '1700000000000',
  });
  const offending = await signNodeResult(gateway, {
    gateway: gateway.address, node: node.address, jobId: 'j1', taskIndex: 3, leaseId: 's.1', ...factsMessage(wrong), sessionChallenge: challenge, receivedAt: '1700000000001',
  });
  const timestamp = 1_700_000_000_000n;
  const signature = await node.signTypedData(nodeHelloTypedData({ node: node.address, challenge, capabilitiesHash: capabilitiesHash(caps), timestamp }));
  return { version: 1, kind: 'quorum', agreed, offending, session: { node: node.address, challenge, capabilitiesHash: capabilitiesHash(caps), timestamp: String(timestamp), signature } };
}

describe('evidence', () => {
  it('holds when both statements are the gateway\'s, about one task, and disagree', async () => {
    const e = await evidence();
    expect(await checkEvidence(e)).toBeNull();
    expect(evidenceHash(e)).toMatch(/^0x[0-9a-f]{64}$/);
    expect(evidenceHash(JSON.parse(JSON.stringify(e)))).toBe(evidenceHash(e)); // survives a JSON round trip
  });

  it('fails when a statement was altered, the answers agree, or the session is someone else\'s', async () => {
    const e = await evidence();
    expect(await checkEvidence({ ...e, offending: { ...e.offending, message: { ...e.offending.message, taskIndex: 4 } } })).toMatch(/different tasks/);
    expect(await checkEvidence({ ...e, agreed: { ...e.agreed, message: { ...e.agreed.message, fuelUsed: '1' } } })).toMatch(/not signed/);
    expect(await checkEvidence({ ...e, offending: { ...e.offending, message: { ...e.offending.message, resultHash: e.agreed.message.resultHash } } })).toMatch(/is the agreed one/);
    expect(await checkEvidence({ ...e, session: { ...e.session!, node: other.address } })).toMatch(/not opened by the node/);
    expect(evidenceHash({ ...e, kind: 'canary' })).not.toBe(evidenceHash(e));
  });
});

describe('reputation credential', () => {
  it('verifies with viem verifyTypedData against the issuing gateway, until it expires', async () => {
    const c = await signNodeReputation(gateway, {
      gateway: gateway.address, node: node.address, validated: '120', invalid: '0', consecutiveValid: '120', uptimeSeconds: '3600',
      firstSeenAt: '1700000000', issuedAt: '1700003600', expiresAt: String(Math.floor(Date.now() / 1000) + 3600),
    });
    expect(await verifyTypedData({ address: gateway.address, ...nodeReputationTypedData(c.message), signature: c.signature })).toBe(true);
    expect(await verifyTypedData({ address: other.address, ...nodeReputationTypedData(c.message), signature: c.signature })).toBe(false);
    expect(await verifyNodeReputation(c)).toBe(true);
    expect(await verifyNodeReputation({ ...c, message: { ...c.message, validated: '9999' } })).toBe(false);
    expect(await verifyNodeReputation(c, Date.now() + 7_200_000)).toBe(false);
  });
});
