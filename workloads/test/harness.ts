/**
 * Runs built modules under Node's own `node:wasi` — deliberately independent of Lode's sandbox —
 * with temp directories preopened as /in and /out, stdio through temp files.
 */
import { mkdtempSync, mkdirSync, openSync, closeSync, readFileSync, readdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WASI } from 'node:wasi';
import { readWorkload, type BadWorkloadName, type WorkloadName } from '../src/index.js';

export interface RunOptions {
  args?: string[];
  env?: Record<string, string>;
  stdin?: Uint8Array | string;
  /** Files placed under /in, by name. */
  inFiles?: Record<string, Uint8Array | string>;
  /** Replaces individual WASI imports (e.g. fd_write to cap output). */
  override?: (memory: () => WebAssembly.Memory) => Partial<Record<string, (...a: number[]) => number>>;
}

export interface RunResult {
  exitCode: number | null;
  trap: Error | null;
  stdout: Buffer;
  stderr: Buffer;
  /** Files the module left under /out, by name. */
  out: Record<string, Buffer>;
}

const compiled = new Map<string, WebAssembly.Module>();

export function compile(name: WorkloadName | BadWorkloadName): WebAssembly.Module {
  let module = compiled.get(name);
  if (!module) {
    module = new WebAssembly.Module(readWorkload(name));
    compiled.set(name, module);
  }
  return module;
}

export function runWasi(name: WorkloadName | BadWorkloadName, options: RunOptions = {}): RunResult {
  const dir = mkdtempSync(join(tmpdir(), `lode-wl-${name}-`));
  const inDir = join(dir, 'in');
  const outDir = join(dir, 'out');
  mkdirSync(inDir);
  mkdirSync(outDir);
  for (const [file, data] of Object.entries(options.inFiles ?? {})) writeFileSync(join(inDir, file), data);
  writeFileSync(join(dir, 'stdin'), options.stdin ?? '');
  const fds = [openSync(join(dir, 'stdin'), 'r'), openSync(join(dir, 'stdout'), 'w'), openSync(join(dir, 'stderr'), 'w')] as const;
  try {
    const wasi = new WASI({
      version: 'preview1',
      args: [`${name}.wasm`, ...(options.args ?? [])],
      env: options.env ?? {},
      preopens: { '/in': inDir, '/out': outDir },
      stdin: fds[0],
      stdout: fds[1],
      stderr: fds[2],
      returnOnExit: true,
    });
    let instance: WebAssembly.Instance | undefined;
    const memory = () => instance!.exports.memory as WebAssembly.Memory;
    const imports = { ...wasi.wasiImport, ...(options.override?.(memory) ?? {}) };
    instance = new WebAssembly.Instance(compile(name), { wasi_snapshot_preview1: imports });
    let exitCode: number | null = null;
    let trap: Error | null = null;
    try {
      exitCode = wasi.start(instance);
    } catch (err) {
      trap = err as Error;
    }
    for (const fd of fds) closeSync(fd);
    const out: Record<string, Buffer> = {};
    for (const file of readdirSync(outDir)) out[file] = readFileSync(join(outDir, file));
    return { exitCode, trap, stdout: readFileSync(join(dir, 'stdout')), stderr: readFileSync(join(dir, 'stderr')), out };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Reads an unsigned LEB128 at `pos`; returns [value, next position]. */
function leb(bytes: Uint8Array, pos: number): [number, number] {
  let value = 0;
  let shift = 0;
  for (;;) {
    const b = bytes[pos++]!;
    value += (b & 0x7f) * 2 ** shift;
    shift += 7;
    if ((b & 0x80) === 0) return [value, pos];
  }
}

/** The limits of the module's own (defined, not imported) memory, from its memory section. */
export function memoryLimits(bytes: Uint8Array): { min: number; max: number | null } | null {
  let pos = 8; // magic + version
  while (pos < bytes.length) {
    const id = bytes[pos++]!;
    const [size, body] = leb(bytes, pos);
    if (id === 5) {
      const [count, p0] = leb(bytes, body);
      if (count === 0) return null;
      const flags = bytes[p0]!;
      const [min, p1] = leb(bytes, p0 + 1);
      return { min, max: flags & 1 ? leb(bytes, p1)[0] : null };
    }
    pos = body + size;
  }
  return null;
}
