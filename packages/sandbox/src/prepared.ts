/**
 * What the runner needs to know about a module from `prepareModule`, kept apart from module.ts
 * so that sandbox workers load no more than they use (no schemas, no error classes).
 */
import { Reader } from './binary.js';

/** 64 KiB, the WebAssembly page size. */
export const PAGE_BYTES = 65536;

/** Pages allowed by a cap in MiB (16 pages per MiB, at most 4 GiB). */
export function pagesForMiB(mib: number): number {
  return Math.min(65536, Math.floor(mib * 16));
}

/**
 * Pages a prepared module may physically grow to for a cap of `capPages`: the cap plus up to
 * 64 MiB of headroom. The cap itself is enforced exactly by the runner (memory above the cap at
 * any host call, or at exit, fails the task with SANDBOX_MEMORY_LIMIT); the headroom is what
 * makes "grew past the cap" observable — a grow that the engine refuses leaves no trace.
 */
export function physicalPagesFor(capPages: number): number {
  return Math.min(65536, capPages + Math.min(capPages, 1024));
}

/** Where `prepareModule` puts the memory the runner must supply: `lode.memory`. */
export const MEMORY_IMPORT = { module: 'lode', name: 'memory' } as const;
/** Custom section naming the limits of the `lode.memory` import: LEB128 initial, maximum (pages). */
export const MEMORY_SECTION = 'lode.memory';

/** The limits of the memory a prepared module imports (see `prepareModule`), or null. */
export function importedMemoryOf(module: WebAssembly.Module): { initial: number; maximum: number } | null {
  const [sec] = WebAssembly.Module.customSections(module, MEMORY_SECTION);
  if (!sec) return null;
  const r = new Reader(new Uint8Array(sec));
  return { initial: r.u32(), maximum: r.u32() };
}
