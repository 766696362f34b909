/**
 * A corpus of hostile modules, built in binary form (most are too large or too odd for WAT):
 * each declares or does something that would cost a node far more than its size suggests. Every
 * entry says what must come of it — refused by `inspectModule` (INVALID_MODULE at submission,
 * SANDBOX_INVALID_MODULE on a node), refused when the node meters it, or a task that fails with
 * a SANDBOX_* code. Shared by the sandbox's unit tests and test/e2e/sandbox-hostile.test.ts.
 */
import { LIMITS } from '@lode/protocol';
import { leb128, Writer } from '../src/binary.js';

export interface Hostile {
  name: string;
  /** What it attacks, in words. */
  what: string;
  bytes: () => Uint8Array;
  /**
   * `inspect`: inspectModule refuses it, the message matching. `instrument`: it passes inspection
   * but the node refuses to meter it (SANDBOX_INVALID_MODULE). `run`: it runs, and its task fails
   * with this code (under `memoryMiB`, default 16, and `fuel`, default 100M).
   */
  expect: { inspect: RegExp } | { instrument: RegExp } | { run: string; message?: RegExp; memoryMiB?: number; fuel?: number };
}

const M = LIMITS.module;

/** One section: id, size, payload. */
function section(out: Writer, id: number, payload: Uint8Array | number[]): void {
  out.byte(id);
  out.u32(payload.length);
  out.bytes(payload);
}

function name(s: string): number[] {
  const b = new TextEncoder().encode(s);
  return [...leb128(b.length), ...b];
}

const HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

export interface Parts {
  /** Extra types after type 0, `() -> ()`. */
  types?: number[][];
  /** Raw import entries. */
  imports?: number[][];
  /** Type index of each defined function (function 0, `_start`, is added first with type 0). */
  funcs?: number[];
  tables?: { min: number; max?: number; ref?: number }[];
  memory?: { min: number; max?: number };
  /** Raw global entries. */
  globals?: Uint8Array | number[][];
  globalCount?: number;
  /** Extra raw export entries. */
  exports?: number[][];
  start?: number;
  /** Raw element section payload (count included). */
  elements?: Uint8Array;
  /** Bodies (locals + code + end), `_start`'s first. */
  bodies: Uint8Array[];
  /** Raw data section payload (count included). */
  data?: Uint8Array;
  dataCount?: number;
}

/** A WASI-shaped command: type 0 `() -> ()`, `_start` = the first defined function, memory exported. */
export function command(p: Parts): Uint8Array {
  const out = new Writer();
  out.bytes(HEADER);
  const types = [[0x60, 0, 0], ...(p.types ?? [])];
  section(out, 1, [...leb128(types.length), ...types.flat()]);
  const imports = p.imports ?? [];
  if (imports.length > 0) section(out, 2, [...leb128(imports.length), ...imports.flat()]);
  const funcs = [0, ...(p.funcs ?? [])];
  const f = new Writer();
  f.u32(funcs.length);
  for (const t of funcs) f.u32(t);
  section(out, 3, f.done());
  if (p.tables) {
    const t = new Writer();
    t.u32(p.tables.length);
    for (const { min, max, ref } of p.tables) {
      t.byte(ref ?? 0x70);
      t.byte(max === undefined ? 0 : 1);
      t.u32(min);
      if (max !== undefined) t.u32(max);
    }
    section(out, 4, t.done());
  }
  const mem = p.memory ?? { min: 1 };
  section(out, 5, [1, mem.max === undefined ? 0 : 1, ...leb128(mem.min), ...(mem.max === undefined ? [] : leb128(mem.max))]);
  if (p.globals) {
    if (p.globals instanceof Uint8Array) section(out, 6, p.globals);
    else section(out, 6, [...leb128(p.globals.length), ...p.globals.flat()]);
  }
  const importedFuncs = imports.length; // `wasiImport` entries: all functions
  const exports = [[...name('_start'), 0x00, ...leb128(importedFuncs)], [...name('memory'), 0x02, 0x00], ...(p.exports ?? [])];
  const e = new Writer();
  e.u32(exports.length);
  for (const x of exports) e.bytes(x);
  section(out, 7, e.done());
  if (p.start !== undefined) section(out, 8, leb128(p.start));
  if (p.elements) section(out, 9, p.elements);
  if (p.dataCount !== undefined) section(out, 12, leb128(p.dataCount));
  const c = new Writer();
  c.u32(p.bodies.length);
  for (const b of p.bodies) {
    c.u32(b.length);
    c.bytes(b);
  }
  section(out, 10, c.done());
  if (p.data) section(out, 11, p.data);
  return out.done().slice();
}

function wasiImport(fn: string, type: number): number[] {
  return [...name('wasi_snapshot_preview1'), ...name(fn), 0x00, ...leb128(type)];
}

/** A body: `locals` of one type, then `code`, then `end`. */
export function body(code: ArrayLike<number> | Writer, locals: [count: number, type: number][] = []): Uint8Array {
  const w = new Writer();
  w.u32(locals.length);
  for (const [n, t] of locals) {
    w.u32(n);
    w.byte(t);
  }
  w.bytes(code instanceof Writer ? code.done() : code);
  w.byte(0x0b);
  return w.done().slice();
}

/** `n` repetitions of `unit`. */
export function repeat(unit: number[], n: number): Writer {
  const w = new Writer();
  for (let i = 0; i < n; i++) w.bytes(unit);
  return w;
}

/** The body of a function that does nothing. */
export const EMPTY = body([]);

export const HOSTILE: Hostile[] = [
  {
    name: 'tables: 100 of 10M entries',
    what: 'a 654-byte module asking for ~28 GB of tables before any code runs',
    bytes: () => command({ tables: Array.from({ length: 100 }, () => ({ min: 10_000_000 })), bodies: [EMPTY] }),
    expect: { inspect: /declares 100 tables; the limit is 16 \(LIMITS\.module\.maxTables\)/ },
  },
  {
    name: 'tables: one of 10M entries',
    what: 'one table of ~280 MB',
    bytes: () => command({ tables: [{ min: 10_000_000 }], bodies: [EMPTY] }),
    expect: { inspect: /declares 10,000,000 table elements in all; the limit is 1,000,000 \(LIMITS\.module\.maxTableElements\)/ },
  },
  {
    name: 'tables: within the cap but over the task memory',
    what: '900,000 table entries (~27 MiB charged) in a task of 16 MiB',
    bytes: () => command({ tables: [{ min: 900_000 }], bodies: [EMPTY] }),
    expect: { run: 'SANDBOX_MEMORY_LIMIT', message: /table elements.*cap of 16 MiB/, memoryMiB: 16 },
  },
  {
    name: 'table.grow loop',
    what: 'grows a table by 100,000 elements at a time, forever',
    bytes: () =>
      command({
        tables: [{ min: 0 }],
        // loop: (drop (table.grow 0 (ref.null func) (i32.const 100000))) (br 0)
        bodies: [body([0x03, 0x40, 0xd0, 0x70, 0x41, ...sleb(100_000), 0xfc, 15, 0x00, 0x1a, 0x0c, 0x00, 0x0b])],
      }),
    expect: { run: 'SANDBOX_MEMORY_LIMIT', message: /tables past 1000000 elements/ },
  },
  {
    name: 'memory.grow loop',
    what: 'grows memory by one page at a time until the engine refuses, then keeps asking',
    // loop: (drop (memory.grow (i32.const 1))) (br 0)
    bytes: () => command({ bodies: [body([0x03, 0x40, 0x41, 0x01, 0x40, 0x00, 0x1a, 0x0c, 0x00, 0x0b])] }),
    expect: { run: 'SANDBOX_MEMORY_LIMIT', message: /past its cap of 256 pages/, fuel: 1_000_000_000 },
  },
  {
    name: 'start function that never ends',
    what: 'runs at instantiation, before _start',
    bytes: () => command({ funcs: [0], start: 1, bodies: [EMPTY, body([0x03, 0x40, 0x0c, 0x00, 0x0b])] }),
    expect: { run: 'SANDBOX_FUEL_EXHAUSTED' },
  },
  {
    name: 'functions: 200,000',
    what: 'twice the cap on functions',
    bytes: () => command({ funcs: new Array<number>(200_000).fill(0), bodies: new Array<Uint8Array>(200_001).fill(EMPTY) }),
    expect: { inspect: /declares 200,001 functions; the limit is 100,000 \(LIMITS\.module\.maxFunctions\)/ },
  },
  {
    name: 'nesting: 20,000 blocks deep',
    what: 'blocks nested past the cap on depth',
    bytes: () => {
      const w = repeat([0x02, 0x40], 20_000);
      w.bytes(repeat([0x0b], 20_000).done());
      return command({ bodies: [body(w)] });
    },
    expect: { inspect: /function 0 has 20,000 nested blocks; the limit is 10,000 \(LIMITS\.module\.maxBlockDepth\)/ },
  },
  {
    name: 'compile bomb: baseline compiler',
    what: '2,000 ifs in a row in a function of 5,000 locals (V8 copies every local at every block: ~240 MB)',
    bytes: () => command({ bodies: [body(repeat([0x41, 0x01, 0x04, 0x40, 0x0b], 2_000), [[5_000, 0x7e]])] }),
    expect: { inspect: /block cells.*LIMITS\.module\.maxBlockCells/ },
  },
  {
    name: 'compile bomb: operand stack',
    what: '50,000 values on the stack, then 5,000 nested blocks (2.5e8 cells: ~6 GB in V8 Liftoff)',
    bytes: () => {
      const w = repeat([0x41, 0x00], 50_000);
      w.bytes(repeat([0x02, 0x40], 5_000).done());
      w.bytes(repeat([0x0b], 5_000).done());
      w.bytes(repeat([0x1a], 50_000).done());
      return command({ bodies: [body(w)] });
    },
    expect: { inspect: /block cells.*LIMITS\.module\.maxBlockCells/ },
  },
  {
    name: 'compile bomb: optimizing compiler',
    what: '200 nested ifs in a function of 5,000 locals, the innermost setting all (1M cells: ~230 MB in TurboFan; 50M abort V8)',
    bytes: () => {
      const w = repeat([0x41, 0x01, 0x04, 0x40], 200);
      for (let l = 0; l < 5_000; l++) w.bytes([0x42, 0x01, 0x21, ...leb128(l)]);
      w.bytes(repeat([0x0b], 200).done());
      return command({ bodies: [body(w, [[5_000, 0x7e]])] });
    },
    expect: { inspect: /nested cells.*LIMITS\.module\.maxNestedCells/ },
  },
  {
    name: 'locals: 20,000',
    what: 'a function with twice the cap on locals',
    bytes: () => command({ bodies: [body([], [[20_000, 0x7f]])] }),
    expect: { inspect: /function 0 has 20,000 locals; the limit is 10,000 \(LIMITS\.module\.maxFunctionLocals\)/ },
  },
  {
    name: 'function body: 2 MiB',
    what: 'one function body of twice the cap',
    bytes: () => command({ bodies: [body(repeat([0x01], 2 * 1024 * 1024))] }),
    expect: { inspect: /function 0 has 2,097,15\d bytes of code; the limit is 1,048,576 \(LIMITS\.module\.maxFunctionBodyBytes\)/ },
  },
  {
    name: 'data: one 17 MiB segment',
    what: 'a giant data segment (valid, and within the module size cap)',
    bytes: () => {
      const size = M.maxDataBytes + 1024 * 1024;
      const d = new Writer();
      d.bytes([1, 0x01, ...leb128(size)]); // one passive segment
      d.bytes(new Uint8Array(size));
      return command({ dataCount: 1, data: d.done(), bodies: [EMPTY] });
    },
    expect: { inspect: /17,825,792 bytes of data segments; the limit is 16,777,216 \(LIMITS\.module\.maxDataBytes\)/ },
  },
  {
    name: 'data: 60,000 segments',
    what: 'more data segments than the cap',
    bytes: () => {
      const d = new Writer();
      d.u32(60_000);
      for (let i = 0; i < 60_000; i++) d.bytes([0x01, 0x00]); // passive, empty
      return command({ dataCount: 60_000, data: d.done(), bodies: [EMPTY] });
    },
    expect: { inspect: /60,000 data segments; the limit is 50,000 \(LIMITS\.module\.maxDataSegments\)/ },
  },
  {
    name: 'elements: 2M entries',
    what: 'a passive element segment of 2M function references (~2 MB module)',
    bytes: () => {
      const e = new Writer();
      e.bytes([1, 0x01, 0x00, ...leb128(2_000_000)]); // passive, elemkind funcref
      e.bytes(new Uint8Array(2_000_000)); // function 0, 2M times
      return command({ elements: e.done(), bodies: [EMPTY] });
    },
    expect: { inspect: /2,000,000 element entries in all; the limit is 1,000,000 \(LIMITS\.module\.maxElementEntries\)/ },
  },
  {
    name: 'globals: 200,000',
    what: 'twice the cap on globals',
    bytes: () => {
      const g = new Writer();
      g.u32(200_000);
      for (let i = 0; i < 200_000; i++) g.bytes([0x7f, 0x00, 0x41, 0x00, 0x0b]);
      return command({ globals: g.done(), bodies: [EMPTY] });
    },
    expect: { inspect: /200,000 globals; the limit is 100,000 \(LIMITS\.module\.maxGlobals\)/ },
  },
  {
    name: 'imports: 2,000',
    what: 'fd_write imported 2,000 times',
    bytes: () =>
      command({
        types: [[0x60, 4, 0x7f, 0x7f, 0x7f, 0x7f, 1, 0x7f]],
        imports: Array.from({ length: 2_000 }, () => wasiImport('fd_write', 1)),
        bodies: [EMPTY],
      }),
    expect: { inspect: /2,000 imports; the limit is 1,000 \(LIMITS\.module\.maxImports\)/ },
  },
  {
    name: 'exports: 20,000',
    what: 'twice the cap on exports',
    bytes: () => command({ exports: Array.from({ length: 20_000 }, (_, i) => [...name(`f${i}`), 0x00, 0x00]), bodies: [EMPTY] }),
    expect: { inspect: /20,002 exports; the limit is 10,000 \(LIMITS\.module\.maxExports\)/ },
  },
  {
    name: 'module: over 32 MiB',
    what: 'a huge but valid module, one byte of custom section past the size cap',
    bytes: () => {
      // A custom section "x" padding the module to one byte past the cap.
      const base = command({ bodies: [EMPTY] });
      const pad = LIMITS.maxModuleBytes + 1 - base.length - 1 - 5 - 2; // id, size (5 bytes), name "x"
      const out = new Writer();
      out.bytes(base);
      out.byte(0);
      out.bytes(leb5(pad + 2));
      out.bytes(name('x'));
      out.bytes(new Uint8Array(pad));
      return out.done().slice();
    },
    expect: { inspect: /33,554,433 bytes; the limit is 33,554,432 \(LIMITS\.maxModuleBytes\)/ },
  },
  {
    name: 'instrumentation bomb',
    what: 'a 900 KiB function of f64.sqrt then f64.neg (which shows NaN bits, so every sqrt is canonicalized): ~8.5 MB metered, past what engines compile',
    bytes: () => {
      const w = new Writer();
      w.bytes([0x44, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f]); // f64.const 1
      w.bytes(repeat([0x9f, 0x9a], 450 * 1024).done()); // f64.sqrt; f64.neg
      w.byte(0x1a); // drop
      return command({ bodies: [body(w)] });
    },
    expect: { instrument: /make function 0 \d+ bytes, over the 7654321 bytes engines compile/ },
  },
  {
    name: 'shared memory (threads)',
    what: 'a shared memory: threads are nondeterministic',
    bytes: () => {
      // (memory 1 1 shared): limits flags 0x03
      const m = command({ memory: { min: 1, max: 1 }, bodies: [EMPTY] });
      const at = findMemoryFlags(m);
      m[at] = 0x03;
      return m;
    },
    expect: { inspect: /shared memory \(threads\)/ },
  },
];

/** Offset of the memory section's limits flags byte in a module built by `command`. */
function findMemoryFlags(m: Uint8Array): number {
  let at = 8;
  while (at < m.length) {
    const id = m[at]!;
    let size = 0;
    let shift = 0;
    let p = at + 1;
    for (;;) {
      const b = m[p++]!;
      size |= (b & 0x7f) << shift;
      if (!(b & 0x80)) break;
      shift += 7;
    }
    if (id === 5) return p + 1; // count (1), then flags
    at = p + size;
  }
  throw new Error('no memory section');
}

/** Unsigned LEB128 padded to 5 bytes (a section size written before its payload is known). */
function leb5(n: number): number[] {
  return [0, 1, 2, 3, 4].map((i) => (Math.floor(n / 128 ** i) % 128) | (i < 4 ? 0x80 : 0));
}

/** Signed LEB128 (i32.const immediates). */
function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}
