import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { canonicalJson, fromBase64, toBase64 } from './encoding.js';

/** The same value with every object's keys inserted in reverse order. */
function reversed(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(reversed);
  if (v && typeof v === 'object') {
    return Object.fromEntries(
      Object.keys(v)
        .reverse()
        .map((k) => [k, reversed((v as Record<string, unknown>)[k])]),
    );
  }
  return v;
}

describe('canonicalJson', () => {
  it('encodes the same value whatever order its keys were inserted in', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const c = canonicalJson(v);
        expect(JSON.parse(c)).toEqual(JSON.parse(JSON.stringify(v)));
        expect(canonicalJson(reversed(v))).toBe(c);
      }),
    );
  });

  it('does not depend on the order keys were inserted', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 0, y: 1 }], c: 'x' } })).toBe(canonicalJson({ a: { c: 'x', d: [1, { y: 1, z: 0 }] }, b: 1 }));
    expect(canonicalJson({ b: 1, a: 2 })).toBe('{"a":2,"b":1}');
  });

  it('drops undefined members and refuses non-finite numbers', () => {
    expect(canonicalJson({ a: undefined, b: [undefined] })).toBe('{"b":[null]}');
    expect(() => canonicalJson({ a: Number.NaN })).toThrow(/non-finite/);
  });
});

describe('base64', () => {
  it('round-trips any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        expect([...fromBase64(toBase64(b))]).toEqual([...b]);
      }),
    );
  });
});
