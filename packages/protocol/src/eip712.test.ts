import { describe, expect, it } from 'vitest';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { InvalidSignatureError } from './errors/request.js';
import { JobSpec } from './jobSpec.js';
import { jobIdOf, signJob, verifyJobSignature, type LodeDomain } from './eip712.js';

const gatewayA: LodeDomain = { gateway: privateKeyToAccount(generatePrivateKey()).address, chainId: 31337 };
const gatewayB: LodeDomain = { gateway: privateKeyToAccount(generatePrivateKey()).address, chainId: 31337 };

const account = privateKeyToAccount(generatePrivateKey());
const spec = JobSpec.parse({
  version: 1,
  requester: account.address,
  module: 'a'.repeat(64),
  tasks: [{ args: ['1'] }, { args: ['2'], env: { K: 'V' } }],
  deadline: 1_900_000_000_000,
  nonce: `0x${'1'.repeat(64)}`,
});

describe('job signatures (EIP-712)', () => {
  it('verifies a job signed by its requester', async () => {
    await expect(verifyJobSignature(await signJob(account, spec, gatewayA), gatewayA)).resolves.toEqual({
      specHash: expect.stringMatching(/^0x[0-9a-f]{64}$/),
      jobId: jobIdOf(spec),
    });
  });

  it('refuses a job signed for another gateway or another chain', async () => {
    const signed = await signJob(account, spec, gatewayA);
    await expect(verifyJobSignature(signed, gatewayB)).rejects.toBeInstanceOf(InvalidSignatureError);
    await expect(verifyJobSignature(signed, { ...gatewayA, chainId: 1 })).rejects.toBeInstanceOf(InvalidSignatureError);
  });

  it('refuses a job signed by another account', async () => {
    const other = privateKeyToAccount(generatePrivateKey());
    await expect(verifyJobSignature(await signJob(other, spec, gatewayA), gatewayA)).rejects.toBeInstanceOf(InvalidSignatureError);
  });

  it('refuses a signed job whose task inputs were changed afterwards', async () => {
    const signed = await signJob(account, spec, gatewayA);
    const tampered = { ...signed, spec: { ...spec, tasks: [spec.tasks[0]!, { ...spec.tasks[1]!, args: ['3'] }] } };
    await expect(verifyJobSignature(tampered, gatewayA)).rejects.toBeInstanceOf(InvalidSignatureError);
  });

  it('derives the job id from the spec alone: same spec, same id; any change, another id', () => {
    expect(jobIdOf(spec)).toBe(jobIdOf(JobSpec.parse(JSON.parse(JSON.stringify(spec)))));
    expect(jobIdOf({ ...spec, nonce: `0x${'2'.repeat(64)}` })).not.toBe(jobIdOf(spec));
    expect(jobIdOf(spec)).toMatch(/^[0-9a-f]{32}$/);
  });
});

describe('JobSpec', () => {
  it('fills defaults and refuses unknown keys and unsafe guest paths', () => {
    expect(spec.resources.memoryMiB).toBe(256);
    expect(spec.tasks[0]!.files).toEqual([]);
    expect(JobSpec.safeParse({ ...spec, extra: 1 }).success).toBe(false);
    const bad = { ...spec, tasks: [{ args: [], files: [{ path: '/in/../etc/passwd', blob: 'b'.repeat(64) }] }] };
    expect(JobSpec.safeParse(bad).success).toBe(false);
  });
});
