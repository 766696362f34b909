/**
 * A module's shape: what it declares (functions, tables, globals, segments, imports, exports…)
 * and what each function body costs an engine to compile, read in one pass over a module that
 * `WebAssembly.validate` accepted. `inspectModule` compares the shape with `LIMITS.module`.
 *
 * Why the compile costs: V8 — Node's and Chromium's engine — keeps, per function, state whose
 * size grows with the product of the function's locals and its blocks, not with its byte size.
 * Measured on Node 20 (x86-64), one function of a module of a few hundred KiB:
 * - the baseline compiler (Liftoff, which compiles every function at its first call) copies the
 *   locals and the operand stack at each block, loop and if: ~24 bytes per cell of
 *   Σ(locals + operand-stack height) over the blocks — 10,000 ifs in a row in a function of
 *   10,000 locals took 2.4 GB, 20,000 × 20,000 took 9.6 GB (a 287 KiB module);
 * - the optimizing compiler (TurboFan, which recompiles hot functions in background threads)
 *   keeps the locals of every enclosing block: ~230 bytes per cell of (nesting depth × locals) —
 *   1,000 nested ifs × 10,000 locals took 2.3 GB, and 1,000 × 50,000 aborted the whole process
 *   (a V8 CHECK failure, not an exception: no worker boundary contains it).
 * Compilation is lazy and happens in the threads that run tasks, so only refusing such modules
 * up front protects a node. `blockCells` and `nestedCells` are those two products.
 */
import { Reader, readLimits, readSections, SectionId } from './binary.js';
import { BLOCK_EMPTY, BLOCK_VALUE, decode, Op, valtype, type Instr } from './metering/decode.js';
import { plainEffect } from './metering/effects.js';

/** The largest value of a per-function measure, and the index of the function that has it. */
export interface Extreme {
  value: number;
  /** Function index (imports first), or -1 when the module defines no function. */
  func: number;
}

export interface ModuleShape {
  bytes: number;
  types: number;
  imports: number;
  /** Imported and defined functions. */
  functions: number;
  tables: number;
  /** Σ of the tables' initial sizes. */
  tableElements: number;
  globals: number;
  exports: number;
  elementSegments: number;
  /** Σ of the element segments' entries. */
  elementEntries: number;
  dataSegments: number;
  /** Σ of the data segments' bytes. */
  dataBytes: number;
  /** Largest function body, in bytes. */
  bodyBytes: Extreme;
  /** Most locals of a function, parameters included. */
  locals: Extreme;
  /** Deepest nesting of blocks, loops and ifs in a function. */
  depth: Extreme;
  /** Largest Σ over a function's blocks, loops, ifs and elses of (locals + operand-stack height on entry). */
  blockCells: Extreme;
  /** Largest (nesting depth × locals) of a function. */
  nestedCells: Extreme;
}

interface FuncType {
  params: number;
  results: number;
}

/**
 * Reads the shape of `bytes`, which must be valid WebAssembly (`WebAssembly.validate`): the
 * reader assumes well-formed input and only guards bounds.
 *
 * @throws RangeError for truncated input; UnsupportedError (from the decoder) for an
 *   instruction of an extension Lode does not run.
 */
export function readShape(bytes: Uint8Array): ModuleShape {
  const none = (): Extreme => ({ value: 0, func: -1 });
  const shape: ModuleShape = {
    bytes: bytes.length,
    types: 0,
    imports: 0,
    functions: 0,
    tables: 0,
    tableElements: 0,
    globals: 0,
    exports: 0,
    elementSegments: 0,
    elementEntries: 0,
    dataSegments: 0,
    dataBytes: 0,
    bodyBytes: none(),
    locals: none(),
    depth: none(),
    blockCells: none(),
    nestedCells: none(),
  };
  const types: FuncType[] = [];
  const funcTypes: number[] = [];
  let importedFuncs = 0;
  const ins: Instr = { op: Op.Plain, code: 0, arg: 0, targets: undefined, sub: 0, type: 0 };
  /** Skips a constant expression (global initializers, segment offsets), up to its `end`. */
  const skipExpr = (r: Reader) => {
    for (let depth = 0; ; ) {
      decode(r, ins);
      if (ins.op === Op.Block || ins.op === Op.Loop || ins.op === Op.If) depth++;
      else if (ins.op === Op.End && depth-- === 0) return;
    }
  };
  for (const s of readSections(bytes)) {
    const r = new Reader(bytes, s.payloadStart);
    switch (s.id) {
      case SectionId.Type:
        for (let n = (shape.types = r.u32()); n > 0; n--) {
          r.byte(); // 0x60 (validated)
          const params = r.u32();
          for (let i = 0; i < params; i++) valtype(r);
          const results = r.u32();
          for (let i = 0; i < results; i++) valtype(r);
          types.push({ params, results });
        }
        break;
      case SectionId.Import:
        for (let n = (shape.imports = r.u32()); n > 0; n--) {
          r.name();
          r.name();
          const kind = r.byte();
          if (kind === 0) {
            funcTypes.push(r.u32());
            importedFuncs++;
          } else if (kind === 1) {
            r.byte();
            shape.tables++;
            shape.tableElements += readLimits(r).min;
          } else if (kind === 2) readLimits(r);
          else if (kind === 3) {
            valtype(r);
            r.byte();
            shape.globals++;
          } else r.u32(); // a tag: its attribute byte and type index
        }
        break;
      case SectionId.Function:
        for (let n = r.u32(); n > 0; n--) funcTypes.push(r.u32());
        break;
      case SectionId.Table:
        for (let n = r.u32(); n > 0; n--) {
          r.byte();
          shape.tables++;
          shape.tableElements += readLimits(r).min;
        }
        break;
      case SectionId.Global:
        for (let n = r.u32(); n > 0; n--) {
          valtype(r);
          r.byte();
          skipExpr(r);
          shape.globals++;
        }
        break;
      case SectionId.Export:
        shape.exports = r.u32();
        break;
      case SectionId.Element:
        for (let n = (shape.elementSegments = r.u32()); n > 0; n--) shape.elementEntries += elementSegment(r, skipExpr);
        break;
      case SectionId.Data:
        for (let n = (shape.dataSegments = r.u32()); n > 0; n--) {
          const flags = r.u32();
          if (flags === 2) r.u32();
          if (flags !== 1) skipExpr(r);
          const size = r.u32();
          r.skip(size);
          shape.dataBytes += size;
        }
        break;
      case SectionId.Code: {
        const count = r.u32();
        for (let i = 0; i < count; i++) {
          const size = r.u32();
          const start = r.pos;
          const func = importedFuncs + i;
          const type = types[funcTypes[func]!];
          if (!type) throw new RangeError('a function has an unknown type');
          readBody(bytes, start, start + size, func, type.params, types, funcTypes, shape, ins);
          r.pos = start + size;
        }
        break;
      }
    }
  }
  shape.functions = funcTypes.length;
  return shape;
}

/** Reads one element segment; returns its number of entries. */
function elementSegment(r: Reader, skipExpr: (r: Reader) => void): number {
  const flags = r.u32();
  if (flags === 2 || flags === 6) r.u32(); // table index
  if ((flags & 1) === 0) skipExpr(r); // active: the offset
  if (flags & 3) r.byte(); // elemkind or reftype (flags 1, 2, 3, 5, 6, 7)
  const n = r.u32();
  for (let i = 0; i < n; i++) {
    if (flags & 4) skipExpr(r);
    else r.u32();
  }
  return n;
}

const raise = (e: Extreme, value: number, func: number) => {
  if (value > e.value) {
    e.value = value;
    e.func = func;
  }
};

/** One open block, loop, if or the function itself. */
interface Frame {
  /** Operand-stack height below the block's parameters. */
  base: number;
  params: number;
  results: number;
}

/**
 * Walks one function body, tracking the operand-stack height (exact for valid code, and an upper
 * bound in unreachable code), and raises the shape's per-function extremes.
 */
function readBody(
  bytes: Uint8Array,
  start: number,
  end: number,
  func: number,
  params: number,
  types: FuncType[],
  funcTypes: number[],
  shape: ModuleShape,
  ins: Instr,
): void {
  const r = new Reader(bytes, start);
  let locals = params;
  for (let n = r.u32(); n > 0; n--) {
    locals += r.u32();
    valtype(r);
  }
  const frames: Frame[] = [{ base: 0, params: 0, results: 0 }];
  let height = 0;
  let deepest = 0;
  let blockCells = locals; // the function's entry
  const arity = (type: number): FuncType =>
    type === BLOCK_EMPTY ? { params: 0, results: 0 } : type === BLOCK_VALUE ? { params: 0, results: 1 } : (types[type] ?? { params: 0, results: 0 });
  /** Pops `n` and pushes `m`; unreachable code may pop below its block (stack-polymorphic). */
  const effect = (n: number, m: number) => {
    height = Math.max(height - n, frames[frames.length - 1]!.base) + m;
  };
  const enter = (type: number) => {
    const { params: p, results } = arity(type);
    frames.push({ base: Math.max(height - p, frames[frames.length - 1]!.base), params: p, results });
    blockCells += locals + height;
    deepest = Math.max(deepest, frames.length - 1);
  };
  /** After br, br_table, return, unreachable: the rest of the block is unreachable. */
  const unreachable = () => {
    height = frames[frames.length - 1]!.base;
  };
  while (frames.length > 0) {
    if (r.pos >= end) throw new RangeError('a function body ends inside a block');
    decode(r, ins);
    switch (ins.op) {
      case Op.Plain:
        plainEffect(ins, effect);
        break;
      case Op.Nop:
        break;
      case Op.Block:
      case Op.Loop:
        enter(ins.type);
        break;
      case Op.If:
        effect(1, 0);
        enter(ins.type);
        break;
      case Op.Else: {
        const f = frames[frames.length - 1]!;
        height = f.base + f.params;
        blockCells += locals + height;
        break;
      }
      case Op.End: {
        const f = frames.pop()!;
        height = f.base + f.results;
        break;
      }
      case Op.Br:
      case Op.Return:
      case Op.Unreachable:
        unreachable();
        break;
      case Op.BrIf:
        effect(1, 0);
        break;
      case Op.BrTable:
        unreachable();
        break;
      case Op.Call: {
        const t = types[funcTypes[ins.arg] ?? -1] ?? { params: 0, results: 0 };
        effect(t.params, t.results);
        break;
      }
      case Op.CallIndirect: {
        const t = types[ins.type] ?? { params: 0, results: 0 };
        effect(t.params + 1, t.results);
        break;
      }
      case Op.ReturnCall:
      case Op.ReturnCallIndirect:
        unreachable();
        break;
      case Op.MemoryGrow:
        effect(1, 1);
        break;
      case Op.MemoryBulk:
        effect(3, 0);
        break;
      case Op.TableBulk:
        if (ins.sub === 15)
          effect(2, 1); // table.grow
        else effect(3, 0); // table.init, table.copy, table.fill
        break;
    }
  }
  if (r.pos !== end) throw new RangeError('a function body continues past its final end');
  raise(shape.bodyBytes, end - start, func);
  raise(shape.locals, locals, func);
  raise(shape.depth, deepest, func);
  raise(shape.blockCells, blockCells, func);
  raise(shape.nestedCells, deepest * locals, func);
}
