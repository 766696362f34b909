/**
 * Stack effects of the instructions the decoder calls `Plain` (everything but control flow,
 * calls and the operand-dependent bulk operations): how many operands each pops and how many
 * results it pushes. Used to measure a function's operand stack (shape.ts) and to see which
 * instruction consumes a value (NaN canonicalization, instrument.ts). Checked against real
 * modules: the height at every function's end equals its result count.
 */
import type { Instr } from './decode.js';

/** Stack effects of the instructions the decoder calls `Plain`. */
export function plainEffect(ins: Instr, effect: (pops: number, pushes: number) => void): void {
  const c = ins.code;
  if (c === 0xfc) {
    const sub = ins.sub;
    if (sub <= 7) return effect(1, 1); // saturating truncation
    if (sub === 16) return effect(0, 1); // table.size
    return effect(0, 0); // data.drop, elem.drop (bulk forms are MemoryBulk / TableBulk)
  }
  if (c === 0xfd) return simdEffect(ins.sub, effect);
  if (c >= 0x41 && c <= 0x44) return effect(0, 1); // consts
  if (c >= 0x28 && c <= 0x35) return effect(1, 1); // loads
  if (c >= 0x36 && c <= 0x3e) return effect(2, 0); // stores
  if (c >= 0x45 && c <= 0xc4) return effect(NUMERIC_POPS[c - 0x45]!, 1);
  switch (c) {
    case 0x1a: // drop
      return effect(1, 0);
    case 0x1b: // select
    case 0x1c: // select t
      return effect(3, 1);
    case 0x20: // local.get
    case 0x23: // global.get
    case 0x3f: // memory.size
    case 0xd0: // ref.null
    case 0xd2: // ref.func
      return effect(0, 1);
    case 0x21: // local.set
    case 0x24: // global.set
      return effect(1, 0);
    case 0x22: // local.tee
    case 0x25: // table.get
    case 0xd1: // ref.is_null
      return effect(1, 1);
    case 0x26: // table.set
      return effect(2, 0);
  }
}

/** Operands of the numeric opcodes 0x45–0xc4 (each pushes one result): 1 unary, 2 binary. */
const NUMERIC_POPS: Uint8Array = (() => {
  const pops = new Uint8Array(0xc4 - 0x45 + 1).fill(1);
  const binary = [
    [0x46, 0x4f], // i32 comparisons
    [0x51, 0x5a], // i64 comparisons
    [0x5b, 0x66], // f32, f64 comparisons
    [0x6a, 0x78], // i32 arithmetic
    [0x7c, 0x8a], // i64 arithmetic
    [0x92, 0x98], // f32 arithmetic
    [0xa0, 0xa6], // f64 arithmetic
  ];
  for (const [from, to] of binary) for (let c = from!; c <= to!; c++) pops[c - 0x45] = 2;
  return pops;
})();

/** SIMD opcodes (0xfd prefix) that take one operand and push one result. */
const SIMD_UNARY = new Set<number>([
  ...range(0x00, 0x0a), // loads
  ...range(0x0f, 0x16), // splats, i8x16 extract lanes
  0x18,
  0x19,
  0x1b,
  0x1d,
  0x1f,
  0x21, // extract lanes
  0x4d,
  0x53, // v128.not, any_true
  ...range(0x5c, 0x64), // load zero, demote, promote, i8x16 abs neg popcnt all_true bitmask
  ...range(0x67, 0x6a), // f32x4 ceil floor trunc nearest
  0x74,
  0x75,
  0x7a, // f64x2 ceil floor trunc
  ...range(0x7c, 0x81), // extadd_pairwise, i16x8 abs neg
  0x83,
  0x84,
  ...range(0x87, 0x8a), // i16x8 all_true bitmask extends
  0x94, // f64x2.nearest
  0xa0,
  0xa1,
  0xa3,
  0xa4,
  ...range(0xa7, 0xaa), // i32x4 abs neg all_true bitmask extends
  0xc0,
  0xc1,
  0xc3,
  0xc4,
  ...range(0xc7, 0xca), // i64x2 abs neg all_true bitmask extends
  0xe0,
  0xe1,
  0xe3, // f32x4 abs neg sqrt
  0xec,
  0xed,
  0xef, // f64x2 abs neg sqrt
  ...range(0xf8, 0xff), // conversions
]);

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

function simdEffect(sub: number, effect: (pops: number, pushes: number) => void): void {
  if (SIMD_UNARY.has(sub)) return effect(1, 1);
  if (sub === 0x0c) return effect(0, 1); // v128.const
  if (sub === 0x0b || (sub >= 0x58 && sub <= 0x5b)) return effect(2, 0); // stores
  if (sub === 0x52) return effect(3, 1); // bitselect
  return effect(2, 1); // binary: arithmetic, comparisons, shifts, shuffle, replace lane, load lane
}
