/** Hand-written hostile and test modules for the attack suite, compiled from WebAssembly text with wabt. */
let wabtP;

export async function wat(source) {
  wabtP ??= import('wabt').then((m) => m.default());
  const wabt = await wabtP;
  const m = wabt.parseWat('attack.wat', source, { reference_types: true, bulk_memory: true });
  try {
    return new Uint8Array(m.toBinary({}).buffer);
  } finally {
    m.destroy();
  }
}

const START = '(memory (export "memory") 1 1)';

/** Exits with proc_exit(-1): WASI exit code 4294967295. */
export const EXIT_MINUS_ONE = `(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  ${START}
  (func (export "_start") (call $exit (i32.const -1))))`;

/** `count` tables of `size` entries each: gigabytes before any code runs, unless tables are capped. */
export const TABLES = (count, size) => `(module
  ${Array.from({ length: count }, () => `(table ${size} funcref)`).join('\n  ')}
  ${START}
  (func (export "_start")))`;

/** A start function that never returns. */
export const START_LOOP = `(module ${START} (func $s (loop (br 0))) (start $s) (func (export "_start")))`;

/** memory.grow until refused, and table.grow likewise. */
export const GROW_LOOP = `(module
  (memory (export "memory") 1)
  (table 1 funcref)
  (func (export "_start")
    (loop
      (drop (memory.grow (i32.const 16)))
      (drop (table.grow (ref.null func) (i32.const 1000000)))
      (br 0))))`;

/** 100,000 functions. */
export const MANY_FUNCTIONS = `(module ${START} ${Array.from({ length: 100_000 }, () => '(func)').join(' ')} (func (export "_start")))`;

/** Writes the bits of NaNs computed as x86 and ARM differ on (0/0, sqrt(-1), inf − inf) to stdout as hex. */
export const NAN_BITS = `(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1 1)
  (data (i32.const 256) "0123456789abcdef")
  (func $hex32 (param $v i32) (param $at i32)
    (local $i i32)
    (loop
      (i32.store8 (i32.add (local.get $at) (local.get $i))
        (i32.load8_u (i32.add (i32.const 256) (i32.and (i32.shr_u (local.get $v) (i32.sub (i32.const 28) (i32.shl (local.get $i) (i32.const 2)))) (i32.const 15)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if 0 (i32.lt_u (local.get $i) (i32.const 8)))))
  (func (export "_start")
    (local $z f32)
    (call $hex32 (i32.reinterpret_f32 (f32.div (local.get $z) (local.get $z))) (i32.const 0))
    (i32.store8 (i32.const 8) (i32.const 32))
    (call $hex32 (i32.reinterpret_f32 (f32.sqrt (f32.const -1))) (i32.const 9))
    (i32.store8 (i32.const 17) (i32.const 32))
    (call $hex32 (i32.reinterpret_f32 (f32.sub (f32.const inf) (f32.const inf))) (i32.const 18))
    (i32.store8 (i32.const 26) (i32.const 10))
    (i32.store (i32.const 512) (i32.const 0)) (i32.store (i32.const 516) (i32.const 27))
    (drop (call $fd_write (i32.const 1) (i32.const 512) (i32.const 1) (i32.const 520)))))`;
