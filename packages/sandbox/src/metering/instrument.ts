/**
 * Long because one pass over the code section rewrites it for fuel, memory and NaN
 * canonicalization together; splitting the pass would decode every function twice.
 *
 * The fuel instrumenter: rewrites a module so that it counts its own work, inside the module —
 * never a call into JavaScript per block (35–150× slower here).
 *
 * What the rewritten module does:
 * - A mutable i64 global, appended after the module's own globals (so no index shifts; imported
 *   globals come first in the index space, so its index is imported + defined globals) and
 *   exported as `lode_fuel`, holds the fuel left. The runner sets it before running and reads it
 *   after (`fuelUsed = limit − left`). It starts at 0, so code run without setting it stops at once.
 *   (An imported counter, set before instantiation, would spare the export object — ~0.5 µs per
 *   instance — but V8 reaches imported mutable globals through one more indirection: call-heavy
 *   code such as wordcount measured 10–20 points more overhead with it.)
 * - Each basic block is charged its whole static cost (`costs.ts`) when it is entered: at the
 *   function's entry, at a loop header that a branch goes back to, in each arm of an `if`, after
 *   `br_if`, and where paths join (a block's end that a branch targets, an `if`'s end). Straight-
 *   line code across `block` openings, untargeted block ends, loop ends and calls is one block;
 *   so is the code after a construct that can only be left through its end, which is charged with
 *   the code before it. Operand-dependent work (bulk memory, `memory.grow`, table bulk operations)
 *   is charged just before the instruction, from its operand. So a task that ends normally is
 *   charged exactly the cost of the instructions it ran (the tests check this against a
 *   per-instruction reference); one stopped inside a block (trap, proc_exit) has that whole block
 *   charged — deterministic either way.
 * - Loop headers and the entries of functions that call anything check the counter after
 *   charging, and execute `unreachable` when it is below zero. Every unbounded execution passes
 *   one of those points again and again (a loop iterates through its header; recursion enters a
 *   function that calls), so a runaway module stops deterministically. Between two checks a module
 *   runs only straight-line code and call-free functions: a bounded overshoot, already counted.
 * - Functions with a loop, or with more charges than calls, keep the counter in a local (a
 *   register in the loop instead of a memory round trip per block), written back to the global
 *   before calls, returns, `unreachable` and a failed check, and read again after calls. A trap
 *   of another kind (out-of-bounds access, division by zero) in such a function leaves the global
 *   short of the charges since its last call: still the same on every run and engine.
 * - The rule the runner applies: **a task whose counter is below zero when it stops (exit, trap,
 *   host-side limit) ran out of fuel.**
 * - A start function (run by the engine at instantiation, before the runner could set the
 *   counter) is no longer the module's start function: it is exported as `lode_start`, and the
 *   runner calls it after setting the counter, before `_start`. Nothing inside the module can
 *   tell the difference.
 * - `.debug_*` and `sourceMappingURL` custom sections are dropped (their code offsets would be
 *   wrong); `name` and other custom sections are kept.
 * - Every instruction that can produce a NaN is followed by its canonicalization (nan.ts), so
 *   results are bit-identical on every CPU and engine. Not charged: fuel is unchanged by it.
 * - A second added global, exported as `lode_limit` (i32, 0), records a cap the module hit: a
 *   `table.grow` that would take all tables past LIMITS.module.maxTableElements, or a
 *   `memory.grow` refused although the module's own maximum allowed it (the task's memory cap).
 *   The module then sets it and executes `unreachable`; the runner fails the task with
 *   SANDBOX_MEMORY_LIMIT. Not charged either.
 * - An output over LIMITS.module.maxInstrumentedBytes, or a body over the engines' 7,654,321
 *   bytes, is refused (InvalidModuleError) instead of failing to compile on a node.
 *
 * Supported: the MVP, multi-value, bulk memory, sign extension, non-trapping float-to-int,
 * mutable globals, reference types, tail calls, fixed-width SIMD. Refused with
 * InvalidModuleError: exception handling, threads/atomics, multi-memory, memory64, GC and typed
 * function references, relaxed SIMD (nondeterministic by design), and modules that already export
 * `lode_fuel`/`lode_limit`/`lode_start`.
 */
import { InvalidModuleError, LIMITS } from '@lode/protocol';
import { hasWasmHeader, leb128, readSections, Reader, SECTION_ORDER, SectionId, sleb128, Writer, type Section } from '../binary.js';
import { BULK_SHIFT, FUEL_COSTS, SLOW_OPCODES } from './costs.js';
import { decode, Op, UnsupportedError, valtype, type Instr } from './decode.js';
import { FUEL_EXPORT, LIMIT_EXPORT, LIMIT_MEMORY, START_EXPORT } from './fuel.js';
import { plainEffect } from './effects.js';
import { canonicalize, hidesNaNBits, NAN_LOCAL_TYPE, nanKind, NanKind } from './nan.js';

/**
 * Returns the module rewritten to meter its own fuel (see above). Deterministic: the same bytes
 * always give the same output. The input must be valid WebAssembly; the output is valid whenever
 * the input is (the engine's per-function limits aside: each body grows by roughly a quarter).
 *
 * @throws InvalidModuleError if the bytes are not valid WebAssembly, or use a feature the
 *   instrumenter does not support (the message names it and what to change).
 */
export function instrumentModule(bytes: Uint8Array): Uint8Array {
  return instrument(bytes, {});
}

/**
 * How the counter is kept, for tests and measurements (not exported from the package).
 * `counter`: where functions keep it — `auto` (the default: a local in functions with a loop or
 * with more charges than calls), always the `global`, or always a `local` copy.
 * `reference`: charge every instruction on its own just before it runs, with no block analysis:
 * slow, but obviously right — the tests check that both give the same fuel.
 */
export interface Strategy {
  counter?: 'auto' | 'global' | 'local';
  reference?: boolean;
  /**
   * Canonicalize NaNs (see nan.ts). Always on in the sandbox; off only to measure what it
   * costs (bench/fuel.bench.js). @default true
   */
  nan?: boolean;
  /**
   * Canonicalize after every NaN-making instruction, even one whose only consumer cannot reveal
   * a NaN's bits (see nan.ts): the obviously right placement the tests compare the default with.
   * @default false
   */
  nanEverywhere?: boolean;
}

/** `instrumentModule` with a chosen strategy (see `Strategy`). */
export function instrument(bytes: Uint8Array, strategy: Strategy): Uint8Array {
  if (!hasWasmHeader(bytes) || !WebAssembly.validate(bytes as BufferSource)) {
    throw new InvalidModuleError('The module cannot be metered: it is not valid WebAssembly.');
  }
  try {
    return rewrite(bytes, strategy);
  } catch (e) {
    if (e instanceof UnsupportedError) throw new InvalidModuleError(`The module cannot be metered: it uses ${e.message}.`, { cause: e });
    if (e instanceof RangeError) throw new InvalidModuleError(`The module cannot be metered: it is malformed (${e.message}).`, { cause: e });
    if (e instanceof InstrumentLimitError) throw new InvalidModuleError(`The module cannot run in the Lode sandbox: ${e.message}.`, { cause: e });
    throw e;
  }
}

/** What the rewriter needs to know about the module. */
interface Layout {
  /** Parameter count of each type. */
  typeParams: number[];
  /** Type index of each function, imports first. */
  funcTypes: number[];
  importedFuncs: number;
  importedGlobals: number;
  definedGlobals: number;
  /** Tables, imported and defined: `table.grow` checks all of them together. */
  tables: number;
  /** The most pages the module's own memory declares it may grow to (65536 without a maximum). */
  memoryMax: number;
  exportNames: string[];
  startFunc: number | undefined;
}

function readLayout(bytes: Uint8Array, sections: Section[]): Layout {
  const layout: Layout = {
    typeParams: [],
    funcTypes: [],
    importedFuncs: 0,
    importedGlobals: 0,
    definedGlobals: 0,
    tables: 0,
    memoryMax: MAX_PAGES,
    exportNames: [],
    startFunc: undefined,
  };
  for (const s of sections) {
    const r = new Reader(bytes, s.payloadStart);
    switch (s.id) {
      case SectionId.Type:
        for (let n = r.u32(); n > 0; n--) {
          const form = r.byte();
          if (form !== 0x60) throw new UnsupportedError(`a type definition of form 0x${form.toString(16)} (GC), which fuel metering does not support`);
          const params = r.u32();
          for (let i = 0; i < params; i++) valtype(r);
          for (let i = r.u32(); i > 0; i--) valtype(r);
          layout.typeParams.push(params);
        }
        break;
      case SectionId.Import:
        for (let n = r.u32(); n > 0; n--) {
          r.name();
          r.name();
          const kind = r.byte();
          if (kind === 0) {
            layout.funcTypes.push(r.u32());
            layout.importedFuncs++;
          } else if (kind === 1) {
            valtype(r);
            skipLimits(r);
            layout.tables++;
          } else if (kind === 2) layout.memoryMax = skipLimits(r);
          else if (kind === 3) {
            valtype(r);
            r.byte();
            layout.importedGlobals++;
          } else throw new UnsupportedError('an imported tag (exception handling), which fuel metering does not support');
        }
        break;
      case SectionId.Function:
        for (let n = r.u32(); n > 0; n--) layout.funcTypes.push(r.u32());
        break;
      case SectionId.Table:
        layout.tables += r.u32();
        break;
      case SectionId.Memory:
        if (r.u32() > 0) layout.memoryMax = skipLimits(r);
        break;
      case SectionId.Global:
        layout.definedGlobals = r.u32();
        break;
      case SectionId.Export:
        for (let n = r.u32(); n > 0; n--) {
          layout.exportNames.push(r.name());
          r.byte();
          r.u32();
        }
        break;
      case SectionId.Start:
        layout.startFunc = r.u32();
        break;
      case SectionId.Tag:
        throw new UnsupportedError('a tag section (exception handling), which fuel metering does not support');
    }
  }
  for (const name of [FUEL_EXPORT, LIMIT_EXPORT, START_EXPORT]) {
    if (layout.exportNames.includes(name)) {
      throw new UnsupportedError(`the export name "${name}", which Lode reserves for metering (was the module metered already? give Lode the original module)`);
    }
  }
  return layout;
}

/** 4 GiB in 64 KiB pages: the most a 32-bit memory may have. */
const MAX_PAGES = 65536;

/** Skips limits; returns the maximum (MAX_PAGES if none). */
function skipLimits(r: Reader): number {
  const flags = r.byte();
  if (flags & 0x04) throw new UnsupportedError('a 64-bit memory or table (memory64), which fuel metering does not support');
  r.u32();
  return flags & 0x01 ? r.u32() : MAX_PAGES;
}

const encodeName = (s: string): number[] => {
  const b = new TextEncoder().encode(s);
  return [...leb128(b.length), ...b];
};

function customName(bytes: Uint8Array, s: Section): string {
  return new Reader(bytes, s.payloadStart).name();
}

function rewrite(bytes: Uint8Array, strategy: Strategy): Uint8Array {
  const sections = readSections(bytes);
  const layout = readLayout(bytes, sections);
  const fuel = layout.importedGlobals + layout.definedGlobals;
  const out = new Writer();
  out.bytes(bytes.subarray(0, 8));
  const put = (id: number, payload: Uint8Array | number[]) => {
    out.byte(id);
    out.u32(payload.length);
    out.bytes(payload);
  };
  const rank = (id: number) => SECTION_ORDER.indexOf(id);

  // New entries: the fuel global, and its export (plus the start function's).
  // (global (mut i64) (i64.const 0)): the fuel; (global (mut i32) (i32.const 0)): the limit hit.
  const globalEntries = [0x7e, 0x01, 0x42, 0x00, 0x0b, 0x7f, 0x01, 0x41, 0x00, 0x0b];
  const exportEntries = [...encodeName(FUEL_EXPORT), 0x03, ...leb128(fuel), ...encodeName(LIMIT_EXPORT), 0x03, ...leb128(fuel + 1)];
  let exportCount = 2;
  if (layout.startFunc !== undefined) {
    exportEntries.push(...encodeName(START_EXPORT), 0x00, ...leb128(layout.startFunc));
    exportCount++;
  }
  let wroteGlobal = false;
  let wroteExport = false;
  const addMissing = (before: number) => {
    if (!wroteGlobal && rank(SectionId.Global) < before) {
      put(SectionId.Global, [...leb128(2), ...globalEntries]);
      wroteGlobal = true;
    }
    if (!wroteExport && rank(SectionId.Export) < before) {
      put(SectionId.Export, [...leb128(exportCount), ...exportEntries]);
      wroteExport = true;
    }
  };

  for (const s of sections) {
    if (s.id === SectionId.Custom) {
      const name = customName(bytes, s);
      if (name.startsWith('.debug_') || name === 'sourceMappingURL') continue;
      out.bytes(bytes.subarray(s.start, s.end));
      continue;
    }
    addMissing(rank(s.id));
    const r = new Reader(bytes, s.payloadStart);
    if (s.id === SectionId.Global) {
      const n = r.u32();
      put(s.id, concat(leb128(n + 2), bytes.subarray(r.pos, s.end), globalEntries));
      wroteGlobal = true;
    } else if (s.id === SectionId.Export) {
      const n = r.u32();
      put(s.id, concat(leb128(n + exportCount), bytes.subarray(r.pos, s.end), exportEntries));
      wroteExport = true;
    } else if (s.id === SectionId.Start) {
    } else if (s.id === SectionId.Code) {
      put(s.id, rewriteCode(bytes, s, layout, fuel, strategy));
    } else {
      out.bytes(bytes.subarray(s.start, s.end));
    }
  }
  addMissing(Infinity);
  if (out.length > LIMITS.module.maxInstrumentedBytes) {
    throw new InstrumentLimitError(
      `metering and NaN canonicalization make it ${out.length} bytes, over the limit of ${LIMITS.module.maxInstrumentedBytes} ` +
        '(LIMITS.module.maxInstrumentedBytes); make the module smaller',
    );
  }
  return out.done().slice();
}

/**
 * The largest function body V8 and the other engines compile (the JS API's implementation
 * limit). Instrumentation grows a body, several times over for dense float code; a body that
 * would pass this is refused instead of failing to compile on the node.
 */
const ENGINE_MAX_BODY_BYTES = 7_654_321;

/** The instrumented module would be too large to compile; becomes InvalidModuleError. */
class InstrumentLimitError extends Error {}

function concat(...parts: ArrayLike<number>[]): Uint8Array {
  const w = new Writer();
  for (const p of parts) w.bytes(p);
  return w.done();
}

function rewriteCode(bytes: Uint8Array, s: Section, layout: Layout, fuel: number, strategy: Strategy): Uint8Array {
  const r = new Reader(bytes, s.payloadStart);
  const n = r.u32();
  const defined = layout.funcTypes.length - layout.importedFuncs;
  if (n !== defined) throw new RangeError(`the code section has ${n} bodies for ${defined} functions`);
  const out = new Writer();
  out.u32(n);
  const body = new Writer();
  for (let i = 0; i < n; i++) {
    const size = r.u32();
    const start = r.pos;
    const params = layout.typeParams[layout.funcTypes[layout.importedFuncs + i]!];
    if (params === undefined) throw new RangeError('a function has an unknown type');
    body.length = 0;
    instrumentBody(bytes, start, start + size, params, layout, fuel, strategy, body);
    if (body.length > ENGINE_MAX_BODY_BYTES) {
      throw new InstrumentLimitError(
        `metering and NaN canonicalization make function ${layout.importedFuncs + i} ${body.length} bytes, over the ` +
          `${ENGINE_MAX_BODY_BYTES} bytes engines compile; split the function`,
      );
    }
    out.u32(body.length);
    out.bytes(body.done());
    r.pos = start + size;
  }
  return out.done();
}

/**
 * What the rewriter inserts, and where (before the byte at `at`): a charge of a block's `cost`
 * (then, if `check`, the counter's test); an operand-dependent charge for the instruction at
 * `at`; and, in functions that keep the counter in a local, writing it back to the global
 * (`flush`, before calls, returns and traps) and reading it again (`reload`, after calls). Also,
 * not charged: the canonicalization of a float result (`nan`, just after the instruction), and
 * the check that a `table.grow` keeps the tables within `LIMITS.module.maxTableElements`
 * (`tableGrow`, just before it, after its operand-dependent charge), and the check that a
 * refused `memory.grow` was refused by the module's own maximum, not the task's cap
 * (`memoryGrow`, just after it).
 */
type Insertion =
  | { at: number; kind: 'charge'; cost: number; check: boolean }
  | { at: number; kind: 'dynamic'; op: Op }
  | { at: number; kind: 'flush' }
  | { at: number; kind: 'reload' }
  | { at: number; kind: 'nan'; type: Exclude<NanKind, 0> }
  | { at: number; kind: 'tableGrow' }
  | { at: number; kind: 'memoryGrow' };
type Charge = Extract<Insertion, { kind: 'charge' }>;

interface Frame {
  op: Op;
  /** Instruction index of the block/loop/if. */
  index: number;
  /** The charge of the code before it, if the construct is closed (see pass 2); else undefined. */
  before: Charge | undefined;
  /** Whether the code just before it was reachable. */
  entry: boolean;
  hasElse: boolean;
  /** Whether the end of the `then` arm was reachable (set at `else`). */
  thenEnd: boolean;
}

/** The sub-opcode of table.grow (0xfc 15). */
const TABLE_GROW = 15;
/** `marks` value of a table.grow (above every NanKind). */
const GROWS_TABLE = 8;
/** The most elements all tables together may have (see `tableGrow` insertions). */
const TABLE_CAP = LIMITS.module.maxTableElements;

function weight(ins: Instr, importedFuncs: number): number {
  switch (ins.op) {
    case Op.Nop:
    case Op.Block:
    case Op.Loop:
    case Op.Else:
    case Op.End:
      return FUEL_COSTS.structure;
    case Op.Call:
    case Op.ReturnCall:
      return ins.arg < importedFuncs ? FUEL_COSTS.hostCall : FUEL_COSTS.call;
    case Op.CallIndirect:
    case Op.ReturnCallIndirect:
      return FUEL_COSTS.callIndirect;
    case Op.Plain:
      return SLOW_OPCODES.has(ins.code) ? FUEL_COSTS.slow : FUEL_COSTS.instruction;
    default:
      return FUEL_COSTS.instruction;
  }
}

/**
 * Rewrites one function body (`bytes[start, end)`: locals, then code) into `out`, in three
 * passes: decode every instruction and find which labels are branch targets and which constructs
 * can be left early; walk the control structure to place the charges and sum each block's cost;
 * copy the code with the insertions in.
 */
function instrumentBody(bytes: Uint8Array, start: number, end: number, params: number, layout: Layout, fuel: number, strategy: Strategy, out: Writer): void {
  const importedFuncs = layout.importedFuncs;
  const canonicalizeNaNs = strategy.nan ?? true;
  const r = new Reader(bytes, start);
  const declCount = r.u32();
  const declStart = r.pos;
  let locals = params;
  for (let i = 0; i < declCount; i++) {
    locals += r.u32();
    valtype(r);
  }
  const codeStart = r.pos;

  // Pass 1: decode; note each instruction's extent, kind and weight, which labels are branch
  // targets, and which constructs can be left other than through their end (`escapes`).
  const ops: Op[] = [];
  const starts: number[] = [];
  const ends: number[] = [];
  const weights: number[] = [];
  const args: number[] = [];
  /** Per instruction: the NaN kind of its result (nan.ts), or GROWS_TABLE for table.grow. */
  const marks: number[] = [];
  const tables = new Map<number, number[]>();
  const targeted = new Set<number>();
  const escapes = new Set<number>();
  // The open constructs: instruction index (-1: the function) and the outermost nesting level
  // that a branch inside reaches; a construct at level L whose branches reach below L escapes.
  const labels: number[] = [-1];
  const reach: number[] = [0];
  const ins: Instr = { op: Op.Plain, code: 0, arg: 0, targets: undefined, sub: 0, type: 0 };
  let nans = 0;
  // NaN-making instructions whose result needs no canonicalization: its only consumer hides a
  // NaN's bits (nan.ts). Found by following the operand stack through straight-line scalar code:
  // `values` holds, for each value pushed since the last reset, the index of the NaN-making
  // instruction that produced it (or -1). Anything else — control flow, calls, SIMD — resets it,
  // so a value whose consumer is not seen keeps its canonicalization.
  const elide = new Set<number>();
  let values: number[] = [];
  let hides = false;
  const effect = (pops: number, pushes: number) => {
    for (let k = 0; k < pops; k++) {
      const producer = values.pop();
      if (hides && producer !== undefined && producer >= 0) elide.add(producer);
    }
    for (let k = 0; k < pushes; k++) values.push(-1);
  };
  const nanEverywhere = strategy.nanEverywhere ?? false;
  let calls = false;
  /** A branch `depth` labels out: it targets that label and leaves every construct inside it. */
  const branch = (depth: number) => {
    const level = labels.length - 1 - depth;
    if (level < 0) throw new RangeError('a branch to a label that does not exist');
    targeted.add(labels[level]!);
    const top = reach.length - 1;
    if (level < reach[top]!) reach[top] = level;
  };
  while (labels.length > 0) {
    if (r.pos >= end) throw new RangeError('a function body ends inside a block');
    const at = r.pos;
    decode(r, ins);
    const index = ops.length;
    ops.push(ins.op);
    starts.push(at);
    ends.push(r.pos);
    weights.push(weight(ins, importedFuncs));
    args.push(ins.arg);
    if (ins.op === Op.Plain) {
      const kind = canonicalizeNaNs ? nanKind(ins.code, ins.sub) : NanKind.None;
      marks.push(kind);
      if (ins.code === 0xfd || nanEverywhere) values = [];
      else {
        hides = hidesNaNBits(ins.code, ins.sub);
        plainEffect(ins, effect);
        if (kind !== NanKind.None) values[values.length - 1] = index;
      }
    } else {
      marks.push(ins.op === Op.TableBulk && ins.sub === TABLE_GROW ? GROWS_TABLE : NanKind.None);
      values = [];
    }
    if (ins.targets) tables.set(index, ins.targets);
    switch (ins.op) {
      case Op.Block:
      case Op.Loop:
      case Op.If:
        reach.push(labels.length);
        labels.push(index);
        break;
      case Op.End: {
        const level = labels.length - 1;
        const at = labels.pop()!;
        const reached = reach.pop()!;
        if (reached < level) escapes.add(at);
        if (reach.length > 0 && reached < reach[reach.length - 1]!) reach[reach.length - 1] = reached;
        break;
      }
      case Op.Br:
      case Op.BrIf:
        branch(ins.arg);
        break;
      case Op.BrTable:
        for (const t of ins.targets!) branch(t);
        break;
      case Op.Return:
        branch(labels.length - 1);
        break;
      case Op.ReturnCall:
      case Op.ReturnCallIndirect:
        branch(labels.length - 1);
        calls = true;
        break;
      case Op.Call:
      case Op.CallIndirect:
        calls = true;
        break;
    }
  }
  if (r.pos !== end) throw new RangeError('a function body continues past its final end');

  // Pass 2: place charges. `cur` collects the cost of the block being walked; dead code (after
  // br, br_table, return, unreachable) costs nothing, since it never runs. The code after a
  // construct that cannot be left other than through its end runs whenever the code before it
  // does (unless the task stops inside): it is charged with the code before it (`before`).
  let inserts: Insertion[] = [];
  const charge = (at: number, check: boolean): Charge => {
    const c: Charge = { at, kind: 'charge', cost: 0, check };
    inserts.push(c);
    return c;
  };
  let cur = charge(codeStart, calls);
  let reachable = true;
  let dynamic = false;
  const frames: Frame[] = [];
  /** Whether a branch `depth` labels out leaves the function. */
  const leaves = (depth: number) => depth >= frames.length;
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i]!;
    if (reachable) {
      cur.cost += weights[i]!;
      if (op === Op.MemoryGrow || op === Op.MemoryBulk || op === Op.TableBulk) {
        inserts.push({ at: starts[i]!, kind: 'dynamic', op });
        dynamic = true;
        if (marks[i] === GROWS_TABLE) inserts.push({ at: starts[i]!, kind: 'tableGrow' });
        if (op === Op.MemoryGrow) inserts.push({ at: ends[i]!, kind: 'memoryGrow' });
      } else if (op === Op.Plain && marks[i] !== NanKind.None && !elide.has(i)) {
        inserts.push({ at: ends[i]!, kind: 'nan', type: marks[i] as Exclude<NanKind, 0> });
        nans |= 1 << marks[i]!;
      }
      {
        const exits =
          op === Op.Call ||
          op === Op.CallIndirect ||
          op === Op.ReturnCall ||
          op === Op.ReturnCallIndirect ||
          op === Op.Return ||
          op === Op.Unreachable ||
          ((op === Op.Br || op === Op.BrIf) && leaves(args[i]!)) ||
          (op === Op.BrTable && tables.get(i)!.some(leaves)) ||
          (op === Op.End && frames.length === 0);
        if (exits) inserts.push({ at: starts[i]!, kind: 'flush' });
        if (op === Op.Call || op === Op.CallIndirect) inserts.push({ at: ends[i]!, kind: 'reload' });
      }
    }
    switch (op) {
      case Op.Block:
      case Op.Loop:
      case Op.If:
        frames.push({ op, index: i, entry: reachable, hasElse: false, thenEnd: false, before: reachable && !escapes.has(i) ? cur : undefined });
        break;
    }
    switch (op) {
      case Op.Loop:
        // A loop header that a branch goes back to: each iteration is charged and checked here.
        if (reachable && targeted.has(i)) cur = charge(ends[i]!, true);
        break;
      case Op.If:
        if (reachable) cur = charge(ends[i]!, false);
        break;
      case Op.Else: {
        const f = frames[frames.length - 1]!;
        f.hasElse = true;
        f.thenEnd = reachable;
        reachable = f.entry;
        if (reachable) cur = charge(ends[i]!, false);
        break;
      }
      case Op.End: {
        const f = frames.pop();
        if (!f) break; // the function's end
        let joined = reachable; // a loop's end is reached only by falling through its body
        if (f.op === Op.Block) joined = reachable || (f.entry && targeted.has(f.index));
        else if (f.op === Op.If) joined = f.hasElse ? f.thenEnd || reachable || (f.entry && targeted.has(f.index)) : f.entry;
        if (!joined) reachable = false;
        else if (f.before) {
          reachable = true;
          cur = f.before;
        } else if (f.op === Op.Block ? targeted.has(f.index) : f.op === Op.If) {
          // A join of several paths: a block's end that a branch targets, an if's end.
          reachable = true;
          cur = charge(ends[i]!, false);
        }
        // Otherwise only the fall-through reaches the end: `cur` goes on.
        break;
      }
      case Op.BrIf:
        if (reachable) cur = charge(ends[i]!, false);
        break;
      case Op.Br:
      case Op.BrTable:
      case Op.Return:
      case Op.Unreachable:
      case Op.ReturnCall:
      case Op.ReturnCallIndirect:
        reachable = false;
        break;
    }
  }

  // Functions with a loop, or with more charges than calls, keep the counter in a local: a
  // register instead of a memory round trip per block. The global is brought up to date before
  // anything that leaves the function or looks at it (calls, returns, `unreachable`: `flush`)
  // and read again after calls (`reload`).
  let loops = false;
  for (const at of targeted) if (at >= 0 && ops[at] === Op.Loop) loops = true;
  let points = 0;
  let callSites = 0;
  for (const c of inserts) {
    if (c.kind === 'charge' && c.cost > 0 && c.at !== codeStart) points++;
    else if (c.kind === 'reload') callSites++;
  }
  const counter = strategy.counter ?? 'auto';
  const local = counter === 'local' || (counter === 'auto' && (loops || points > callSites));
  if (!local) inserts = inserts.filter((c) => c.kind !== 'flush' && c.kind !== 'reload');
  if (strategy.reference) inserts = referenceInserts(inserts, ops, starts, ends, weights, targeted, codeStart, calls);

  // Pass 3: write the locals (plus ours: the counter's copy or a scratch i64 for checks, and a
  // scratch i32 for operand-dependent charges) and the code with the insertions.
  // Then one scratch local per NaN kind the function canonicalizes (f32, f64, v128).
  // (and a second scratch i32 for a memory.grow's result).
  const needT = local || inserts.some((c) => (c.kind === 'charge' && c.check) || c.kind === 'tableGrow' || c.kind === 'memoryGrow');
  const needS = dynamic;
  const needR = inserts.some((c) => c.kind === 'memoryGrow');
  const t = locals;
  const sLocal = locals + (needT ? 1 : 0);
  const rLocal = sLocal + (needS ? 1 : 0);
  const scratch: number[][] = [];
  let next = rLocal + (needR ? 1 : 0);
  const extra: number[] = [];
  if (needT) extra.push(0x7e);
  if (needS) extra.push(0x7f);
  if (needR) extra.push(0x7f);
  for (const kind of [NanKind.F32, NanKind.F64, NanKind.F32x4, NanKind.F64x2] as const) {
    if (!(nans & (1 << kind))) continue;
    // f32x4 and f64x2 share one v128 local.
    const shared = kind === NanKind.F64x2 && nans & (1 << NanKind.F32x4);
    if (shared) scratch[kind] = scratch[NanKind.F32x4]!;
    else {
      scratch[kind] = leb128(next++);
      extra.push(NAN_LOCAL_TYPE[kind]);
    }
  }
  if (extra.length > 0) {
    out.u32(declCount + extra.length);
    out.bytes(bytes.subarray(declStart, codeStart));
    for (const type of extra) out.bytes([1, type]);
  } else {
    out.bytes(bytes.subarray(start, codeStart));
  }
  const g = leb128(fuel);
  const tl = leb128(t);
  const sl = leb128(sLocal);
  // The counter: the global, or its copy in local `t`.
  const get = local ? [0x20, ...tl] : [0x23, ...g];
  const set = local ? [0x21, ...tl] : [0x24, ...g];
  if (local) out.bytes([0x23, ...g, 0x21, ...tl]); // global.get fuel; local.set t
  let copied = codeStart;
  for (const c of inserts) {
    out.bytes(bytes.subarray(copied, c.at));
    copied = c.at;
    if (c.kind === 'dynamic') {
      // Stack: [..., n] → [..., n], fuel −= f(n).
      out.bytes([0x22, ...sl, ...get, 0x20, ...sl, 0xad]); // local.tee s; fuel; local.get s; i64.extend_i32_u
      if (c.op === Op.MemoryGrow)
        out.bytes([0x42, ...sleb128(FUEL_COSTS.memoryGrowPerPage), 0x7e]); // i64.const; i64.mul
      else if (c.op === Op.MemoryBulk)
        out.bytes([0x42, ...sleb128(BULK_SHIFT), 0x88]); // i64.const; i64.shr_u
      else if (FUEL_COSTS.tableElement !== 1) out.bytes([0x42, ...sleb128(FUEL_COSTS.tableElement), 0x7e]);
      out.bytes([0x7d, ...set]); // i64.sub; set fuel
    } else if (c.kind === 'nan') {
      out.bytes(canonicalize(c.type, scratch[c.type]!));
    } else if (c.kind === 'tableGrow') {
      // Stack: [..., init, n] with n in local s. If n + Σ table sizes > the cap: set the limit
      // flag to the cap, flush the counter, stop. The sum is in i64: no overflow.
      out.bytes([0x20, ...sl, 0xad]); // local.get s; i64.extend_i32_u
      for (let k = 0; k < layout.tables; k++) out.bytes([0xfc, 16, ...leb128(k), 0xad, 0x7c]); // table.size k; i64.extend_i32_u; i64.add
      out.bytes([0x42, ...sleb128(TABLE_CAP), 0x56, 0x04, 0x40]); // i64.const cap; i64.gt_u; if
      out.bytes([0x41, ...sleb128(TABLE_CAP), 0x24, ...leb128(fuel + 1)]); // i32.const cap; global.set limit
      if (local) out.bytes([0x20, ...tl, 0x24, ...g]);
      out.bytes([0x00, 0x0b]); // unreachable; end
    } else if (c.kind === 'memoryGrow') {
      // Stack: [..., result], the pages asked for in local s. A refusal (-1) that the module's
      // own maximum would not explain (size + n ≤ its maximum) is the task's cap: stop.
      const rl = leb128(rLocal);
      out.bytes([0x22, ...rl, 0x41, 0x7f, 0x46, 0x04, 0x40]); // local.tee r; i32.const -1; i32.eq; if (the result is in r)
      out.bytes([0x3f, 0x00, 0xad, 0x20, ...sl, 0xad, 0x7c]); // memory.size; i64.extend_i32_u; local.get s; i64.extend_i32_u; i64.add
      out.bytes([0x42, ...sleb128(layout.memoryMax), 0x58, 0x04, 0x40]); // i64.const max; i64.le_u; if
      out.bytes([0x41, ...sleb128(LIMIT_MEMORY), 0x24, ...leb128(fuel + 1)]); // i32.const 1; global.set limit
      if (local) out.bytes([0x20, ...tl, 0x24, ...g]);
      out.bytes([0x00, 0x0b, 0x0b, 0x20, ...rl]); // unreachable; end; end; local.get r
    } else if (c.kind === 'flush') {
      out.bytes([0x20, ...tl, 0x24, ...g]);
    } else if (c.kind === 'reload') {
      out.bytes([0x23, ...g, 0x21, ...tl]);
    } else if (c.check) {
      // fuel −= cost; if (fuel < 0) { flush; unreachable }
      out.bytes([...get, 0x42, ...sleb128(c.cost), 0x7d, 0x22, ...tl]);
      if (!local) out.bytes([0x24, ...g, 0x20, ...tl]);
      out.bytes([0x42, 0x00, 0x53, 0x04, 0x40]);
      if (local) out.bytes([0x20, ...tl, 0x24, ...g]);
      out.bytes([0x00, 0x0b]);
    } else if (c.cost > 0) {
      out.bytes([...get, 0x42, ...sleb128(c.cost), 0x7d, ...set]);
    }
  }
  out.bytes(bytes.subarray(copied, end));
}

/**
 * The reference placement (`Strategy.reference`): each instruction is charged just before it
 * runs, each loop header with a back edge and each calling function's entry is checked, and the
 * local copy's flushes and reloads stay where pass 2 put them.
 */
function referenceInserts(
  placed: Insertion[],
  ops: Op[],
  starts: number[],
  ends: number[],
  weights: number[],
  targeted: Set<number>,
  codeStart: number,
  calls: boolean,
): Insertion[] {
  const out: Insertion[] = [{ at: codeStart, kind: 'charge', cost: 0, check: calls }];
  const rest = placed.filter((c) => c.kind !== 'charge');
  let k = 0;
  for (let i = 0; i < ops.length; i++) {
    // Before instruction i: what was placed after instruction i-1 (reloads), then its charge,
    // then what goes just before it (operand-dependent charges, flushes).
    while (k < rest.length && rest[k]!.at === starts[i] && (rest[k]!.kind === 'reload' || rest[k]!.kind === 'nan' || rest[k]!.kind === 'memoryGrow'))
      out.push(rest[k++]!);
    if (weights[i]! > 0) out.push({ at: starts[i]!, kind: 'charge', cost: weights[i]!, check: false });
    while (k < rest.length && rest[k]!.at === starts[i]) out.push(rest[k++]!);
    if (ops[i] === Op.Loop && targeted.has(i)) out.push({ at: ends[i]!, kind: 'charge', cost: 0, check: true });
  }
  while (k < rest.length) out.push(rest[k++]!);
  return out;
}
