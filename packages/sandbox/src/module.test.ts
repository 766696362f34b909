import { InvalidModuleError } from '@lode/protocol';
import { describe, expect, it } from 'vitest';
import { MODULES, wat } from '../test/helpers.js';
import { LIMITS } from '@lode/protocol';
import { capMemory, importedMemoryOf, inspectModule, PAGE_BYTES, physicalPagesFor, prepareModule, TABLE_ENTRY_BYTES } from './module.js';

// Fixtures compiled once, up front (wabt is async), so the checks below read synchronously.
const bin = {
  foreign: await wat(MODULES.foreignImport),
  reactor: await wat(MODULES.reactor),
  noStart: await wat('(module (memory (export "memory") 1))'),
  notPreview1: await wat('(module (import "wasi_snapshot_preview1" "fd_fly" (func)) (memory (export "memory") 1) (func (export "_start")))'),
  bigInitial: await wat(MODULES.bigInitialMemory),
};

describe('inspectModule', () => {
  it('describes a WASI command', async () => {
    const info = inspectModule(await wat(MODULES.hello));
    expect(info.imports).toEqual([{ module: 'wasi_snapshot_preview1', name: 'fd_write', kind: 'function' }]);
    expect(info.exports.map((e) => e.name).sort()).toEqual(['_start', 'memory']);
    expect(info.memory).toEqual({ initialPages: 1, maxPages: null, imported: false, shared: false });
  });

  it('refuses bytes that are not WebAssembly', () => {
    expect(() => inspectModule(new TextEncoder().encode('print("hi")'))).toThrow(InvalidModuleError);
    expect(() => inspectModule(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 0xff]))).toThrow(/validation/);
  });

  it('refuses a module that imports outside wasi_snapshot_preview1, naming the import', () => {
    expect(() => inspectModule(bin.foreign)).toThrow(InvalidModuleError);
    expect(() => inspectModule(bin.foreign)).toThrow(/env\.abort.*wasi-shim/s);
  });

  it('refuses a reactor and a module without _start', () => {
    expect(() => inspectModule(bin.reactor)).toThrow(/reactor/);
    expect(() => inspectModule(bin.noStart)).toThrow(/_start/);
  });

  it('refuses an import that is not a preview1 function', () => {
    expect(() => inspectModule(bin.notPreview1)).toThrow(/fd_fly/);
  });
});

const maxOf = (bytes: Uint8Array) => {
  const mod = new WebAssembly.Module(bytes as BufferSource);
  const inst = new WebAssembly.Instance(mod, { wasi_snapshot_preview1: { fd_write: () => 0 } });
  const mem = inst.exports.memory as WebAssembly.Memory;
  let pages = mem.buffer.byteLength / 65536;
  try {
    for (;;) {
      mem.grow(1);
      pages++;
    }
  } catch {
    return pages;
  }
};

describe('capMemory', () => {
  it('sets a maximum on a memory that has none', async () => {
    const capped = capMemory(await wat(MODULES.hello), 5);
    expect(inspectModule(capped).memory?.maxPages).toBe(5);
    expect(maxOf(capped)).toBe(5);
  });

  it('lowers a larger maximum and keeps a smaller one', async () => {
    const big = await wat('(module (memory (export "memory") 1 1000) (func (export "_start")))');
    expect(inspectModule(capMemory(big, 10)).memory?.maxPages).toBe(10);
    const small = await wat('(module (memory (export "memory") 1 3) (func (export "_start")))');
    expect(capMemory(small, 10)).toBe(small);
  });

  it('fails with SANDBOX_MEMORY_LIMIT when the initial memory is over the cap', async () => {
    expect(() => capMemory(bin.bigInitial, 16)).toThrow(expect.objectContaining({ code: 'SANDBOX_MEMORY_LIMIT' }));
  });
});

describe('prepareModule', () => {
  it('turns the memory into a capped import and records its limits', async () => {
    for (const src of [
      MODULES.hello, // has an import section
      '(module (memory (export "memory") 2) (func (export "_start")))', // has none
      '(module (memory (export "memory") 2 4) (data (i32.const 0) "x") (func (export "_start")))',
    ]) {
      const prepared = prepareModule(await wat(src), 8);
      expect(WebAssembly.validate(prepared as BufferSource)).toBe(true);
      const mod = new WebAssembly.Module(prepared as BufferSource);
      expect(WebAssembly.Module.imports(mod)).toContainEqual({ module: 'lode', name: 'memory', kind: 'memory' });
      const plan = importedMemoryOf(mod)!;
      expect(plan.maximum).toBeLessThanOrEqual(physicalPagesFor(8)); // the cap plus headroom; the runner enforces the cap
      const memory = new WebAssembly.Memory({ initial: plan.initial, maximum: plan.maximum });
      const inst = new WebAssembly.Instance(mod, { lode: { memory }, wasi_snapshot_preview1: { fd_write: () => 0 } });
      expect(inst.exports.memory).toBe(memory);
    }
  });

  it('charges initial tables with the initial memory against the cap, each element TABLE_ENTRY_BYTES', async () => {
    // 1 page of memory and n table elements under a cap of 4 pages: 3 pages are left for tables.
    const withTable = (n: number) => wat(`(module (table ${n} funcref) (memory (export "memory") 1) (func (export "_start")))`);
    const fits = (3 * PAGE_BYTES) / TABLE_ENTRY_BYTES;
    expect(WebAssembly.validate(prepareModule(await withTable(fits), 4) as BufferSource)).toBe(true);
    expect(() => prepareModule(bin.bigInitial, 16)).toThrow(expect.objectContaining({ code: 'SANDBOX_MEMORY_LIMIT' }));
    const over = await withTable(fits + 1);
    expect(() => prepareModule(over, 4)).toThrow(expect.objectContaining({ code: 'SANDBOX_MEMORY_LIMIT' }));
    expect(() => prepareModule(over, 4)).toThrow(/6145 table elements.*cap of 0.25 MiB.*Raise resources\.memoryMiB or declare smaller tables/);
  });

  it('lowers every table maximum to LIMITS.module.maxTableElements, keeping smaller ones', async () => {
    const cap = LIMITS.module.maxTableElements;
    const src = `(module (table (export "a") 0 externref) (table (export "b") 2 5 externref) (table (export "c") 0 4000000000 externref)
      (memory (export "memory") 1) (func (export "_start")))`;
    const mod = new WebAssembly.Module(prepareModule(await wat(src, { reference_types: true }), 64) as BufferSource);
    const inst = new WebAssembly.Instance(mod, { lode: { memory: new WebAssembly.Memory({ initial: 1, maximum: physicalPagesFor(64) }) } });
    const table = (name: string) => inst.exports[name] as WebAssembly.Table;
    // The engine refuses a grow past a table's maximum (RangeError), so a grow measures it.
    const maxOf = (t: WebAssembly.Table) => {
      t.grow(cap - t.length); // up to the cap: allowed for a and c, not for b
      expect(() => t.grow(1)).toThrow(RangeError);
      return t.length;
    };
    expect(maxOf(table('a'))).toBe(cap);
    expect(maxOf(table('c'))).toBe(cap);
    expect(() => table('b').grow(cap - 2)).toThrow(RangeError);
    table('b').grow(3);
    expect(() => table('b').grow(1)).toThrow(RangeError);
  });
});
