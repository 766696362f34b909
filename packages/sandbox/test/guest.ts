/**
 * A `Preview1` over one page of memory, with helpers that play the guest's part (as wasi-libc
 * does): shared by the WASI layer's unit tests and the conformance regressions.
 */
import { expect } from 'vitest';
import { Rights } from '../src/wasi/constants.js';
import { Preview1, type WasiOptions } from '../src/wasi/preview1.js';

const enc = new TextEncoder();
const dec = new TextDecoder();
const R = Rights.FD_READ;

/** A Preview1 over one page of memory, with helpers that play the guest's part. */
export function guest(overrides: Partial<WasiOptions> = {}) {
  const wasi = new Preview1({
    args: ['prog'],
    env: {},
    stdin: new Uint8Array(0),
    seed: new Uint8Array(32),
    mounts: [
      { guest: '/in', writable: false },
      { guest: '/out', writable: true },
      { guest: '/scratch', writable: true },
    ],
    files: [],
    maxOutputBytes: 1 << 20,
    ...overrides,
  });
  const memory = new WebAssembly.Memory({ initial: 1 });
  wasi.memory.attach(memory);
  const f = wasi.imports() as unknown as Record<string, (...a: unknown[]) => number>;
  const u8 = () => new Uint8Array(memory.buffer);
  const dv = () => new DataView(memory.buffer);
  let scratch = 30_000;
  /** Copies bytes into guest memory; returns [ptr, len]. */
  const put = (data: string | Uint8Array): [number, number] => {
    const b = typeof data === 'string' ? enc.encode(data) : data;
    const ptr = scratch;
    u8().set(b, ptr);
    scratch += b.length + 8;
    return [ptr, b.length];
  };
  /** `dirflags` 1 follows a symlink at the path's end (what open(2) does without O_NOFOLLOW). */
  const open = (dir: number, path: string, oflags = 0, rights = R, fdflags = 0, dirflags = 1): number | string => {
    const err = f.path_open!(dir, dirflags, ...put(path), oflags, rights, 0n, fdflags, 100);
    return err === 0 ? dv().getUint32(100, true) : `errno ${err}`;
  };
  const write = (fd: number, data: string) => {
    const [p, n] = put(data);
    dv().setUint32(200, p, true);
    dv().setUint32(204, n, true);
    return f.fd_write!(fd, 200, 1, 208);
  };
  const read = (fd: number, max = 1000): string => {
    dv().setUint32(200, 40_000, true);
    dv().setUint32(204, max, true);
    expect(f.fd_read!(fd, 200, 1, 208)).toBe(0);
    return dec.decode(u8().subarray(40_000, 40_000 + dv().getUint32(208, true)));
  };
  return { wasi, f, dv, u8, put, open, write, read };
}
