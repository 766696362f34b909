/**
 * NaN canonicalization: the one place where WebAssembly lets hardware differ. An instruction
 * that produces a NaN may give any NaN bit pattern — x86 gives 0xffc00000 for f32 0/0 and
 * propagates an operand's payload, ARM gives 0x7fc00000 — so a task that stores, prints or
 * reinterprets a computed NaN would give different bytes on different devices, and replicas
 * that disagree get an honest node slashed.
 *
 * The instrumenter follows every instruction that can produce a NaN with
 *   local.tee $t; <const canonical NaN>; local.get $t; local.get $t; <eq>; select
 * (for SIMD, `bitselect` lane by lane): a result equal to itself is kept bit for bit, any NaN
 * becomes the canonical positive quiet NaN — 0x7fc00000 (f32), 0x7ff8000000000000 (f64) — on
 * every engine and CPU. Instructions that only move or flip bits (abs, neg, copysign,
 * reinterpret, loads, stores, const, select, pmin/pmax, lane moves) are bit-exact by the
 * specification and stay as they are; so do conversions from integers (never NaN) and the
 * saturating/trapping truncations (integer results).
 *
 * A result whose only consumer cannot reveal a NaN's bits needs no canonicalization: an
 * instruction that is itself canonicalized (any NaN operand gives a NaN result, which is then
 * canonicalized), a comparison (a NaN compares unordered whatever its bits), a float-to-int
 * truncation (traps, or saturates to 0, whatever the bits), `drop`. The instrumenter leaves those
 * out where it sees the consumer in straight-line scalar code (`z = x * x + c`: only the sum is
 * canonicalized), and canonicalizes everything else — a value stored, kept in a local or global,
 * passed, returned, selected or bit-manipulated.
 *
 * What it costs is not charged as fuel: fuel counts the module's own instructions, so a module's
 * fuel is the same as before canonicalization existed.
 */

/** The type of the result to canonicalize: none, f32, f64, f32x4, f64x2. */
export const NanKind = { None: 0, F32: 1, F64: 2, F32x4: 3, F64x2: 4 } as const;
export type NanKind = (typeof NanKind)[keyof typeof NanKind];

/** f32 ceil floor trunc nearest sqrt add sub mul div min max (0x8d–0x97), f32.demote_f64 (0xb6). */
const F32_OPS = new Set([0x8d, 0x8e, 0x8f, 0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0xb6]);
/** f64 ceil floor trunc nearest sqrt add sub mul div min max (0x9b–0xa5), f64.promote_f32 (0xbb). */
const F64_OPS = new Set([0x9b, 0x9c, 0x9d, 0x9e, 0x9f, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xbb]);
/** 0xfd-prefixed: f32x4 ceil floor trunc nearest (0x67–0x6a), sqrt add sub mul div min max (0xe3–0xe9), f32x4.demote_f64x2_zero (0x5e). */
const F32X4_OPS = new Set([0x67, 0x68, 0x69, 0x6a, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0x5e]);
/** 0xfd-prefixed: f64x2 ceil floor trunc nearest (0x74 0x75 0x7a 0x94), sqrt add sub mul div min max (0xef–0xf5), f64x2.promote_low_f32x4 (0x5f). */
const F64X2_OPS = new Set([0x74, 0x75, 0x7a, 0x94, 0xef, 0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0x5f]);

/** Whether the instruction (opcode, and sub-opcode after a prefix) can produce a NaN, and of which type. */
export function nanKind(code: number, sub: number): NanKind {
  if (code === 0xfd) return F32X4_OPS.has(sub) ? NanKind.F32x4 : F64X2_OPS.has(sub) ? NanKind.F64x2 : NanKind.None;
  return F32_OPS.has(code) ? NanKind.F32 : F64_OPS.has(code) ? NanKind.F64 : NanKind.None;
}

/**
 * Whether a scalar instruction (not 0xfd) consumes its float operands without revealing a NaN's
 * bits: a canonicalized instruction, an f32/f64 comparison (0x5b–0x66), a trapping (0xa8–0xab,
 * 0xae–0xb1) or saturating (0xfc 0–7) float-to-int truncation, or drop (0x1a).
 */
export function hidesNaNBits(code: number, sub: number): boolean {
  if (code === 0xfc) return sub <= 7;
  return (
    F32_OPS.has(code) ||
    F64_OPS.has(code) ||
    (code >= 0x5b && code <= 0x66) ||
    (code >= 0xa8 && code <= 0xab) ||
    (code >= 0xae && code <= 0xb1) ||
    code === 0x1a
  );
}

/** The value type of each kind's scratch local. */
export const NAN_LOCAL_TYPE: Record<Exclude<NanKind, 0>, number> = { 1: 0x7d, 2: 0x7c, 3: 0x7b, 4: 0x7b };

const F32_NAN = [0x00, 0x00, 0xc0, 0x7f];
const F64_NAN = [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf8, 0x7f];

/**
 * The canonicalizing sequence for a result of `kind` on top of the stack, with `local` (its
 * LEB128 index) a scratch local of the kind's type. Stack: [x] → [x == x ? x : canonical NaN].
 */
export function canonicalize(kind: Exclude<NanKind, 0>, local: number[]): number[] {
  const tee = [0x22, ...local];
  const get = [0x20, ...local];
  switch (kind) {
    case NanKind.F32:
      return [...tee, 0x43, ...F32_NAN, ...get, ...get, 0x5b, 0x1b]; // f32.const; f32.eq; select
    case NanKind.F64:
      return [...tee, 0x44, ...F64_NAN, ...get, ...get, 0x61, 0x1b]; // f64.const; f64.eq; select
    case NanKind.F32x4: // v128.const; f32x4.eq; v128.bitselect
      return [...tee, 0xfd, 0x0c, ...F32_NAN, ...F32_NAN, ...F32_NAN, ...F32_NAN, ...get, ...get, 0xfd, 0x41, 0xfd, 0x52];
    case NanKind.F64x2: // v128.const; f64x2.eq; v128.bitselect
      return [...tee, 0xfd, 0x0c, ...F64_NAN, ...F64_NAN, ...get, ...get, 0xfd, 0x47, 0xfd, 0x52];
  }
}
