/**
 * Module preparation: checking that bytes are a WASI preview1 command Lode can run
 * (`inspectModule`), and capping its memory (`capMemory`) — the only way to bound a module's
 * memory, since worker `resourceLimits` do not cover WebAssembly memory.
 */
import { InvalidModuleError, LIMITS, SandboxError, SandboxErrorCode } from '@lode/protocol';
import { encodeLimits, hasWasmHeader, leb128, readLimits, readSections, Reader, SectionId, type Limits, type Section } from './binary.js';
import { UnsupportedError } from './metering/decode.js';
import { MEMORY_IMPORT, MEMORY_SECTION, PAGE_BYTES } from './prepared.js';
import { readShape, type Extreme, type ModuleShape } from './shape.js';
import { PREVIEW1_FUNCTIONS } from './wasi/preview1.js';

import { physicalPagesFor } from './prepared.js';
export { importedMemoryOf, MEMORY_IMPORT, MEMORY_SECTION, PAGE_BYTES, pagesForMiB, physicalPagesFor } from './prepared.js';

export const WASI_MODULE = 'wasi_snapshot_preview1';
const KINDS = ['function', 'table', 'memory', 'global', 'tag'] as const;
export type ExternKind = (typeof KINDS)[number];

export interface ModuleInfo {
  byteLength: number;
  imports: { module: string; name: string; kind: ExternKind }[];
  exports: { name: string; kind: ExternKind }[];
  /** The module's (single) memory, or null if it has none. Pages are 64 KiB. */
  memory: { initialPages: number; maxPages: number | null; imported: boolean; shared: boolean } | null;
}

interface ParsedModule {
  info: ModuleInfo;
  /** Where the memory's limits are, for `capMemory`. */
  memoryAt?: { section: Section; limits: Limits };
  /** The table section and its tables' reference types and limits, for `prepareModule`. */
  tablesAt?: { section: Section; tables: { refType: number; limits: Limits }[] };
  /** Σ of the initial sizes of all tables, imported ones included. */
  tableElements: number;
}

/**
 * What one table element costs, in bytes, charged against the task's memory: a funcref entry
 * took ~28 bytes in V8 (Node 20, x86-64: 16 on the JS heap, the rest in the dispatch table;
 * measured by instantiating 1M- and 10M-entry tables), an externref ~8.5; rounded up.
 */
export const TABLE_ENTRY_BYTES = 32;

const PREVIEW1 = new Set<string>(PREVIEW1_FUNCTIONS);

function parse(bytes: Uint8Array): ParsedModule {
  const info: ModuleInfo = { byteLength: bytes.length, imports: [], exports: [], memory: null };
  let memoryAt: ParsedModule['memoryAt'];
  let tablesAt: ParsedModule['tablesAt'];
  let tableElements = 0;
  const memories: Limits[] = [];
  for (const section of readSections(bytes)) {
    const r = new Reader(bytes, section.payloadStart);
    if (section.id === SectionId.Import) {
      for (let n = r.u32(); n > 0; n--) {
        const module = r.name();
        const name = r.name();
        const kind = r.byte();
        if (kind === 0) r.u32();
        else if (kind === 1) {
          r.byte();
          tableElements += readLimits(r).min;
        } else if (kind === 2) {
          const limits = readLimits(r);
          memories.push(limits);
          memoryAt = { section, limits };
          info.memory = { initialPages: limits.min, maxPages: limits.max, imported: true, shared: limits.shared };
        } else if (kind === 3) r.skip(2);
        else if (kind === 4) {
          r.byte();
          r.u32();
        }
        info.imports.push({ module, name, kind: KINDS[kind] ?? 'function' });
      }
    } else if (section.id === SectionId.Table) {
      tablesAt = { section, tables: [] };
      for (let n = r.u32(); n > 0; n--) {
        const refType = r.byte();
        const limits = readLimits(r);
        tableElements += limits.min;
        tablesAt.tables.push({ refType, limits });
      }
    } else if (section.id === SectionId.Memory) {
      for (let n = r.u32(); n > 0; n--) {
        const limits = readLimits(r);
        memories.push(limits);
        memoryAt ??= { section, limits };
        info.memory ??= { initialPages: limits.min, maxPages: limits.max, imported: false, shared: limits.shared };
      }
    } else if (section.id === SectionId.Export) {
      for (let n = r.u32(); n > 0; n--) {
        const name = r.name();
        const kind = r.byte();
        r.u32();
        info.exports.push({ name, kind: KINDS[kind] ?? 'function' });
      }
    }
  }
  if (memories.length > 1) throw invalid('it declares more than one memory; WASI modules use exactly one.');
  if (memories[0]?.memory64) throw invalid('it uses a 64-bit memory (memory64), which the sandbox does not run.');
  return { info, memoryAt, tablesAt, tableElements };
}

function invalid(why: string, cause?: unknown): InvalidModuleError {
  return new InvalidModuleError(`The module cannot run in the Lode sandbox: ${why}`, { cause });
}

/** 1234567 → "1,234,567" (the same on every engine, unlike toLocaleString). */
const group = (n: number) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');

type ModuleCap = Exclude<keyof typeof LIMITS.module, 'maxInstrumentedBytes'>;

/** Each cap of `LIMITS.module`: the shape's value for it, what it counts, and what to do. */
const CAPS: { cap: ModuleCap; value: (s: ModuleShape) => number | Extreme; what: string; fix: string }[] = [
  { cap: 'maxTypes', value: (s) => s.types, what: 'function signatures', fix: 'Merge duplicate signatures or split the program.' },
  { cap: 'maxImports', value: (s) => s.imports, what: 'imports', fix: 'Import each WASI function once.' },
  { cap: 'maxExports', value: (s) => s.exports, what: 'exports', fix: 'Export only _start and memory (drop --export-all).' },
  {
    cap: 'maxFunctions',
    value: (s) => s.functions,
    what: 'functions',
    fix: 'Split the program into smaller modules, or build with dead-code elimination (-O2, --gc-sections).',
  },
  { cap: 'maxTables', value: (s) => s.tables, what: 'tables', fix: 'Use one function table.' },
  { cap: 'maxTableElements', value: (s) => s.tableElements, what: 'table elements in all', fix: 'Declare smaller tables.' },
  { cap: 'maxGlobals', value: (s) => s.globals, what: 'globals', fix: 'Keep data in linear memory instead of globals.' },
  { cap: 'maxDataSegments', value: (s) => s.dataSegments, what: 'data segments', fix: 'Let the linker merge them (wasm-ld does by default).' },
  { cap: 'maxDataBytes', value: (s) => s.dataBytes, what: 'bytes of data segments', fix: 'Pass large data as an input file (/in) instead of embedding it.' },
  { cap: 'maxElementSegments', value: (s) => s.elementSegments, what: 'element segments', fix: 'Let the linker merge them.' },
  { cap: 'maxElementEntries', value: (s) => s.elementEntries, what: 'element entries in all', fix: 'Put fewer functions in tables.' },
  { cap: 'maxFunctionBodyBytes', value: (s) => s.bodyBytes, what: 'bytes of code', fix: 'Split the function (or build without aggressive inlining).' },
  { cap: 'maxFunctionLocals', value: (s) => s.locals, what: 'locals', fix: 'Build with optimization (-O2) or split the function.' },
  { cap: 'maxBlockDepth', value: (s) => s.depth, what: 'nested blocks', fix: 'Split the function or its largest switch.' },
  {
    cap: 'maxBlockCells',
    value: (s) => s.blockCells,
    what: 'block cells (Σ over its blocks of locals + operand-stack height), which engines copy at every block',
    fix: 'Split the function, or build with optimization (-O2) so it has fewer locals.',
  },
  {
    cap: 'maxNestedCells',
    value: (s) => s.nestedCells,
    what: 'nested cells (nesting depth × locals), which optimizing compilers keep for every open block',
    fix: 'Split the function, or build with optimization (-O2) so it has fewer locals.',
  },
];

/** Refuses a module whose shape passes a cap of `LIMITS.module`, naming the cap, its value and what to do. */
function checkShape(shape: ModuleShape): void {
  for (const { cap, value, what, fix } of CAPS) {
    const limit = LIMITS.module[cap];
    const v = value(shape);
    const n = typeof v === 'number' ? v : v.value;
    if (n <= limit) continue;
    const subject = typeof v === 'number' ? 'it declares' : `its function ${v.func} has`;
    throw invalid(`${subject} ${group(n)} ${what}; the limit is ${group(limit)} (LIMITS.module.${cap}). ${fix}`);
  }
}

/**
 * Reads a module's imports, exports and memory, and checks it is a WASI preview1 command that
 * Lode can run: valid WebAssembly of at most `LIMITS.maxModuleBytes`, within every cap of
 * `LIMITS.module` (what it declares, and what its functions cost to compile), using only what
 * fuel metering supports and nothing nondeterministic (threads, shared memory, relaxed SIMD),
 * importing only `wasi_snapshot_preview1` functions, exporting `_start` (reactors with only
 * `_initialize` are refused) and, if it imports anything, its `memory`. Deterministic: the same
 * bytes are refused with the same message everywhere.
 *
 * @throws InvalidModuleError with a message that names the rule or cap and says what to change.
 */
export function inspectModule(bytes: Uint8Array): ModuleInfo {
  if (!hasWasmHeader(bytes)) {
    throw invalid('these bytes are not a WebAssembly binary (no "\\0asm" header). Upload the compiled .wasm file, not source or text format.');
  }
  if (bytes.length > LIMITS.maxModuleBytes) {
    throw invalid(
      `it is ${group(bytes.length)} bytes; the limit is ${group(LIMITS.maxModuleBytes)} (LIMITS.maxModuleBytes). Make the module smaller (-Os, wasm-opt, strip debug sections).`,
    );
  }
  if (!WebAssembly.validate(bytes as BufferSource)) {
    let reason = 'it failed WebAssembly validation';
    try {
      new WebAssembly.Module(bytes as BufferSource);
    } catch (e) {
      reason += `: ${(e as Error).message}`;
    }
    throw invalid(`${reason}.`);
  }
  let shape: ModuleShape;
  try {
    shape = readShape(bytes);
  } catch (e) {
    if (e instanceof UnsupportedError) throw invalid(`it uses ${e.message}.`, e);
    if (e instanceof RangeError) throw invalid(`it is malformed (${e.message}).`, e);
    throw e;
  }
  checkShape(shape);
  const { info } = parse(bytes);
  if (info.memory?.shared) {
    throw invalid('it declares a shared memory (threads); tasks run single-threaded and deterministic. Build without threads (no -pthread, no +atomics).');
  }
  for (const imp of info.imports) {
    if (imp.module !== WASI_MODULE) {
      throw invalid(
        `it imports ${imp.module}.${imp.name} (${imp.kind}); only ${WASI_MODULE} functions are provided.` +
          (imp.module === 'env' && imp.name === 'abort' ? ' For AssemblyScript, build with @assemblyscript/wasi-shim.' : ''),
      );
    }
    if (imp.kind !== 'function' || !PREVIEW1.has(imp.name)) {
      throw invalid(`it imports ${WASI_MODULE}.${imp.name} (${imp.kind}), which is not a preview1 function.`);
    }
  }
  const start = info.exports.find((e) => e.name === '_start');
  if (start?.kind !== 'function') {
    const reactor = info.exports.some((e) => e.name === '_initialize');
    throw invalid(
      reactor
        ? 'it is a WASI reactor (exports _initialize, not _start); build it as a command with a main function.'
        : 'it exports no _start function; build it as a WASI command (a program with a main function).',
    );
  }
  if (info.imports.length > 0 && !info.exports.some((e) => e.name === 'memory' && e.kind === 'memory')) {
    throw invalid('it does not export its memory as "memory", which WASI calls need.');
  }
  return info;
}

/**
 * Returns the module with its memory's maximum set to at most `maxPages` (64 KiB each), by
 * rewriting the memory section or the memory import; a module whose maximum is already within
 * the cap, or which has no memory, comes back unchanged. `memory.grow` past the cap then returns
 * -1 inside the module.
 *
 * @throws SandboxError(SANDBOX_MEMORY_LIMIT) if the module's initial memory exceeds the cap.
 */
export function capMemory(bytes: Uint8Array, maxPages: number): Uint8Array {
  const { memoryAt } = parse(bytes);
  if (!memoryAt) return bytes;
  const { section, limits } = memoryAt;
  if (limits.min > maxPages) {
    throw new SandboxError(
      SandboxErrorCode.MemoryLimit,
      `the module starts with ${limits.min} pages (${(limits.min * PAGE_BYTES) / 2 ** 20} MiB) of memory; the cap is ${maxPages} pages`,
    );
  }
  if (limits.max !== null && limits.max <= maxPages) return bytes;
  const newLimits = encodeLimits({ min: limits.min, max: maxPages, shared: limits.shared });
  const payloadLength = section.end - section.payloadStart - (limits.end - limits.start) + newLimits.length;
  const head = [section.id, ...leb128(payloadLength)];
  const out = new Uint8Array(bytes.length - (section.end - section.start) + head.length + payloadLength);
  let at = 0;
  const put = (part: ArrayLike<number>) => {
    out.set(part, at);
    at += part.length;
  };
  put(bytes.subarray(0, section.start));
  put(head);
  put(bytes.subarray(section.payloadStart, limits.start));
  put(newLimits);
  put(bytes.subarray(limits.end, section.end));
  put(bytes.subarray(section.end));
  return out;
}

/** Refuses a module whose initial memory and initial table elements together exceed `maxPages`. */
function chargeTables(bytes: Uint8Array, maxPages: number): void {
  const { memoryAt, tableElements } = parse(bytes);
  if (tableElements === 0) return;
  const memoryBytes = (memoryAt?.limits.min ?? 0) * PAGE_BYTES;
  const tableBytes = tableElements * TABLE_ENTRY_BYTES;
  if (memoryBytes + tableBytes > maxPages * PAGE_BYTES) {
    const mib = (n: number) => `${Number((n / 2 ** 20).toFixed(2))} MiB`;
    throw new SandboxError(
      SandboxErrorCode.MemoryLimit,
      `the module starts with ${mib(memoryBytes)} of memory and ${tableElements} table elements (${mib(tableBytes)} at ${TABLE_ENTRY_BYTES} bytes each); ` +
        `together they pass the task's cap of ${mib(maxPages * PAGE_BYTES)}. Raise resources.memoryMiB or declare smaller tables.`,
    );
  }
}

/** The module with every table's maximum at most `LIMITS.module.maxTableElements` (unchanged if already so). */
function capTables(bytes: Uint8Array): Uint8Array {
  const { tablesAt } = parse(bytes);
  const cap = LIMITS.module.maxTableElements;
  if (!tablesAt || tablesAt.tables.every((t) => t.limits.max !== null && t.limits.max <= cap)) return bytes;
  const payload = [...leb128(tablesAt.tables.length)];
  for (const { refType, limits } of tablesAt.tables) {
    payload.push(refType, ...encodeLimits({ min: limits.min, max: Math.min(limits.max ?? cap, cap), shared: false }));
  }
  const { section: s } = tablesAt;
  const out = new Uint8Array(bytes.length - (s.end - s.start) + 1 + leb128(payload.length).length + payload.length);
  out.set(bytes.subarray(0, s.start), 0);
  out.set([s.id, ...leb128(payload.length), ...payload], s.start);
  out.set(bytes.subarray(s.end), out.length - (bytes.length - s.end));
  return out;
}

const encodeName = (s: string) => {
  const b = new TextEncoder().encode(s);
  return [...leb128(b.length), ...b];
};
const section = (id: number, payload: number[]) => [id, ...leb128(payload.length), ...payload];

/**
 * What the sandbox compiles: `capMemory`, then the module's own memory turned into an import
 * (`lode.memory`, limits recorded in a `lode.memory` custom section). The runner then supplies
 * the memory, and can reuse a zeroed one for the next task instead of mapping a fresh one —
 * most of the cost of instantiating a tiny module. Behaviour inside the module is unchanged:
 * same memory index, same export, same data segments. Shared memories and modules without a
 * memory come back only capped.
 *
 * Tables are charged too: their initial elements (`TABLE_ENTRY_BYTES` each) and the initial
 * memory must fit in the cap together; each table's maximum is lowered to
 * `LIMITS.module.maxTableElements` (the instrumenter checks the total at every `table.grow`).
 *
 * @throws SandboxError(SANDBOX_MEMORY_LIMIT) if the module's initial memory and tables exceed the cap.
 */
export function prepareModule(bytes: Uint8Array, maxPages: number): Uint8Array {
  capMemory(bytes, maxPages); // refuses a module whose initial memory is over the cap itself
  chargeTables(bytes, maxPages);
  const capped = capTables(capMemory(bytes, physicalPagesFor(maxPages)));
  const { memoryAt } = parse(capped);
  if (!memoryAt || memoryAt.section.id !== SectionId.Memory || memoryAt.limits.shared) return capped;
  const { min } = memoryAt.limits;
  const max = memoryAt.limits.max ?? maxPages;
  const sections = readSections(capped);
  const entry = [...encodeName(MEMORY_IMPORT.module), ...encodeName(MEMORY_IMPORT.name), 0x02, ...encodeLimits({ min, max, shared: false })];
  const parts: ArrayLike<number>[] = [capped.subarray(0, 8)];
  const imports = sections.find((s) => s.id === SectionId.Import);
  // The import section goes right after the type section (or first, if there is none).
  const importAfter = imports ? undefined : sections.filter((s) => s.id === SectionId.Type).pop();
  const addImports = () => parts.push(section(SectionId.Import, [...leb128(1), ...entry]));
  if (!imports && !importAfter) addImports();
  for (const s of sections) {
    if (s.id === SectionId.Memory) continue; // its only memory is now imported
    if (s === imports) {
      const r = new Reader(capped, s.payloadStart);
      const count = leb128(r.u32() + 1);
      const rest = capped.subarray(r.pos, s.end);
      parts.push([SectionId.Import, ...leb128(count.length + rest.length + entry.length), ...count], rest, entry);
    } else {
      parts.push(capped.subarray(s.start, s.end));
    }
    if (s === importAfter) addImports();
  }
  parts.push(section(SectionId.Custom, [...encodeName(MEMORY_SECTION), ...leb128(min), ...leb128(max)]));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
