/**
 * The fuel cost table: what each WebAssembly instruction costs, in fuel units. Part of the
 * protocol in effect — price is per fuel unit and replicas must agree on fuel — so a change
 * here changes every module's `fuelUsed`; bump `FUEL_SCHEDULE_VERSION` when it does.
 *
 * One unit is about one simple instruction (~1 ns of optimised code on a current core). Costs
 * are static per instruction except where the work depends on an operand, which is then read
 * at run time (bulk memory, `memory.grow`, table bulk operations).
 *
 * | instruction | fuel |
 * |---|---|
 * | `block`, `loop`, `end`, `else`, `nop` (structure only) | 0 |
 * | every other instruction (numeric, memory, local/global, branch, select, SIMD, …) | 1 |
 * | integer `div`/`rem`, float `div`/`sqrt` (10–40 cycles where others take 1) | 4 |
 * | `call`, `return_call` of a function of the module | 2 |
 * | `call_indirect`, `return_call_indirect` | 3 |
 * | `call` of a host (WASI) function | 50 |
 * | `memory.fill`, `memory.copy`, `memory.init` | 1 + ⌊n / 64⌋ for n bytes |
 * | `memory.grow` | 1 + 1024 per page asked for (as much as filling the page) |
 * | `table.grow`, `table.fill`, `table.copy`, `table.init` | 1 + n for n elements |
 */

/** Version of this schedule; results metered under different versions are not comparable. */
export const FUEL_SCHEDULE_VERSION = 1;

export const FUEL_COSTS = {
  /** Any instruction not listed below. */
  instruction: 1,
  /** block, loop, end, else, nop: they compile to nothing. */
  structure: 0,
  /** Integer division and remainder, float division and square root (`SLOW_OPCODES`). */
  slow: 4,
  /** A direct call to a function defined in the module (also return_call). */
  call: 2,
  /** call_indirect (also return_call_indirect): a table load, a signature check, a call. */
  callIndirect: 3,
  /** A call to an imported (host) function: a WASI call leaves WebAssembly for JavaScript. */
  hostCall: 50,
  /** memory.fill/copy/init cost one more unit per this many bytes (a power of two). */
  bulkBytesPerFuel: 64,
  /** memory.grow costs this much more per page asked for (64 KiB, as if filled). */
  memoryGrowPerPage: 1024,
  /** table.grow/fill/copy/init cost this much more per element. */
  tableElement: 1,
} as const;

/** log2 of `bulkBytesPerFuel`, for the shift the instrumented code does. */
export const BULK_SHIFT = Math.log2(FUEL_COSTS.bulkBytesPerFuel);

/** The opcodes that cost `FUEL_COSTS.slow`: i32/i64 div_s, div_u, rem_s, rem_u; f32/f64 sqrt, div. */
export const SLOW_OPCODES: ReadonlySet<number> = new Set([0x6d, 0x6e, 0x6f, 0x70, 0x7f, 0x80, 0x81, 0x82, 0x91, 0x95, 0x9f, 0xa3]);
