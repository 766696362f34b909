/**
 * Signature recovery for the hot path of job submission: libsecp256k1 compiled to WebAssembly
 * (tiny-secp256k1, bitcoinjs) instead of viem's portable JavaScript — 0.25 ms instead of ~1.7 ms
 * per signature here, most of a one-task job's intake (bench/latency.bench.js).
 *
 * Same answers as viem's `recoverAddress` for every signature (a property test compares them,
 * malformed and malleated signatures included): `v` may be 27/28 or 0/1; r and s must be in
 * range and nonzero; a signature from which no key recovers throws.
 */
import { recover } from 'tiny-secp256k1';
import { getAddress, hexToBytes, keccak256, type Hex } from 'viem';
import type { RecoverSigner } from '@lode/protocol';

export const recoverSigner: RecoverSigner = (digest: Hex, signature: Hex): string => {
  const sig = hexToBytes(signature);
  if (sig.length !== 65) throw new Error(`A signature is 65 bytes (r ‖ s ‖ v); this one is ${sig.length}.`);
  const v = sig[64]!;
  if (v !== 27 && v !== 28 && v !== 0 && v !== 1) throw new Error(`Invalid signature: v is ${v}; expected 27, 28, 0 or 1.`);
  const recoveryId = v === 27 || v === 0 ? 0 : 1;
  const publicKey = recover(hexToBytes(digest), sig.subarray(0, 64), recoveryId, false);
  if (!publicKey) throw new Error('Invalid signature: no public key recovers from it.');
  // The address: the last 20 bytes of keccak256 over the uncompressed key without its 0x04 prefix.
  return getAddress(`0x${keccak256(publicKey.subarray(1)).slice(-40)}`);
};
