/**
 * The instruction decoder the instrumenter walks function bodies with: for each instruction, its
 * extent in the body and what it means for control flow and fuel (`Op`). It knows the immediates
 * of the MVP plus the extensions compilers emit for WASI (multi-value, bulk memory, sign-ext,
 * non-trapping float-to-int, reference types, tail calls, fixed-width SIMD) and refuses anything
 * else (`UnsupportedError`): an instruction whose length it does not know could not be metered.
 */
import type { Reader } from '../binary.js';

/** What an instruction means to the instrumenter. */
export const Op = {
  /** Straight-line: no effect on control flow. */
  Plain: 0,
  /** Compiles to nothing: nop. */
  Nop: 1,
  Block: 2,
  Loop: 3,
  If: 4,
  Else: 5,
  End: 6,
  /** br: `arg` is the label depth. */
  Br: 7,
  /** br_if: `arg` is the label depth. */
  BrIf: 8,
  /** br_table: its label depths are in `targets`. */
  BrTable: 9,
  Return: 10,
  Unreachable: 11,
  /** call: `arg` is the function index. */
  Call: 12,
  CallIndirect: 13,
  /** return_call: `arg` is the function index. */
  ReturnCall: 14,
  ReturnCallIndirect: 15,
  /** memory.grow: pages on top of the stack (i32). */
  MemoryGrow: 16,
  /** memory.fill/copy/init: byte count on top of the stack (i32). */
  MemoryBulk: 17,
  /** table.grow/fill/copy/init: element count on top of the stack (i32). */
  TableBulk: 18,
} as const;
export type Op = (typeof Op)[keyof typeof Op];

/** A feature or encoding the instrumenter cannot meter; becomes InvalidModuleError. */
export class UnsupportedError extends Error {
  override name = 'UnsupportedError';
}

/** The value types of the MVP, SIMD and reference types: each is one byte. */
const VALTYPES = new Set([0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f]);

export function valtype(r: Reader): number {
  const t = r.byte();
  if (!VALTYPES.has(t)) {
    throw new UnsupportedError(`value type 0x${t.toString(16)} (typed function references or GC), which fuel metering does not support`);
  }
  return t;
}

/** Skips one LEB128 number (signed or unsigned) of at most `maxBytes` bytes. */
export function skipLeb(r: Reader, maxBytes = 10): void {
  for (let i = 0; i < maxBytes; i++) if ((r.byte() & 0x80) === 0) return;
  throw new RangeError('LEB128 too long');
}

/** No type index: an empty block type (0x40), in `Instr.type`. */
export const BLOCK_EMPTY = -1;
/** No type index: a block type of one value type, in `Instr.type`. */
export const BLOCK_VALUE = -2;

/**
 * Block type: empty (0x40), one value type, or a type index (an s33, non-negative). Returns
 * BLOCK_EMPTY, BLOCK_VALUE or the type index.
 */
function blockType(r: Reader): number {
  const b = r.bytes[r.pos];
  if (b === undefined) throw new RangeError('unexpected end of module');
  if (b === 0x40) {
    r.pos++;
    return BLOCK_EMPTY;
  }
  if (VALTYPES.has(b)) {
    r.pos++;
    return BLOCK_VALUE;
  }
  if (b < 0x40 || b >= 0x80) return r.u32(); // a non-negative s33 below 2^32 reads as a u32
  throw new UnsupportedError(`block type 0x${b.toString(16)} (typed function references or GC), which fuel metering does not support`);
}

/** A memory access's alignment and offset; refuses the multi-memory form (a memory index). */
function memarg(r: Reader): void {
  const align = r.u32();
  if (align & 0x40) throw new UnsupportedError('an instruction on a second memory (multi-memory), which fuel metering does not support');
  skipLeb(r, 5);
}

/** A memory index that must be 0 (single memory). */
function memidx(r: Reader): void {
  if (r.u32() !== 0) throw new UnsupportedError('an instruction on a second memory (multi-memory), which fuel metering does not support');
}

const hex = (n: number) => `0x${n.toString(16).padStart(2, '0')}`;

/** One decoded instruction. The decoder reuses one object; copy what you keep. */
export interface Instr {
  op: Op;
  /** The opcode byte (the prefix byte for 0xfc/0xfd instructions). */
  code: number;
  /** Label depth (br, br_if) or function index (call, return_call); 0 otherwise. */
  arg: number;
  /** br_table's label depths, default last. */
  targets: number[] | undefined;
  /** The sub-opcode of a 0xfc or 0xfd instruction; 0 otherwise. */
  sub: number;
  /** Block, loop, if: BLOCK_EMPTY, BLOCK_VALUE or a type index. call_indirect: the type index. */
  type: number;
}

/**
 * Decodes the instruction at `r.pos` into `out` and leaves `r.pos` just past it.
 *
 * @throws UnsupportedError for an instruction of an extension the instrumenter does not meter.
 * @throws RangeError for truncated input.
 */
export function decode(r: Reader, out: Instr): void {
  const code = r.byte();
  out.code = code;
  out.arg = 0;
  out.targets = undefined;
  out.op = Op.Plain;
  out.sub = 0;
  if (code >= 0x45 && code <= 0xc4) return; // numeric, incl. sign-extension: no immediates
  switch (code) {
    case 0x00:
      out.op = Op.Unreachable;
      return;
    case 0x01:
      out.op = Op.Nop;
      return;
    case 0x02:
      out.op = Op.Block;
      out.type = blockType(r);
      return;
    case 0x03:
      out.op = Op.Loop;
      out.type = blockType(r);
      return;
    case 0x04:
      out.op = Op.If;
      out.type = blockType(r);
      return;
    case 0x05:
      out.op = Op.Else;
      return;
    case 0x0b:
      out.op = Op.End;
      return;
    case 0x0c:
      out.op = Op.Br;
      out.arg = r.u32();
      return;
    case 0x0d:
      out.op = Op.BrIf;
      out.arg = r.u32();
      return;
    case 0x0e: {
      out.op = Op.BrTable;
      const n = r.u32();
      if (n > r.bytes.length - r.pos) throw new RangeError('br_table longer than the module');
      const targets: number[] = [];
      for (let i = 0; i <= n; i++) targets.push(r.u32());
      out.targets = targets;
      return;
    }
    case 0x0f:
      out.op = Op.Return;
      return;
    case 0x10:
      out.op = Op.Call;
      out.arg = r.u32();
      return;
    case 0x11:
      out.op = Op.CallIndirect;
      out.type = r.u32();
      r.u32();
      return;
    case 0x12:
      out.op = Op.ReturnCall;
      out.arg = r.u32();
      return;
    case 0x13:
      out.op = Op.ReturnCallIndirect;
      out.type = r.u32();
      r.u32();
      return;
    case 0x1a: // drop
    case 0x1b: // select
    case 0xd1: // ref.is_null
      return;
    case 0x1c: // select t*
      for (let n = r.u32(); n > 0; n--) valtype(r);
      return;
    case 0x20: // local.get/set/tee, global.get/set, table.get/set
    case 0x21:
    case 0x22:
    case 0x23:
    case 0x24:
    case 0x25:
    case 0x26:
    case 0xd2: // ref.func
      r.u32();
      return;
    case 0x3f: // memory.size
      return memidx(r);
    case 0x40:
      out.op = Op.MemoryGrow;
      return memidx(r);
    case 0x41:
      return skipLeb(r, 5);
    case 0x42:
      return skipLeb(r, 10);
    case 0x43:
      return r.skip(4);
    case 0x44:
      return r.skip(8);
    case 0xd0: {
      const heap = r.byte();
      if (heap !== 0x70 && heap !== 0x6f) throw new UnsupportedError(`ref.null of heap type ${hex(heap)} (GC), which fuel metering does not support`);
      return;
    }
    case 0xfc:
      return prefixFC(r, out);
    case 0xfd:
      return prefixSIMD(r, out);
  }
  if (code >= 0x28 && code <= 0x3e) return memarg(r); // loads and stores
  throw new UnsupportedError(unsupported(code));
}

function unsupported(code: number): string {
  if ((code >= 0x06 && code <= 0x0a) || code === 0x18 || code === 0x19 || code === 0x1f) {
    return `an exception-handling instruction (${hex(code)}), which fuel metering does not support; build without exceptions (e.g. -fno-exceptions, panic=abort)`;
  }
  if (code === 0xfe) return 'a threads/atomics instruction (0xfe prefix); the sandbox runs single-threaded modules; build without atomics';
  if (code === 0xfb || (code >= 0xd3 && code <= 0xd6) || code === 0x14 || code === 0x15) {
    return `a GC or typed-function-reference instruction (${hex(code)}), which fuel metering does not support`;
  }
  return `an unknown instruction (opcode ${hex(code)})`;
}

function prefixFC(r: Reader, out: Instr): void {
  const sub = r.u32();
  out.sub = sub;
  if (sub <= 7) return; // saturating float-to-int
  switch (sub) {
    case 8: // memory.init data mem
      r.u32();
      memidx(r);
      out.op = Op.MemoryBulk;
      return;
    case 9: // data.drop
    case 13: // elem.drop
    case 16: // table.size
      r.u32();
      return;
    case 10: // memory.copy mem mem
      memidx(r);
      memidx(r);
      out.op = Op.MemoryBulk;
      return;
    case 11: // memory.fill mem
      memidx(r);
      out.op = Op.MemoryBulk;
      return;
    case 12: // table.init elem table
    case 14: // table.copy table table
      r.u32();
      r.u32();
      out.op = Op.TableBulk;
      return;
    case 15: // table.grow
    case 17: // table.fill
      r.u32();
      out.op = Op.TableBulk;
      return;
  }
  throw new UnsupportedError(`instruction 0xfc ${sub} (memory64 or a newer extension), which fuel metering does not support`);
}

/** Fixed-width SIMD (the final 128-bit opcode space; relaxed SIMD is refused). */
function prefixSIMD(r: Reader, out: Instr): void {
  const sub = r.u32();
  out.sub = sub;
  if (sub <= 0x0b || sub === 0x5c || sub === 0x5d) return memarg(r); // loads, store, load*_zero
  if (sub === 0x0c || sub === 0x0d) return r.skip(16); // v128.const, i8x16.shuffle
  if (sub >= 0x15 && sub <= 0x22) return r.skip(1); // extract/replace lane
  if (sub >= 0x54 && sub <= 0x5b) {
    memarg(r); // load/store lane
    return r.skip(1);
  }
  if (sub <= 0xff) return;
  throw new UnsupportedError(`SIMD instruction 0xfd ${sub} (relaxed SIMD), which fuel metering does not support`);
}
