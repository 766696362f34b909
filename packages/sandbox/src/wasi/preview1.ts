/**
 * Long because it is the whole preview1 ABI in one place (every function shares one memory view,
 * one fd table and one errno mapping); splitting it would scatter that shared state.
 *
 * Lode's implementation of `wasi_snapshot_preview1`: every function of the preview1 ABI, over
 * an in-memory filesystem, a virtual clock and a seeded random stream. No host resources are
 * reachable (no `node:` imports — this file also runs in browser Web Workers).
 *
 * Guarantees:
 * - Deterministic: the same options give the same results for the same sequence of calls.
 * - Every call returns an errno; a bad guest pointer gives EFAULT. Only two things unwind the
 *   guest: `proc_exit` (throws `ProcExit`) and the output cap (throws `OutputLimitExceeded`).
 * - Sockets are not offered: `sock_*` answer EBADF for a closed fd and ENOTSOCK for an open one;
 *   `proc_raise` answers ENOSYS.
 * - Symlinks and hard links work inside the task's filesystem (see fs.ts for what a symlink may
 *   reach); `path_*` calls follow a symlink at the end of a path only with LOOKUP_SYMLINK_FOLLOW.
 */
import { VirtualClock, CLOCK_STEP_NS } from './clock.js';
import { ClockId, Errno, EventType, FdFlags, FILE_RIGHTS, Filetype, FstFlags, OFlags, Rights, STDIO_RIGHTS, SubClockFlags, Whence } from './constants.js';
import { isErrno, MemoryFs, type DirNode, type FileNode, type Node, type TreeEntry } from './fs.js';
import { GuestFault, GuestMemory } from './memory.js';
import { OutputMeter } from './meter.js';
import { SeededRandom } from './random.js';

/** Thrown by `proc_exit`: unwinds the guest; the task ends with this exit code. */
export class ProcExit extends Error {
  constructor(readonly code: number) {
    super(`proc_exit(${code})`);
    this.name = 'ProcExit';
  }
}

export interface WasiOptions {
  /** Full argv, argv[0] included. */
  args: string[];
  env: Record<string, string>;
  stdin: Uint8Array;
  /** 32 bytes; seeds the clocks and random_get. */
  seed: Uint8Array;
  /** Preopened directories, in fd order from 3. */
  mounts: { guest: string; writable: boolean }[];
  /** Input entries (files, directories, symlinks), each under one of the mounts. */
  files: TreeEntry[];
  maxOutputBytes: number;
  /** Memory cap in pages; memory above it at any host call stops the task. 0 = none. */
  memoryCapPages?: number;
}

/** Thrown by a host call that finds the guest's memory above its cap; it unwinds the guest. */
export class MemoryLimitExceeded extends Error {
  constructor(
    readonly pages: number,
    readonly capPages: number,
  ) {
    super(`The task grew its memory to ${pages} pages (64 KiB each), past its cap of ${capPages} pages.`);
    this.name = 'MemoryLimitExceeded';
  }
}

type StdioFd = { kind: 'stdin' | 'stdout' | 'stderr'; flags: number };
/** `listing`: the entries `fd_readdir` hands out, taken at cookie 0 (see `fd_readdir`). */
type DirFd = { kind: 'dir'; node: DirNode; preopen?: Uint8Array; flags: number; listing?: [string, Node][] };
type FileFd = { kind: 'file'; node: FileNode; pos: number; read: boolean; write: boolean; flags: number };
type Fd = StdioFd | DirFd | FileFd;

const MAX_FDS = 1024;
/**
 * Stdio is a captured byte stream, not a terminal: `unknown`, as wasmtime reports redirected
 * stdio. A character device without seek rights is what wasi-libc's `isatty` takes for a tty,
 * which made C programs line-buffer stdout (one host call per line) and see isatty(1) == 1.
 */
const STDIO_FILETYPE = Filetype.UNKNOWN;
const encoder = new TextEncoder();

/** A byte sink for stdout/stderr that keeps its chunks until the end. */
class Capture {
  private chunks: Uint8Array[] = [];
  length = 0;
  push(b: Uint8Array): void {
    this.chunks.push(b.slice());
    this.length += b.length;
  }
  bytes(): Uint8Array {
    if (this.chunks.length === 1) return this.chunks[0]!;
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}

const LOOKUP_SYMLINK_FOLLOW = 1;

function filetypeOf(node: Node): number {
  return node.kind === 'dir' ? Filetype.DIRECTORY : node.kind === 'symlink' ? Filetype.SYMBOLIC_LINK : Filetype.REGULAR_FILE;
}

function toOffset(v: bigint): number | undefined {
  return v >= 0n && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : undefined;
}

export class Preview1 {
  readonly memory = new GuestMemory();
  readonly fs: MemoryFs;
  readonly stdout = new Capture();
  readonly stderr = new Capture();
  readonly meter: OutputMeter;
  /** Input entries under writable mounts, for the `deleted` list. */
  readonly writableInputs: string[] = [];
  /** Input paths that lie under no mount (the task is malformed). */
  readonly misplaced: string[] = [];
  private readonly clock: VirtualClock;
  private random: SeededRandom | undefined;
  private readonly fds = new Map<number, Fd>();
  private readonly args: Uint8Array[];
  private readonly env: Uint8Array[];
  private stdinPos = 0;

  constructor(private readonly opts: WasiOptions) {
    this.clock = new VirtualClock(opts.seed);
    this.meter = new OutputMeter(opts.maxOutputBytes);
    this.fs = new MemoryFs(this.meter, () => this.clock.peek(ClockId.REALTIME));
    this.args = opts.args.map((a) => encoder.encode(`${a}\0`));
    this.env = Object.keys(opts.env)
      .sort()
      .map((k) => encoder.encode(`${k}=${opts.env[k]}\0`));
    this.fds.set(0, { kind: 'stdin', flags: 0 });
    this.fds.set(1, { kind: 'stdout', flags: FdFlags.APPEND });
    this.fds.set(2, { kind: 'stderr', flags: FdFlags.APPEND });
    let fd = 3;
    for (const m of opts.mounts) {
      const mount = this.fs.mount(m.guest, m.writable);
      if (mount) this.fds.set(fd++, { kind: 'dir', node: mount.root, preopen: encoder.encode(m.guest), flags: 0 });
    }
    for (const f of opts.files) {
      if (!this.fs.place(f)) this.misplaced.push(f.path);
      else if (this.fs.mountOf(f.path)!.writable) this.writableInputs.push(f.path);
    }
  }

  /**
   * The import object's `wasi_snapshot_preview1` namespace: all of preview1, or only `names`
   * (what the module imports — cheaper to build for tiny tasks). Unknown names are left out.
   */
  imports(names: readonly string[] = PREVIEW1_FUNCTIONS): Record<string, (...args: never[]) => unknown> {
    const out: Record<string, (...args: never[]) => unknown> = {};
    for (const name of names) {
      if (!PREVIEW1_SET.has(name)) continue;
      const impl = (this as unknown as Record<string, (...args: unknown[]) => number>)[name]!;
      const cap = this.opts.memoryCapPages ?? 0;
      out[name] = (...args: unknown[]) => {
        if (cap > 0 && this.memory.pages > cap) throw new MemoryLimitExceeded(this.memory.pages, cap);
        // Every i32 in preview1 is unsigned (pointers, lengths, fds, flags); wasm passes them signed.
        for (let i = 0; i < args.length; i++) if (typeof args[i] === 'number') args[i] = (args[i] as number) >>> 0;
        try {
          return impl.apply(this, args);
        } catch (e) {
          if (e instanceof GuestFault) return Errno.FAULT;
          throw e;
        }
      };
    }
    return out;
  }

  /** Input entries under writable mounts that no longer exist. */
  deletedInputs(): string[] {
    return this.writableInputs.filter((p) => this.fs.lookup(p) === undefined).sort();
  }

  // ---- args, environment ----

  args_sizes_get(argcPtr: number, bufSizePtr: number): number {
    return this.sizes(this.args, argcPtr, bufSizePtr);
  }
  args_get(argvPtr: number, bufPtr: number): number {
    return this.strings(this.args, argvPtr, bufPtr);
  }
  environ_sizes_get(countPtr: number, bufSizePtr: number): number {
    return this.sizes(this.env, countPtr, bufSizePtr);
  }
  environ_get(environPtr: number, bufPtr: number): number {
    return this.strings(this.env, environPtr, bufPtr);
  }

  private sizes(list: Uint8Array[], countPtr: number, sizePtr: number): number {
    this.memory.u32(countPtr, list.length);
    this.memory.u32(
      sizePtr,
      list.reduce((n, s) => n + s.length, 0),
    );
    return Errno.SUCCESS;
  }

  private strings(list: Uint8Array[], ptrs: number, buf: number): number {
    for (let i = 0; i < list.length; i++) {
      this.memory.u32(ptrs + i * 4, buf);
      this.memory.bytes(buf, list[i]!.length).set(list[i]!);
      buf += list[i]!.length;
    }
    return Errno.SUCCESS;
  }

  // ---- clocks, randomness, scheduling ----

  clock_res_get(id: number, resPtr: number): number {
    if (!VirtualClock.isValid(id)) return Errno.INVAL;
    this.memory.u64(resPtr, CLOCK_STEP_NS);
    return Errno.SUCCESS;
  }

  clock_time_get(id: number, _precision: bigint, timePtr: number): number {
    if (!VirtualClock.isValid(id)) return Errno.INVAL;
    this.memory.u64(timePtr, this.clock.read(id));
    return Errno.SUCCESS;
  }

  random_get(buf: number, len: number): number {
    this.random ??= new SeededRandom(this.opts.seed); // lazily: most tasks never ask
    this.random.fill(this.memory.bytes(buf, len));
    return Errno.SUCCESS;
  }

  sched_yield(): number {
    return Errno.SUCCESS;
  }

  proc_exit(code: number): never {
    throw new ProcExit(code >>> 0);
  }

  proc_raise(_sig: number): number {
    return Errno.NOSYS;
  }

  /**
   * Stdio and files are always ready, so fd subscriptions fire at once. If none is ready, time
   * jumps to the earliest clock deadline (virtual time: a sleep costs nothing).
   */
  poll_oneoff(inPtr: number, outPtr: number, nsubs: number, neventsPtr: number): number {
    if (nsubs === 0) return Errno.INVAL;
    type Clock = { userdata: bigint; deadline: bigint };
    const clocks: Clock[] = [];
    const events: { userdata: bigint; error: number; type: number; nbytes: bigint }[] = [];
    for (let i = 0; i < nsubs >>> 0; i++) {
      const s = inPtr + i * 48;
      const userdata = this.memory.readU64(s);
      const tag = this.memory.readU8(s + 8);
      if (tag === EventType.CLOCK) {
        const id = this.memory.readU32(s + 16);
        const timeout = this.memory.readU64(s + 24);
        const flags = this.memory.readU16(s + 40);
        if (!VirtualClock.isValid(id)) {
          events.push({ userdata, error: Errno.INVAL, type: tag, nbytes: 0n });
          continue;
        }
        clocks.push({ userdata, deadline: this.clock.deadline(id, timeout, (flags & SubClockFlags.ABSTIME) !== 0) });
      } else if (tag === EventType.FD_READ || tag === EventType.FD_WRITE) {
        const fd = this.fds.get(this.memory.readU32(s + 16));
        let error: number = Errno.SUCCESS;
        let nbytes = 0n;
        if (!fd || fd.kind === 'dir') error = Errno.BADF;
        else if (tag === EventType.FD_READ) {
          if (fd.kind === 'stdin') nbytes = BigInt(this.opts.stdin.length - this.stdinPos);
          else if (fd.kind === 'file') nbytes = BigInt(Math.max(0, fd.node.size - fd.pos));
          else error = Errno.BADF;
        } else if (fd.kind === 'stdin') error = Errno.BADF;
        events.push({ userdata, error, type: tag, nbytes });
      } else {
        return Errno.INVAL;
      }
    }
    if (events.length === 0 && clocks.length > 0) {
      this.clock.advanceTo(clocks.reduce((m, c) => (c.deadline < m ? c.deadline : m), clocks[0]!.deadline));
    }
    for (const c of clocks) {
      if (this.clock.reached(c.deadline)) events.push({ userdata: c.userdata, error: 0, type: EventType.CLOCK, nbytes: 0n });
    }
    for (let i = 0; i < events.length; i++) {
      const e = events[i]!;
      const o = outPtr + i * 32;
      this.memory.bytes(o, 32).fill(0);
      this.memory.u64(o, e.userdata);
      this.memory.u16(o + 8, e.error);
      this.memory.u8At(o + 10, e.type);
      this.memory.u64(o + 16, e.nbytes);
    }
    this.memory.u32(neventsPtr, events.length);
    return Errno.SUCCESS;
  }

  // ---- file descriptors ----

  fd_advise(fd: number, _offset: bigint, _len: bigint, advice: number): number {
    const f = this.fds.get(fd);
    if (!f) return Errno.BADF;
    if (f.kind !== 'file') return f.kind === 'dir' ? Errno.BADF : Errno.SPIPE;
    return advice <= 5 ? Errno.SUCCESS : Errno.INVAL;
  }

  fd_allocate(fd: number, offset: bigint, len: bigint): number {
    const f = this.fds.get(fd);
    if (f?.kind !== 'file' || !f.write) return f?.kind === 'dir' ? Errno.ISDIR : Errno.BADF;
    const end = toOffset(offset + len);
    if (end === undefined) return Errno.FBIG;
    return end > f.node.size ? this.fs.setSize(f.node, end) : Errno.SUCCESS;
  }

  fd_close(fd: number): number {
    return this.fds.delete(fd) ? Errno.SUCCESS : Errno.BADF;
  }

  fd_datasync(fd: number): number {
    return this.fds.has(fd) ? Errno.SUCCESS : Errno.BADF;
  }

  fd_sync(fd: number): number {
    return this.fds.has(fd) ? Errno.SUCCESS : Errno.BADF;
  }

  fd_fdstat_get(fd: number, ptr: number): number {
    const f = this.fds.get(fd);
    if (!f) return Errno.BADF;
    let type: number = STDIO_FILETYPE;
    let base = STDIO_RIGHTS;
    let inheriting = 0n;
    if (f.kind === 'dir') {
      type = Filetype.DIRECTORY;
      base = inheriting = Rights.ALL;
    } else if (f.kind === 'file') {
      type = Filetype.REGULAR_FILE;
      base = FILE_RIGHTS & ~(f.read ? 0n : Rights.FD_READ) & ~(f.write ? 0n : Rights.FD_WRITE);
    }
    this.memory.bytes(ptr, 24).fill(0);
    this.memory.u8At(ptr, type);
    this.memory.u16(ptr + 2, f.flags);
    this.memory.u64(ptr + 8, base);
    this.memory.u64(ptr + 16, inheriting);
    return Errno.SUCCESS;
  }

  fd_fdstat_set_flags(fd: number, flags: number): number {
    const f = this.fds.get(fd);
    if (!f) return Errno.BADF;
    if (flags & ~0x1f) return Errno.INVAL;
    f.flags = flags;
    return Errno.SUCCESS;
  }

  /** Rights can only be dropped; dropping read or write makes those calls fail with EBADF. */
  fd_fdstat_set_rights(fd: number, base: bigint, _inheriting: bigint): number {
    const f = this.fds.get(fd);
    if (!f) return Errno.BADF;
    if (f.kind === 'file') {
      if (f.read === false && (base & Rights.FD_READ) !== 0n) return Errno.NOTCAPABLE;
      if (f.write === false && (base & Rights.FD_WRITE) !== 0n) return Errno.NOTCAPABLE;
      f.read = (base & Rights.FD_READ) !== 0n;
      f.write = (base & Rights.FD_WRITE) !== 0n;
    }
    return Errno.SUCCESS;
  }

  fd_filestat_get(fd: number, ptr: number): number {
    const f = this.fds.get(fd);
    if (!f) return Errno.BADF;
    if (f.kind === 'file' || f.kind === 'dir') return this.writeFilestat(ptr, f.node);
    this.memory.bytes(ptr, 64).fill(0);
    this.memory.u8At(ptr + 16, STDIO_FILETYPE);
    this.memory.u64(ptr + 24, 1);
    return Errno.SUCCESS;
  }

  fd_filestat_set_size(fd: number, size: bigint): number {
    const f = this.fds.get(fd);
    if (!f) return Errno.BADF;
    if (f.kind === 'dir') return Errno.ISDIR;
    if (f.kind !== 'file' || !f.write) return Errno.BADF;
    const n = toOffset(size);
    return n === undefined ? Errno.FBIG : this.fs.setSize(f.node, n);
  }

  fd_filestat_set_times(fd: number, atim: bigint, mtim: bigint, flags: number): number {
    const f = this.fds.get(fd);
    if (!f) return Errno.BADF;
    if (f.kind !== 'file' && f.kind !== 'dir') return Errno.SUCCESS; // stdio has no times to keep
    return this.setTimes(f.node, atim, mtim, flags);
  }

  fd_pread(fd: number, iovs: number, iovsLen: number, offset: bigint, nreadPtr: number): number {
    const f = this.fds.get(fd);
    if (!f) return Errno.BADF;
    if (f.kind === 'dir') return Errno.ISDIR;
    if (f.kind !== 'file') return Errno.SPIPE;
    if (!f.read) return Errno.BADF;
    let at = toOffset(offset);
    if (at === undefined) return Errno.INVAL;
    let total = 0;
    for (const buf of this.memory.iovecs(iovs, iovsLen)) {
      const n = this.fs.read(f.node, at, buf);
      total += n;
      at += n;
      if (n < buf.length) break;
    }
    this.memory.u32(nreadPtr, total);
    return Errno.SUCCESS;
  }

  fd_pwrite(fd: number, iovs: number, iovsLen: number, offset: bigint, nwrittenPtr: number): number {
    const f = this.fds.get(fd);
    if (!f) return Errno.BADF;
    if (f.kind === 'dir') return Errno.ISDIR;
    if (f.kind !== 'file') return Errno.SPIPE;
    if (!f.write) return Errno.BADF;
    const at = toOffset(offset);
    if (at === undefined) return Errno.INVAL;
    const data = concat(this.memory.iovecs(iovs, iovsLen));
    const err = this.fs.write(f.node, at, data);
    if (err) return err;
    this.memory.u32(nwrittenPtr, data.length);
    return Errno.SUCCESS;
  }

  fd_read(fd: number, iovs: number, iovsLen: number, nreadPtr: number): number {
    const f = this.fds.get(fd);
    if (!f) return Errno.BADF;
    if (f.kind === 'dir') return Errno.ISDIR;
    let total = 0;
    if (f.kind === 'stdin') {
      const src = this.opts.stdin;
      for (const buf of this.memory.iovecs(iovs, iovsLen)) {
        const n = Math.min(buf.length, src.length - this.stdinPos);
        buf.set(src.subarray(this.stdinPos, this.stdinPos + n));
        this.stdinPos += n;
        total += n;
        if (n < buf.length) break;
      }
    } else if (f.kind === 'file' && f.read) {
      for (const buf of this.memory.iovecs(iovs, iovsLen)) {
        const n = this.fs.read(f.node, f.pos, buf);
        f.pos += n;
        total += n;
        if (n < buf.length) break;
      }
    } else {
      return Errno.BADF;
    }
    this.memory.u32(nreadPtr, total);
    return Errno.SUCCESS;
  }

  fd_write(fd: number, iovs: number, iovsLen: number, nwrittenPtr: number): number {
    const f = this.fds.get(fd);
    if (!f) return Errno.BADF;
    const bufs = this.memory.iovecs(iovs, iovsLen);
    let total = 0;
    for (const b of bufs) total += b.length;
    if (f.kind === 'stdout' || f.kind === 'stderr') {
      this.meter.charge(total);
      const sink = f.kind === 'stdout' ? this.stdout : this.stderr;
      for (const b of bufs) if (b.length > 0) sink.push(b);
    } else if (f.kind === 'file' && f.write) {
      if (f.flags & FdFlags.APPEND) f.pos = f.node.size;
      const err = this.fs.write(f.node, f.pos, bufs.length === 1 ? bufs[0]! : concat(bufs));
      if (err) return err;
      f.pos += total;
    } else {
      return Errno.BADF;
    }
    this.memory.u32(nwrittenPtr, total);
    return Errno.SUCCESS;
  }

  fd_prestat_get(fd: number, ptr: number): number {
    const f = this.fds.get(fd);
    if (f?.kind !== 'dir' || !f.preopen) return Errno.BADF;
    this.memory.u32(ptr, 0); // tag 0 = directory (padding zeroed)
    this.memory.u32(ptr + 4, f.preopen.length);
    return Errno.SUCCESS;
  }

  fd_prestat_dir_name(fd: number, pathPtr: number, pathLen: number): number {
    const f = this.fds.get(fd);
    if (f?.kind !== 'dir' || !f.preopen) return Errno.BADF;
    if (pathLen < f.preopen.length) return Errno.NAMETOOLONG;
    this.memory.bytes(pathPtr, f.preopen.length).set(f.preopen);
    return Errno.SUCCESS;
  }

  /**
   * Entries: `.`, `..`, then names in sorted order; the cookie is the index of the next entry.
   * The listing is taken when a read starts (cookie 0) and kept on the fd, so cookies stay valid
   * while the directory changes: a program that deletes entries as it lists them (rm -r) still
   * sees every entry once, as POSIX requires of readdir.
   */
  fd_readdir(fd: number, buf: number, bufLen: number, cookie: bigint, bufusedPtr: number): number {
    const f = this.fds.get(fd);
    if (!f) return Errno.BADF;
    if (f.kind !== 'dir') return Errno.NOTDIR;
    const dir = f.node;
    if (cookie === 0n || !f.listing) {
      const names = [...dir.entries.keys()].sort();
      f.listing = [['.', dir], ['..', dir.parent ?? dir], ...names.map((n) => [n, dir.entries.get(n)!] as [string, Node])];
    }
    const entries = f.listing;
    const out = this.memory.bytes(buf, bufLen);
    const header = new Uint8Array(24);
    const hv = new DataView(header.buffer);
    let used = 0;
    for (let i = cookie > BigInt(entries.length) ? entries.length : Number(cookie); i < entries.length && used < bufLen; i++) {
      const [name, node] = entries[i]!;
      const nameBytes = encoder.encode(name);
      hv.setBigUint64(0, BigInt(i + 1), true);
      hv.setBigUint64(8, node.ino, true);
      hv.setUint32(16, nameBytes.length, true);
      hv.setUint32(20, filetypeOf(node), true);
      // A truncated last entry tells the caller to retry with a bigger buffer (bufused == buf_len).
      for (const part of [header, nameBytes]) {
        const n = Math.min(part.length, bufLen - used);
        out.set(part.subarray(0, n), used);
        used += n;
      }
    }
    this.memory.u32(bufusedPtr, used);
    return Errno.SUCCESS;
  }

  fd_renumber(from: number, to: number): number {
    const f = this.fds.get(from);
    if (!f || !this.fds.has(to)) return Errno.BADF;
    this.fds.set(to, f);
    if (from !== to) this.fds.delete(from);
    return Errno.SUCCESS;
  }

  fd_seek(fd: number, offset: bigint, whence: number, newOffsetPtr: number): number {
    const f = this.fds.get(fd);
    if (!f) return Errno.BADF;
    if (f.kind === 'dir') return Errno.BADF;
    if (f.kind !== 'file') return Errno.SPIPE;
    let base: number;
    if (whence === Whence.SET) base = 0;
    else if (whence === Whence.CUR) base = f.pos;
    else if (whence === Whence.END) base = f.node.size;
    else return Errno.INVAL;
    const next = toOffset(BigInt(base) + offset);
    if (next === undefined) return Errno.INVAL;
    f.pos = next;
    this.memory.u64(newOffsetPtr, next);
    return Errno.SUCCESS;
  }

  fd_tell(fd: number, ptr: number): number {
    const f = this.fds.get(fd);
    if (!f) return Errno.BADF;
    if (f.kind !== 'file') return f.kind === 'dir' ? Errno.BADF : Errno.SPIPE;
    this.memory.u64(ptr, f.pos);
    return Errno.SUCCESS;
  }

  // ---- paths ----

  path_create_directory(fd: number, pathPtr: number, pathLen: number): number {
    const r = this.resolveAt(fd, pathPtr, pathLen);
    if (isErrno(r)) return r;
    if (r.node) return Errno.EXIST;
    const made = this.fs.createDir(r.parent, r.name);
    return isErrno(made) ? made : Errno.SUCCESS;
  }

  path_filestat_get(fd: number, flags: number, pathPtr: number, pathLen: number, ptr: number): number {
    const r = this.resolveAt(fd, pathPtr, pathLen, flags);
    if (isErrno(r)) return r;
    if (!r.node) return Errno.NOENT;
    if (r.trailingSlash && r.node.kind !== 'dir') return Errno.NOTDIR;
    return this.writeFilestat(ptr, r.node);
  }

  path_filestat_set_times(fd: number, flags: number, pathPtr: number, pathLen: number, atim: bigint, mtim: bigint, fst: number): number {
    const r = this.resolveAt(fd, pathPtr, pathLen, flags);
    if (isErrno(r)) return r;
    if (!r.node) return Errno.NOENT;
    return this.setTimes(r.node, atim, mtim, fst);
  }

  /** A hard link: files only (a directory is PERM, as on Linux); within one mount. */
  path_link(oldFd: number, oldFlags: number, oldPtr: number, oldLen: number, newFd: number, newPtr: number, newLen: number): number {
    const from = this.resolveAt(oldFd, oldPtr, oldLen, oldFlags);
    if (isErrno(from)) return from;
    const to = this.resolveAt(newFd, newPtr, newLen);
    if (isErrno(to)) return to;
    if (!from.node) return Errno.NOENT;
    if (to.node) return Errno.EXIST;
    if (from.node.kind === 'dir') return Errno.PERM;
    if (from.node.kind === 'symlink') return Errno.NOTSUP; // linkat(2) without AT_SYMLINK_FOLLOW on a link: not offered
    if (to.trailingSlash) return Errno.NOENT;
    return this.fs.link(from.node, to.parent, to.name);
  }

  path_open(
    fd: number,
    dirflags: number,
    pathPtr: number,
    pathLen: number,
    oflags: number,
    rightsBase: bigint,
    _rightsInheriting: bigint,
    fdflags: number,
    fdPtr: number,
  ): number {
    // O_CREAT|O_EXCL never follows a symlink at the end (open(2)): the link itself exists.
    const exclusive = (oflags & OFlags.CREAT) !== 0 && (oflags & OFlags.EXCL) !== 0;
    const r = this.resolveAt(fd, pathPtr, pathLen, exclusive ? 0 : dirflags);
    if (isErrno(r)) return r;
    // Not followed (O_NOFOLLOW): opening a symlink itself is LOOP, as open(2) says.
    if (r.node?.kind === 'symlink') return exclusive ? Errno.EXIST : Errno.LOOP;
    const wantsDir = (oflags & OFlags.DIRECTORY) !== 0;
    const write = (rightsBase & Rights.FD_WRITE) !== 0n || (fdflags & FdFlags.APPEND) !== 0;
    const truncate = (oflags & OFlags.TRUNC) !== 0;
    let node = r.node;
    if (!node) {
      if (!(oflags & OFlags.CREAT)) return Errno.NOENT;
      if (wantsDir || r.trailingSlash) return Errno.ISDIR;
      const created = this.fs.createFile(r.parent, r.name);
      if (isErrno(created)) return created;
      node = created;
    } else if (oflags & OFlags.CREAT && oflags & OFlags.EXCL) {
      return Errno.EXIST;
    }
    if (this.fds.size >= MAX_FDS) return Errno.MFILE;
    const next = this.lowestFreeFd();
    if (node.kind === 'dir') {
      if (write || truncate) return Errno.ISDIR;
      this.fds.set(next, { kind: 'dir', node, flags: fdflags });
    } else {
      if (wantsDir || r.trailingSlash) return Errno.NOTDIR;
      if ((write || truncate) && !node.mount.writable) return Errno.ROFS;
      if (truncate && node.size > 0) {
        const err = this.fs.setSize(node, 0);
        if (err) return err;
      }
      this.fds.set(next, { kind: 'file', node, pos: 0, read: (rightsBase & Rights.FD_READ) !== 0n, write, flags: fdflags });
    }
    this.memory.u32(fdPtr, next);
    return Errno.SUCCESS;
  }

  /** The link's target, truncated to the buffer (as readlink(2) does). */
  path_readlink(fd: number, pathPtr: number, pathLen: number, buf: number, bufLen: number, usedPtr: number): number {
    const r = this.resolveAt(fd, pathPtr, pathLen);
    if (isErrno(r)) return r;
    if (!r.node) return Errno.NOENT;
    if (r.node.kind !== 'symlink') return Errno.INVAL;
    const target = encoder.encode(r.node.target);
    const n = Math.min(target.length, bufLen);
    this.memory.bytes(buf, n).set(target.subarray(0, n));
    this.memory.u32(usedPtr, n);
    return Errno.SUCCESS;
  }

  path_remove_directory(fd: number, pathPtr: number, pathLen: number): number {
    const r = this.resolveAt(fd, pathPtr, pathLen);
    if (isErrno(r)) return r;
    return this.fs.removeDir(r.parent, r.name);
  }

  path_rename(fd: number, oldPtr: number, oldLen: number, newFd: number, newPtr: number, newLen: number): number {
    const from = this.resolveAt(fd, oldPtr, oldLen);
    if (isErrno(from)) return from;
    const to = this.resolveAt(newFd, newPtr, newLen);
    if (isErrno(to)) return to;
    if (!from.node) return Errno.NOENT;
    return this.fs.rename(from.parent, from.name, to.parent, to.name);
  }

  path_symlink(oldPtr: number, oldLen: number, fd: number, newPtr: number, newLen: number): number {
    const target = this.memory.string(oldPtr, oldLen);
    if (target.includes('\0')) return Errno.INVAL;
    const r = this.resolveAt(fd, newPtr, newLen);
    if (isErrno(r)) return r;
    if (r.node) return Errno.EXIST;
    if (r.trailingSlash) return Errno.NOENT;
    const made = this.fs.createLink(r.parent, r.name, target);
    return isErrno(made) ? made : Errno.SUCCESS;
  }

  path_unlink_file(fd: number, pathPtr: number, pathLen: number): number {
    const r = this.resolveAt(fd, pathPtr, pathLen);
    if (isErrno(r)) return r;
    if (r.trailingSlash && r.node?.kind !== 'dir') return r.node ? Errno.NOTDIR : Errno.NOENT;
    return this.fs.unlink(r.parent, r.name);
  }

  // ---- sockets: not offered, so no descriptor is one: ENOTSOCK for an open one, EBADF otherwise (as the specification says) ----

  sock_accept(fd: number, _flags: number, _fdPtr: number): number {
    return this.fds.has(fd) ? Errno.NOTSOCK : Errno.BADF;
  }
  sock_recv(fd: number, _ri: number, _riLen: number, _riFlags: number, _nPtr: number, _flagsPtr: number): number {
    return this.fds.has(fd) ? Errno.NOTSOCK : Errno.BADF;
  }
  sock_send(fd: number, _si: number, _siLen: number, _siFlags: number, _nPtr: number): number {
    return this.fds.has(fd) ? Errno.NOTSOCK : Errno.BADF;
  }
  sock_shutdown(fd: number, _how: number): number {
    return this.fds.has(fd) ? Errno.NOTSOCK : Errno.BADF;
  }

  // ---- helpers ----

  /** `lookupFlags`: LOOKUP_SYMLINK_FOLLOW (bit 0) follows a symlink at the end of the path. */
  private resolveAt(fd: number, pathPtr: number, pathLen: number, lookupFlags = 0) {
    const f = this.fds.get(fd);
    if (!f) return Errno.BADF;
    if (f.kind !== 'dir') return Errno.NOTDIR;
    const path = this.memory.string(pathPtr, pathLen);
    if (path.includes('\0')) return Errno.INVAL;
    return this.fs.resolve(f.node, path, (lookupFlags & LOOKUP_SYMLINK_FOLLOW) !== 0);
  }

  private lowestFreeFd(): number {
    let fd = 0;
    while (this.fds.has(fd)) fd++;
    return fd;
  }

  private writeFilestat(ptr: number, node: Node): number {
    this.memory.bytes(ptr, 64).fill(0);
    this.memory.u64(ptr, 0); // dev
    this.memory.u64(ptr + 8, node.ino);
    this.memory.u8At(ptr + 16, filetypeOf(node));
    this.memory.u64(ptr + 24, node.kind === 'file' ? node.nlink : 1);
    this.memory.u64(ptr + 32, node.kind === 'dir' ? 4096 : node.kind === 'symlink' ? encoder.encode(node.target).length : node.size);
    this.memory.u64(ptr + 40, node.atim);
    this.memory.u64(ptr + 48, node.mtim);
    this.memory.u64(ptr + 56, node.ctim);
    return Errno.SUCCESS;
  }

  private setTimes(node: Node, atim: bigint, mtim: bigint, flags: number): number {
    if ((flags & FstFlags.ATIM && flags & FstFlags.ATIM_NOW) || (flags & FstFlags.MTIM && flags & FstFlags.MTIM_NOW)) return Errno.INVAL;
    if (!node.mount.writable) return Errno.ROFS;
    const now = this.clock.peek(ClockId.REALTIME);
    if (flags & FstFlags.ATIM) node.atim = atim;
    else if (flags & FstFlags.ATIM_NOW) node.atim = now;
    if (flags & FstFlags.MTIM) node.mtim = mtim;
    else if (flags & FstFlags.MTIM_NOW) node.mtim = now;
    return Errno.SUCCESS;
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  n = 0;
  for (const p of parts) {
    out.set(p, n);
    n += p.length;
  }
  return out;
}

/** Every function of `wasi_snapshot_preview1`; a module may import only these. */
export const PREVIEW1_FUNCTIONS = [
  'args_get',
  'args_sizes_get',
  'environ_get',
  'environ_sizes_get',
  'clock_res_get',
  'clock_time_get',
  'fd_advise',
  'fd_allocate',
  'fd_close',
  'fd_datasync',
  'fd_fdstat_get',
  'fd_fdstat_set_flags',
  'fd_fdstat_set_rights',
  'fd_filestat_get',
  'fd_filestat_set_size',
  'fd_filestat_set_times',
  'fd_pread',
  'fd_prestat_get',
  'fd_prestat_dir_name',
  'fd_pwrite',
  'fd_read',
  'fd_readdir',
  'fd_renumber',
  'fd_seek',
  'fd_sync',
  'fd_tell',
  'fd_write',
  'path_create_directory',
  'path_filestat_get',
  'path_filestat_set_times',
  'path_link',
  'path_open',
  'path_readlink',
  'path_remove_directory',
  'path_rename',
  'path_symlink',
  'path_unlink_file',
  'poll_oneoff',
  'proc_exit',
  'proc_raise',
  'sched_yield',
  'random_get',
  'sock_accept',
  'sock_recv',
  'sock_send',
  'sock_shutdown',
] as const;
const PREVIEW1_SET = new Set<string>(PREVIEW1_FUNCTIONS);
