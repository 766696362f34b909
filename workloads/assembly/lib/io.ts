/**
 * Small, allocation-light WASI helpers shared by the workloads: whole-buffer writes that cope
 * with short writes, reading a descriptor to its end, files under preopened directories, and
 * failing with a message and an exit code.
 *
 * Everything here talks to `wasi_snapshot_preview1` directly; nothing imports from `env`.
 */
import {
  args_get,
  args_sizes_get,
  environ_get,
  environ_sizes_get,
  errno,
  fd_close,
  fd_prestat_dir_name,
  fd_prestat_get,
  fd_read,
  fd_write,
  oflags,
  path_open,
  prestat,
  proc_exit,
  rights,
} from "bindings/wasi_snapshot_preview1";

/** Standard descriptors. */
export const STDIN: u32 = 0;
export const STDOUT: u32 = 1;
export const STDERR: u32 = 2;

/** Exit code for bad arguments (as in BSD sysexits' spirit: "usage"). */
export const EXIT_USAGE: i32 = 2;
/** Exit code for an I/O failure reported by the host. */
export const EXIT_IO: i32 = 74;

// iovec (buf, len) + one out-value, reused by every call; these programs are single-threaded.
const scratch = memory.data(16);

/**
 * Writes `len` bytes at `ptr` to `fd`, looping over short writes. Exits with `EXIT_IO` if the
 * host reports an error (for example when an output cap is reached), since a workload has no
 * meaningful way to continue without its output.
 */
export function writeAll(fd: u32, ptr: usize, len: usize): void {
  while (len > 0) {
    store<u32>(scratch, <u32>ptr);
    store<u32>(scratch, <u32>len, 4);
    const err = fd_write(fd, scratch, 1, scratch + 8);
    if (err != errno.SUCCESS) proc_exit(EXIT_IO);
    const n = <usize>load<u32>(scratch, 8);
    if (n == 0) proc_exit(EXIT_IO);
    ptr += n;
    len -= n;
  }
}

/** Writes the whole buffer to `fd`. */
export function writeBuffer(fd: u32, buf: ArrayBuffer): void {
  writeAll(fd, changetype<usize>(buf), <usize>buf.byteLength);
}

/** Writes `text` UTF-8 encoded to `fd`. */
export function writeString(fd: u32, text: string): void {
  writeBuffer(fd, String.UTF8.encode(text));
}

/**
 * Reads at most `len` bytes from `fd` into `ptr`; returns the count, 0 at end of input.
 * Exits with `EXIT_IO` on a host error.
 */
export function readSome(fd: u32, ptr: usize, len: usize): usize {
  store<u32>(scratch, <u32>ptr);
  store<u32>(scratch, <u32>len, 4);
  const err = fd_read(fd, scratch, 1, scratch + 8);
  if (err != errno.SUCCESS) proc_exit(EXIT_IO);
  return <usize>load<u32>(scratch, 8);
}

/** Reads `fd` to its end. The buffer doubles as it fills, so memory use is at most ~2× the input. */
export function readAll(fd: u32): Uint8Array {
  let cap: i32 = 64 * 1024;
  let buf = new Uint8Array(cap);
  let len: i32 = 0;
  while (true) {
    if (len == cap) {
      cap <<= 1;
      const bigger = new Uint8Array(cap);
      memory.copy(bigger.dataStart, buf.dataStart, <usize>len);
      buf = bigger;
    }
    const n = readSome(fd, buf.dataStart + <usize>len, <usize>(cap - len));
    if (n == 0) break;
    len += <i32>n;
  }
  return buf.subarray(0, len);
}

/** Prints `message` and a newline to stderr, then exits with `code`. */
export function fail(message: string, code: i32 = EXIT_USAGE): void {
  writeString(STDERR, message + "\n");
  proc_exit(code);
}

/**
 * Reads a WASI string vector (argv or environ): `sizes` fills count and byte size, `get` fills
 * pointers and NUL-terminated strings. Zero entries skips `get`, since some hosts reject its
 * zero-length buffers (the shim's process.env aborts there under node:wasi).
 */
function readStringVector(sizes: (count: usize, bytes: usize) => u16, get: (ptrs: usize, data: usize) => u16): string[] {
  if (sizes(scratch, scratch + 4) != errno.SUCCESS) fail("cannot read arguments or environment", EXIT_IO);
  const count = <i32>load<u32>(scratch);
  const bytes = <usize>load<u32>(scratch, 4);
  const result = new Array<string>(0);
  if (count == 0) return result;
  const ptrs = new ArrayBuffer(count << 2);
  const data = new ArrayBuffer(<i32>max<usize>(bytes, 1));
  if (get(changetype<usize>(ptrs), changetype<usize>(data)) != errno.SUCCESS) fail("cannot read arguments or environment", EXIT_IO);
  for (let i = 0; i < count; i++) {
    const start = <usize>load<u32>(changetype<usize>(ptrs) + (<usize>i << 2));
    let end = start;
    while (load<u8>(end) != 0) end++;
    result.push(String.UTF8.decodeUnsafe(start, end - start));
  }
  return result;
}

/** The program's arguments without argv[0]. */
export function args(): string[] {
  const all = readStringVector(
    (c: usize, b: usize): u16 => args_sizes_get(c, b),
    (p: usize, d: usize): u16 => args_get(p, d),
  );
  return all.length > 1 ? all.slice(1) : [];
}

/** The value of environment variable `name`, or "" if it is not set. */
export function getEnv(name: string): string {
  const all = readStringVector(
    (c: usize, b: usize): u16 => environ_sizes_get(c, b),
    (p: usize, d: usize): u16 => environ_get(p, d),
  );
  const prefix = name + "=";
  for (let i = 0; i < all.length; i++) {
    if (all[i].startsWith(prefix)) return all[i].substring(prefix.length);
  }
  return "";
}

/**
 * Finds the preopened directory that contains the absolute `path` (longest name wins) and
 * returns the descriptor in the low 32 bits and the offset of the relative remainder in the high
 * 32 bits, or -1 if no preopen contains it.
 */
function resolvePreopen(path: string): i64 {
  let bestFd: i64 = -1;
  let bestLen: i32 = -1;
  for (let fd: u32 = 3; ; fd++) {
    if (fd_prestat_get(fd, changetype<prestat>(scratch)) != errno.SUCCESS) break; // EBADF ends the preopen list
    if (load<u8>(scratch) != 0) continue; // not a directory
    const nameLen = load<u32>(scratch, 4);
    const nameBuf = new ArrayBuffer(<i32>nameLen);
    if (fd_prestat_dir_name(fd, changetype<usize>(nameBuf), nameLen) != errno.SUCCESS) continue;
    let name = String.UTF8.decode(nameBuf);
    // Some hosts report the name with a trailing NUL or slash; neither is part of the prefix.
    while (name.length > 1 && (name.endsWith("\0") || name.endsWith("/"))) {
      name = name.substring(0, name.length - 1);
    }
    const matches = path == name || path.startsWith(name + "/");
    if (matches && name.length > bestLen) {
      bestLen = name.length;
      bestFd = <i64>fd;
    }
  }
  if (bestFd < 0) return -1;
  const restAt = bestLen < path.length ? bestLen + 1 : bestLen;
  return bestFd | (<i64>restAt << 32);
}

/** Opens the absolute `path` below a preopened directory; returns the fd or exits with `EXIT_IO`. */
function openPath(path: string, flags: u16, base: u64): u32 {
  const found = resolvePreopen(path);
  if (found < 0) {
    fail("no preopened directory contains " + path, EXIT_IO);
  }
  const dirFd = <u32>(found & 0xffffffff);
  const rel = String.UTF8.encode(path.substring(<i32>(found >> 32)));
  const err = path_open(dirFd, 0, changetype<usize>(rel), <usize>rel.byteLength, flags, base, 0, 0, scratch);
  if (err != errno.SUCCESS) {
    fail("cannot open " + path + " (errno " + err.toString() + ")", EXIT_IO);
  }
  return load<u32>(scratch);
}

/** Reads the whole file at the absolute guest `path` (e.g. /in/book.txt). */
export function readFile(path: string): Uint8Array {
  const fd = openPath(path, 0, rights.FD_READ);
  const data = readAll(fd);
  fd_close(fd);
  return data;
}

/** Creates or truncates the file at the absolute guest `path` (e.g. /out/tile.raw) and writes `len` bytes from `ptr`. */
export function writeFile(path: string, ptr: usize, len: usize): void {
  const fd = openPath(path, oflags.CREAT | oflags.TRUNC, rights.FD_WRITE);
  writeAll(fd, ptr, len);
  fd_close(fd);
}
