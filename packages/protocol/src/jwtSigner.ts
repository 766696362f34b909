/**
 * A did-jwt signer backed by a viem account, for JWTs whose issuer is a `did:pkh` (an Ethereum
 * address): `ES256K-R`, the recoverable form of ES256K.
 *
 * Why ES256K-R: a did:pkh document publishes only an address (a `blockchainAccountId`), never a
 * public key, so a verifier cannot check a plain ES256K signature against it; it recovers the
 * public key from the signature (the recovery byte says which of the two candidate keys) and
 * compares that key's address with the DID's. This is how did-jwt verifies `ES256K-R`.
 *
 * The encoding matches did-jwt's own `ES256KSigner(key, true)` byte for byte: the signature is
 * over `sha256(signingInput)` (did-jwt hashes the `header.payload` string as UTF-8), and is
 * `base64url(r ‖ s ‖ recoveryParam)` — 32 + 32 + 1 bytes, recoveryParam 0 or 1 (not 27/28).
 * viem signs low-s and deterministically (RFC 6979), as noble does under did-jwt, so both produce
 * the same string for the same key and input.
 */
import { sha256 } from '@noble/hashes/sha2';
import { bytesToHex, hexToBytes, pad, parseSignature, type Hex, type LocalAccount } from 'viem';
import { toBase64url, utf8 } from './encoding.js';

/** What did-jwt calls a `Signer`: data in, a base64url signature out. */
export type JwtSigner = (data: string | Uint8Array) => Promise<string>;

/** The account a JWT is signed with: a local key (one that signs raw 32-byte hashes). */
export type JwtAccount = Pick<LocalAccount, 'address' | 'sign'>;

/** r ‖ s ‖ recoveryParam of a viem signature (65 bytes, v as 27/28 or yParity). */
export function recoverableSignatureBytes(signature: Hex): Uint8Array {
  const { r, s, yParity } = parseSignature(signature);
  const out = new Uint8Array(65);
  out.set(hexToBytes(pad(r, { size: 32 })), 0);
  out.set(hexToBytes(pad(s, { size: 32 })), 32);
  out[64] = yParity;
  return out;
}

/**
 * An ES256K-R signer for did-jwt that signs with `account.sign({ hash })` (viem's raw secp256k1
 * signature of a 32-byte hash). Throws a TypeError when the account cannot sign raw hashes (a
 * JSON-RPC or smart-contract account): issue credentials with a local key.
 */
export function es256kRecoverableSigner(account: JwtAccount): JwtSigner {
  const sign = account.sign;
  if (!sign) throw new TypeError(`Account ${account.address} cannot sign a raw hash: ES256K-R JWTs need a local key (privateKeyToAccount or a keystore).`);
  return async (data) => {
    const digest = sha256(typeof data === 'string' ? utf8(data) : data);
    return toBase64url(recoverableSignatureBytes(await sign({ hash: bytesToHex(digest) })));
  };
}
