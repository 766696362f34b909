/**
 * A WASI command that computes NaNs in every way WebAssembly can (each float instruction that
 * may produce one, scalar and SIMD, from zeros, infinities, quiet and signalling NaNs with
 * payloads and either sign, loaded from memory so that no compiler folds them), plus the
 * bit-exact instructions that must keep a NaN's bits, and writes every result's bit pattern to
 * stdout. `NAN_CASES` holds what each must be, written from the IEEE 754 encodings by hand —
 * not from running anything: canonical results are 0x7fc00000 / 0x7ff8000000000000.
 *
 * Used by the sandbox's tests (Node pool and inline) and by the browser test
 * (test/e2e/sandbox-hostile-browser.test.ts): identical bytes on x86, ARM and in browsers.
 */

export type NanCase = {
  label: string;
  /** Result type; v128 results are written as lanes of `lane`. */
  type: 'f32' | 'f64' | 'v128';
  lane?: 'f32' | 'f64';
  /** A WAT expression; `(L32 n)` / `(L64 n)` stand for loads of the n-th f32 / f64 constant below. */
  expr: string;
  /** Expected bits, hex, one entry per lane (one for scalars). */
  bits: string[];
  /** Bit-exact instructions only (no NaN made): the same bits with canonicalization or without. */
  exact?: true;
};

/** The constants in memory, as bit patterns: f32 at 16 + 4n, f64 at 64 + 8n. */
const F32 = ['00000000', '7f800000', 'bf800000', '7fc12345', 'ffd54321', '7f800001', 'ff812345', '3f800000', 'ff800000'];
const F64 = [
  '0000000000000000',
  '7ff0000000000000',
  'bff0000000000000',
  '7ff8123456789abc',
  'fff8abcdef012345',
  '7ff0000000000001',
  'fff0000000001234',
  '3ff0000000000000',
  'fff0000000000000',
];
const [ZERO, INF, MINUS_ONE, QNAN, NEG_QNAN, SNAN, NEG_SNAN, ONE, NEG_INF] = [0, 1, 2, 3, 4, 5, 6, 7, 8];

const C32 = '7fc00000';
const C64 = '7ff8000000000000';
const l32 = (n: number) => `(f32.load (i32.const ${16 + 4 * n}))`;
const l64 = (n: number) => `(f64.load (i32.const ${64 + 8 * n}))`;
const s32 = (n: number) => `(f32x4.splat ${l32(n)})`;
const s64 = (n: number) => `(f64x2.splat ${l64(n)})`;

export const NAN_CASES: NanCase[] = [
  // ---- produce NaNs: canonical
  { label: 'f32 0/0', type: 'f32', expr: `(f32.div ${l32(ZERO)} ${l32(ZERO)})`, bits: [C32] },
  { label: 'f32 sqrt(-1)', type: 'f32', expr: `(f32.sqrt ${l32(MINUS_ONE)})`, bits: [C32] },
  { label: 'f32 inf - inf', type: 'f32', expr: `(f32.sub ${l32(INF)} ${l32(INF)})`, bits: [C32] },
  { label: 'f32 0 * inf', type: 'f32', expr: `(f32.mul ${l32(ZERO)} ${l32(INF)})`, bits: [C32] },
  { label: 'f32 inf + -inf', type: 'f32', expr: `(f32.add ${l32(INF)} ${l32(NEG_INF)})`, bits: [C32] },
  { label: 'f32 qNaN(payload) + 1', type: 'f32', expr: `(f32.add ${l32(QNAN)} ${l32(ONE)})`, bits: [C32] },
  { label: 'f32 1 - -qNaN(payload)', type: 'f32', expr: `(f32.sub ${l32(ONE)} ${l32(NEG_QNAN)})`, bits: [C32] },
  { label: 'f32 sNaN * 1', type: 'f32', expr: `(f32.mul ${l32(SNAN)} ${l32(ONE)})`, bits: [C32] },
  { label: 'f32 -sNaN / 1', type: 'f32', expr: `(f32.div ${l32(NEG_SNAN)} ${l32(ONE)})`, bits: [C32] },
  { label: 'f32 min(qNaN, 1)', type: 'f32', expr: `(f32.min ${l32(QNAN)} ${l32(ONE)})`, bits: [C32] },
  { label: 'f32 max(1, -sNaN)', type: 'f32', expr: `(f32.max ${l32(ONE)} ${l32(NEG_SNAN)})`, bits: [C32] },
  { label: 'f32 ceil(-qNaN)', type: 'f32', expr: `(f32.ceil ${l32(NEG_QNAN)})`, bits: [C32] },
  { label: 'f32 floor(sNaN)', type: 'f32', expr: `(f32.floor ${l32(SNAN)})`, bits: [C32] },
  { label: 'f32 trunc(-sNaN)', type: 'f32', expr: `(f32.trunc ${l32(NEG_SNAN)})`, bits: [C32] },
  { label: 'f32 nearest(qNaN)', type: 'f32', expr: `(f32.nearest ${l32(QNAN)})`, bits: [C32] },
  { label: 'f32 sqrt(-sNaN)', type: 'f32', expr: `(f32.sqrt ${l32(NEG_SNAN)})`, bits: [C32] },
  { label: 'f32 demote(f64 -qNaN(payload))', type: 'f32', expr: `(f32.demote_f64 ${l64(NEG_QNAN)})`, bits: [C32] },
  { label: 'f32 demote(f64 sNaN)', type: 'f32', expr: `(f32.demote_f64 ${l64(SNAN)})`, bits: [C32] },
  { label: 'f64 0/0', type: 'f64', expr: `(f64.div ${l64(ZERO)} ${l64(ZERO)})`, bits: [C64] },
  { label: 'f64 sqrt(-1)', type: 'f64', expr: `(f64.sqrt ${l64(MINUS_ONE)})`, bits: [C64] },
  { label: 'f64 inf - inf', type: 'f64', expr: `(f64.sub ${l64(INF)} ${l64(INF)})`, bits: [C64] },
  { label: 'f64 0 * -inf', type: 'f64', expr: `(f64.mul ${l64(ZERO)} ${l64(NEG_INF)})`, bits: [C64] },
  { label: 'f64 -inf + inf', type: 'f64', expr: `(f64.add ${l64(NEG_INF)} ${l64(INF)})`, bits: [C64] },
  { label: 'f64 qNaN(payload) + 1', type: 'f64', expr: `(f64.add ${l64(QNAN)} ${l64(ONE)})`, bits: [C64] },
  { label: 'f64 -qNaN(payload) * 1', type: 'f64', expr: `(f64.mul ${l64(NEG_QNAN)} ${l64(ONE)})`, bits: [C64] },
  { label: 'f64 sNaN - 1', type: 'f64', expr: `(f64.sub ${l64(SNAN)} ${l64(ONE)})`, bits: [C64] },
  { label: 'f64 1 / -sNaN', type: 'f64', expr: `(f64.div ${l64(ONE)} ${l64(NEG_SNAN)})`, bits: [C64] },
  { label: 'f64 min(1, -qNaN)', type: 'f64', expr: `(f64.min ${l64(ONE)} ${l64(NEG_QNAN)})`, bits: [C64] },
  { label: 'f64 max(sNaN, 1)', type: 'f64', expr: `(f64.max ${l64(SNAN)} ${l64(ONE)})`, bits: [C64] },
  { label: 'f64 ceil(qNaN)', type: 'f64', expr: `(f64.ceil ${l64(QNAN)})`, bits: [C64] },
  { label: 'f64 floor(-sNaN)', type: 'f64', expr: `(f64.floor ${l64(NEG_SNAN)})`, bits: [C64] },
  { label: 'f64 trunc(-qNaN)', type: 'f64', expr: `(f64.trunc ${l64(NEG_QNAN)})`, bits: [C64] },
  { label: 'f64 nearest(sNaN)', type: 'f64', expr: `(f64.nearest ${l64(SNAN)})`, bits: [C64] },
  { label: 'f64 promote(f32 -qNaN(payload))', type: 'f64', expr: `(f64.promote_f32 ${l32(NEG_QNAN)})`, bits: [C64] },
  { label: 'f64 promote(f32 sNaN)', type: 'f64', expr: `(f64.promote_f32 ${l32(SNAN)})`, bits: [C64] },
  { label: 'f32x4 0/0', type: 'v128', lane: 'f32', expr: `(f32x4.div ${s32(ZERO)} ${s32(ZERO)})`, bits: [C32, C32, C32, C32] },
  {
    label: 'f32x4 [1,2,3,qNaN] + 1 (NaN lanes only)',
    type: 'v128',
    lane: 'f32',
    expr: `(f32x4.add (f32x4.replace_lane 3 (v128.const f32x4 1 2 3 4) ${l32(QNAN)}) ${s32(ONE)})`,
    bits: ['40000000', '40400000', '40800000', C32],
  },
  { label: 'f32x4 sqrt(-1)', type: 'v128', lane: 'f32', expr: `(f32x4.sqrt ${s32(MINUS_ONE)})`, bits: [C32, C32, C32, C32] },
  { label: 'f32x4 min(-sNaN, 1)', type: 'v128', lane: 'f32', expr: `(f32x4.min ${s32(NEG_SNAN)} ${s32(ONE)})`, bits: [C32, C32, C32, C32] },
  { label: 'f32x4 nearest(-qNaN)', type: 'v128', lane: 'f32', expr: `(f32x4.nearest ${s32(NEG_QNAN)})`, bits: [C32, C32, C32, C32] },
  {
    label: 'f32x4 demote([-qNaN, 1])',
    type: 'v128',
    lane: 'f32',
    expr: `(f32x4.demote_f64x2_zero (f64x2.replace_lane 1 ${s64(NEG_QNAN)} ${l64(ONE)}))`,
    bits: [C32, '3f800000', '00000000', '00000000'],
  },
  { label: 'f64x2 inf - inf', type: 'v128', lane: 'f64', expr: `(f64x2.sub ${s64(INF)} ${s64(INF)})`, bits: [C64, C64] },
  {
    label: 'f64x2 sqrt([-1, 4])',
    type: 'v128',
    lane: 'f64',
    expr: `(f64x2.sqrt (f64x2.replace_lane 1 ${s64(MINUS_ONE)} (f64.const 4)))`,
    bits: [C64, '4000000000000000'],
  },
  { label: 'f64x2 max(sNaN, 1)', type: 'v128', lane: 'f64', expr: `(f64x2.max ${s64(SNAN)} ${s64(ONE)})`, bits: [C64, C64] },
  { label: 'f64x2 floor(-sNaN)', type: 'v128', lane: 'f64', expr: `(f64x2.floor ${s64(NEG_SNAN)})`, bits: [C64, C64] },
  {
    label: 'f64x2 promote([sNaN, -2])',
    type: 'v128',
    lane: 'f64',
    expr: `(f64x2.promote_low_f32x4 (f32x4.replace_lane 1 ${s32(SNAN)} (f32.const -2)))`,
    bits: [C64, 'c000000000000000'],
  },
  // ---- bit-exact: a NaN's bits are kept
  { label: 'f32 neg(0/0): sign of the canonical NaN flipped', type: 'f32', expr: `(f32.neg (f32.div ${l32(ZERO)} ${l32(ZERO)}))`, bits: ['ffc00000'] },
  { exact: true, label: 'f32 abs(-qNaN(payload))', type: 'f32', expr: `(f32.abs ${l32(NEG_QNAN)})`, bits: ['7fd54321'] },
  { exact: true, label: 'f32 copysign(qNaN(payload), -1)', type: 'f32', expr: `(f32.copysign ${l32(QNAN)} ${l32(MINUS_ONE)})`, bits: ['ffc12345'] },
  { exact: true, label: 'f32 load(-sNaN)', type: 'f32', expr: l32(NEG_SNAN), bits: ['ff812345'] },
  { exact: true, label: 'f32 reinterpret(0x7fa00001)', type: 'f32', expr: '(f32.reinterpret_i32 (i32.const 0x7fa00001))', bits: ['7fa00001'] },
  { exact: true, label: 'f32 select(-qNaN, 1)', type: 'f32', expr: `(select ${l32(NEG_QNAN)} ${l32(ONE)} (i32.const 1))`, bits: ['ffd54321'] },
  { label: 'f64 neg(0/0)', type: 'f64', expr: `(f64.neg (f64.div ${l64(ZERO)} ${l64(ZERO)}))`, bits: ['fff8000000000000'] },
  { exact: true, label: 'f64 abs(-sNaN)', type: 'f64', expr: `(f64.abs ${l64(NEG_SNAN)})`, bits: ['7ff0000000001234'] },
  { exact: true, label: 'f64 copysign(-qNaN(payload), 1)', type: 'f64', expr: `(f64.copysign ${l64(NEG_QNAN)} ${l64(ONE)})`, bits: ['7ff8abcdef012345'] },
  { exact: true, label: 'f64 load(sNaN)', type: 'f64', expr: l64(SNAN), bits: ['7ff0000000000001'] },
  {
    exact: true,
    label: 'f64 reinterpret(0xfff4000000000002)',
    type: 'f64',
    expr: '(f64.reinterpret_i64 (i64.const 0xfff4000000000002))',
    bits: ['fff4000000000002'],
  },
  {
    label: 'f32x4 neg(0/0)',
    type: 'v128',
    lane: 'f32',
    expr: `(f32x4.neg (f32x4.div ${s32(ZERO)} ${s32(ZERO)}))`,
    bits: ['ffc00000', 'ffc00000', 'ffc00000', 'ffc00000'],
  },
  {
    exact: true,
    label: 'f32x4 pmin(qNaN(payload), 1): a bit-exact select',
    type: 'v128',
    lane: 'f32',
    expr: `(f32x4.pmin ${s32(QNAN)} ${s32(ONE)})`,
    bits: ['7fc12345', '7fc12345', '7fc12345', '7fc12345'],
  },
  {
    exact: true,
    label: 'f64x2 abs(-qNaN(payload))',
    type: 'v128',
    lane: 'f64',
    expr: `(f64x2.abs ${s64(NEG_QNAN)})`,
    bits: ['7ff8abcdef012345', '7ff8abcdef012345'],
  },
];

const SIZE = { f32: 4, f64: 8, v128: 16 } as const;
const OUT = 1024;

/** Little-endian bytes of a hex bit pattern, as a WAT string escape. */
const le = (hex: string) =>
  hex
    .match(/../g)!
    .reverse()
    .map((b) => `\\${b}`)
    .join('');

/** The WAT source of the NaN module: each case's result stored at 1024 + offset, then one fd_write. */
export function nanModuleWat(): string {
  let at = OUT;
  const stores = NAN_CASES.map((c) => {
    const store = `(${c.type}.store (i32.const ${at}) ${c.expr})`;
    at += SIZE[c.type];
    return store;
  });
  return `(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "${F32.map(le).join('')}")
  (data (i32.const 64) "${F64.map(le).join('')}")
  (func (export "_start")
    ${stores.join('\n    ')}
    (i32.store (i32.const 0) (i32.const ${OUT}))
    (i32.store (i32.const 4) (i32.const ${at - OUT}))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))`;
}

/** The bits of each case's result in the module's output, as hex lanes, by label. */
export function readNanOutput(stdout: Uint8Array): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  let at = 0;
  const hex = (from: number, n: number) =>
    Array.from(stdout.subarray(from, from + n))
      .reverse()
      .map((b) => b.toString(16).padStart(2, '0'))
      .join('');
  for (const c of NAN_CASES) {
    const lane = c.type === 'v128' ? SIZE[c.lane!] : SIZE[c.type];
    const lanes: string[] = [];
    for (let i = 0; i < SIZE[c.type]; i += lane) lanes.push(hex(at + i, lane));
    out[c.label] = lanes;
    at += SIZE[c.type];
  }
  return out;
}

/** What `readNanOutput` must give: each case's expected bits. */
export function expectedNanOutput(): Record<string, string[]> {
  return Object.fromEntries(NAN_CASES.map((c) => [c.label, c.bits]));
}
