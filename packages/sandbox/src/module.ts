/**
 * Module preparation: checking that bytes are a WASI preview1 command Lode can run
 * (`inspectModule`), and capping its memory (`capMemory`) — the only way to bound a module's
 * memory, since worker `resourceLimits` do not cover WebAssembly memory.
 */
import { InvalidModuleError, SandboxError, SandboxErrorCode } from '@lode/protocol';
import { encodeLimits, hasWasmHeader, leb128, readLimits, readSections, Reader, SectionId, type Limits, type Section } from './binary.js';
import { MEMORY_IMPORT, MEMORY_SECTION, PAGE_BYTES } from './prepared.js';
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
}

const PREVIEW1 = new Set<string>(PREVIEW1_FUNCTIONS);

function parse(bytes: Uint8Array): ParsedModule {
  const info: ModuleInfo = { byteLength: bytes.length, imports: [], exports: [], memory: null };
  let memoryAt: ParsedModule['memoryAt'];
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
          readLimits(r);
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
  return { info, memoryAt };
}

function invalid(why: string, cause?: unknown): InvalidModuleError {
  return new InvalidModuleError(`The module cannot run in the Lode sandbox: ${why}`, { cause });
}

/**
 * Reads a module's imports, exports and memory, and checks it is a WASI preview1 command:
 * valid WebAssembly, importing only `wasi_snapshot_preview1` functions, exporting `_start`
 * (reactors with only `_initialize` are refused) and, if it imports anything, its `memory`.
 *
 * @throws InvalidModuleError with a message that says what to change.
 */
export function inspectModule(bytes: Uint8Array): ModuleInfo {
  if (!hasWasmHeader(bytes)) {
    throw invalid('these bytes are not a WebAssembly binary (no "\\0asm" header). Upload the compiled .wasm file, not source or text format.');
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
  const { info } = parse(bytes);
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
  if (!start || start.kind !== 'function') {
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
 * @throws SandboxError(SANDBOX_MEMORY_LIMIT) if the module's initial memory exceeds the cap.
 */
export function prepareModule(bytes: Uint8Array, maxPages: number): Uint8Array {
  capMemory(bytes, maxPages); // refuses a module whose initial memory is over the cap itself
  const capped = capMemory(bytes, physicalPagesFor(maxPages));
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
