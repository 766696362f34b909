/**
 * Bounds-checked access to the guest's linear memory. Every host call reads and writes guest
 * memory through this, so a bad pointer becomes EFAULT for the call instead of a host error.
 * Views are refreshed when the memory grows (a grow detaches the old ArrayBuffer).
 */

/** Thrown by a bounds check; the host-call wrapper turns it into `Errno.FAULT`. */
export class GuestFault extends Error {
  constructor(ptr: number, len: number) {
    super(`guest pointer ${ptr}+${len} is outside linear memory`);
  }
}

const decoder = new TextDecoder();

export class GuestMemory {
  private memory: WebAssembly.Memory | undefined;
  private buffer: ArrayBuffer | undefined;
  private dv!: DataView;
  private u8!: Uint8Array;

  attach(memory: WebAssembly.Memory | undefined): void {
    this.memory = memory;
    this.buffer = undefined;
  }

  /** Current size in 64 KiB pages (0 when the module has no memory). */
  get pages(): number {
    return this.memory ? this.memory.buffer.byteLength / 65536 : 0;
  }

  private refresh(): void {
    if (!this.memory) throw new GuestFault(0, 0);
    const buf = this.memory.buffer as ArrayBuffer;
    if (buf !== this.buffer) {
      this.buffer = buf;
      this.dv = new DataView(buf);
      this.u8 = new Uint8Array(buf);
    }
  }

  private check(ptr: number, len: number): void {
    this.refresh();
    if (ptr < 0 || len < 0 || ptr + len > this.u8.length) throw new GuestFault(ptr, len);
  }

  /** A live view of guest bytes (valid until the next grow). */
  bytes(ptr: number, len: number): Uint8Array {
    ptr >>>= 0;
    len >>>= 0;
    this.check(ptr, len);
    return this.u8.subarray(ptr, ptr + len);
  }

  string(ptr: number, len: number): string {
    return decoder.decode(this.bytes(ptr, len));
  }

  u8At(ptr: number, value: number): void {
    this.check((ptr >>>= 0), 1);
    this.u8[ptr] = value;
  }

  u16(ptr: number, value: number): void {
    this.check((ptr >>>= 0), 2);
    this.dv.setUint16(ptr, value, true);
  }

  u32(ptr: number, value: number): void {
    this.check((ptr >>>= 0), 4);
    this.dv.setUint32(ptr, value, true);
  }

  u64(ptr: number, value: bigint | number): void {
    this.check((ptr >>>= 0), 8);
    this.dv.setBigUint64(ptr, BigInt(value), true);
  }

  readU8(ptr: number): number {
    this.check((ptr >>>= 0), 1);
    return this.u8[ptr]!;
  }

  readU16(ptr: number): number {
    this.check((ptr >>>= 0), 2);
    return this.dv.getUint16(ptr, true);
  }

  readU32(ptr: number): number {
    this.check((ptr >>>= 0), 4);
    return this.dv.getUint32(ptr, true);
  }

  readU64(ptr: number): bigint {
    this.check((ptr >>>= 0), 8);
    return this.dv.getBigUint64(ptr, true);
  }

  /** The (ptr, len) pairs of an iovec/ciovec array, bounds-checked. */
  iovecs(ptr: number, count: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (let i = 0; i < count >>> 0; i++) {
      out.push(this.bytes(this.readU32(ptr + i * 8), this.readU32(ptr + i * 8 + 4)));
    }
    return out;
  }
}
