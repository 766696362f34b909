import fc from 'fast-check';
import { bytesToHex, hexToBytes, keccak256, recoverAddress, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { recoverSigner } from './recoverSigner.js';

const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

/** viem's answer, or the fact that it threw. */
async function reference(digest: Hex, signature: Hex): Promise<string> {
  try {
    return await recoverAddress({ hash: digest, signature });
  } catch {
    return 'throws';
  }
}

function ours(digest: Hex, signature: Hex): string {
  try {
    return recoverSigner(digest, signature) as string;
  } catch {
    return 'throws';
  }
}

const key = fc.uint8Array({ minLength: 32, maxLength: 32 }).filter((k) => {
  const n = BigInt(bytesToHex(k));
  return n > 0n && n < N;
});
const digest = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((d) => bytesToHex(d));

describe('recoverSigner (libsecp256k1) against viem', () => {
  it('recovers the signer of every valid signature', async () => {
    await fc.assert(
      fc.asyncProperty(key, digest, async (k, d) => {
        const account = privateKeyToAccount(bytesToHex(k));
        const signature = await account.sign({ hash: d });
        expect(recoverSigner(d, signature)).toBe(account.address);
      }),
      { numRuns: 100 },
    );
  });

  it('answers as viem does for altered signatures: flipped bytes, other v, high s, zero r or s', async () => {
    const change = fc.oneof(
      fc.record({ kind: fc.constant('flip' as const), at: fc.integer({ min: 0, max: 64 }), bit: fc.integer({ min: 0, max: 7 }) }),
      fc.record({ kind: fc.constant('v' as const), v: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ kind: fc.constant('highS' as const) }),
      fc.record({ kind: fc.constant('zero' as const), part: fc.constantFrom(0, 32) }),
    );
    await fc.assert(
      fc.asyncProperty(key, digest, change, async (k, d, c) => {
        const account = privateKeyToAccount(bytesToHex(k));
        const sig = hexToBytes(await account.sign({ hash: d }));
        if (c.kind === 'flip') sig[c.at]! ^= 1 << c.bit;
        if (c.kind === 'v') sig[64] = c.v;
        if (c.kind === 'zero') sig.fill(0, c.part, c.part + 32);
        if (c.kind === 'highS') {
          // s' = n − s with the other parity: the same signature, malleated.
          const s = BigInt(bytesToHex(sig.subarray(32, 64)));
          sig.set(hexToBytes(`0x${(N - s).toString(16).padStart(64, '0')}`), 32);
          sig[64] = sig[64] === 27 ? 28 : 27;
        }
        const signature = bytesToHex(sig);
        expect(ours(d, signature)).toBe(await reference(d, signature));
      }),
      { numRuns: 300 },
    );
  });

  it('refuses what is not a 65-byte signature', () => {
    const d = keccak256('0x00');
    expect(() => recoverSigner(d, `0x${'11'.repeat(64)}`)).toThrow(/65 bytes/);
    expect(() => recoverSigner(d, `0x${'11'.repeat(64)}1f`)).toThrow(/v is 31/);
  });
});
