/**
 * Byte helpers shared by Node and the browser (no `node:` imports).
 */
import { sha256 } from '@noble/hashes/sha2';
import { bytesToHex } from '@noble/hashes/utils';

const encoder = new TextEncoder();

/** sha256 of bytes (or of a string's UTF-8), as 64 lowercase hex digits. */
export function sha256Hex(data: Uint8Array | string): string {
  return bytesToHex(sha256(typeof data === 'string' ? encoder.encode(data) : data));
}

export function utf8(s: string): Uint8Array {
  return encoder.encode(s);
}

const decoder = new TextDecoder();
export function fromUtf8(b: Uint8Array): string {
  return decoder.decode(b);
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const hasBuffer = typeof (globalThis as { Buffer?: unknown }).Buffer === 'function';

/** Standard base64 of bytes. Uses Buffer on Node (fast), a portable loop elsewhere. */
export function toBase64(b: Uint8Array): string {
  if (hasBuffer) return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
  let out = '';
  let i = 0;
  for (; i + 2 < b.length; i += 3) {
    const n = (b[i]! << 16) | (b[i + 1]! << 8) | b[i + 2]!;
    out += B64[n >> 18]! + B64[(n >> 12) & 63]! + B64[(n >> 6) & 63]! + B64[n & 63]!;
  }
  if (i < b.length) {
    const n = (b[i]! << 16) | ((b[i + 1] ?? 0) << 8);
    out += `${B64[n >> 18]! + B64[(n >> 12) & 63]! + (i + 1 < b.length ? B64[(n >> 6) & 63]! : '=')}=`;
  }
  return out;
}

/** Bytes of standard base64. Throws on characters outside the alphabet. */
export function fromBase64(s: string): Uint8Array {
  if (hasBuffer) {
    const buf = Buffer.from(s, 'base64');
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  const clean = s.replace(/=+$/, '');
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let bits = 0;
  let acc = 0;
  let j = 0;
  for (const ch of clean) {
    const v = B64.indexOf(ch);
    if (v < 0) throw new Error(`invalid base64 character ${JSON.stringify(ch)}`);
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[j++] = (acc >> bits) & 0xff;
    }
  }
  return out;
}

/** base64url without padding (RFC 7515 §2), as JWTs carry bytes. */
export function toBase64url(b: Uint8Array): string {
  return toBase64(b).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** Bytes of base64url (padded or not). Throws on characters outside the alphabet where `fromBase64` does. */
export function fromBase64url(s: string): Uint8Array {
  return fromBase64(s.replace(/-/g, '+').replace(/_/g, '/'));
}

/**
 * Canonical JSON: object keys sorted, no whitespace, `undefined` members dropped.
 * Two parties that agree on a value agree on these bytes, so hashes and signatures match.
 * Written to one parts array (no intermediate strings per object): a 20,000-task JobSpec is
 * hashed on every submission, on both sides.
 */
export function canonicalJson(value: unknown): string {
  const out: string[] = [];
  writeCanonical(value, out);
  return out.join('');
}

function writeCanonical(value: unknown, out: string[]): void {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new Error('canonicalJson: non-finite number');
    out.push(typeof value === 'bigint' ? JSON.stringify(value.toString()) : JSON.stringify(value));
    return;
  }
  if (Array.isArray(value)) {
    out.push('[');
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out.push(',');
      const v = value[i];
      if (v === undefined) out.push('null');
      else writeCanonical(v, out);
    }
    out.push(']');
    return;
  }
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).sort();
  out.push('{');
  let first = true;
  for (const k of keys) {
    const v = obj[k];
    if (v === undefined) continue;
    if (!first) out.push(',');
    first = false;
    out.push(JSON.stringify(k), ':');
    writeCanonical(v, out);
  }
  out.push('}');
}
