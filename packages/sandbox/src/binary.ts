/**
 * Just enough of the WebAssembly binary format to read a module's sections, imports, exports
 * and memory limits, and to re-encode limits. Callers validate the module first
 * (`WebAssembly.validate`), so the reader may assume well-formed input and only guards bounds.
 */

export class Reader {
  constructor(
    readonly bytes: Uint8Array,
    public pos = 0,
  ) {}

  get done(): boolean {
    return this.pos >= this.bytes.length;
  }

  byte(): number {
    if (this.pos >= this.bytes.length) throw new RangeError('unexpected end of module');
    return this.bytes[this.pos++]!;
  }

  /** Unsigned LEB128 up to 32 bits. */
  u32(): number {
    return this.leb128(35);
  }

  /** Unsigned LEB128 up to 64 bits (memory64 limits), as a number (exact below 2^53). */
  u64(): number {
    return this.leb128(70);
  }

  private leb128(maxShift: number): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = this.byte();
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
      shift += 7;
      if (shift > maxShift) throw new RangeError('LEB128 too long');
    }
  }

  name(): string {
    const len = this.u32();
    const s = new TextDecoder().decode(this.bytes.subarray(this.pos, this.pos + len));
    this.pos += len;
    return s;
  }

  skip(n: number): void {
    this.pos += n;
  }
}

/** Signed LEB128 encoding of a safe integer. */
export function sleb128(value: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = ((value % 128) + 128) % 128;
    value = Math.floor(value / 128);
    if ((value === 0 && (b & 0x40) === 0) || (value === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

/** A growable byte buffer for writing modules. */
export class Writer {
  private buf = new Uint8Array(1024);
  length = 0;

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  byte(b: number): void {
    this.reserve(1);
    this.buf[this.length++] = b;
  }

  bytes(part: ArrayLike<number>): void {
    this.reserve(part.length);
    this.buf.set(part, this.length);
    this.length += part.length;
  }

  u32(n: number): void {
    this.bytes(leb128(n));
  }

  /** The bytes written so far (a view; copy it if the writer is used again). */
  done(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}

/** Unsigned LEB128 encoding. */
export function leb128(value: number): number[] {
  const out: number[] = [];
  do {
    let b = value % 128;
    value = Math.floor(value / 128);
    if (value > 0) b |= 0x80;
    out.push(b);
  } while (value > 0);
  return out;
}

export interface Section {
  id: number;
  /** Offset of the section id byte. */
  start: number;
  /** Offset of the first payload byte. */
  payloadStart: number;
  /** Offset just past the section. */
  end: number;
}

export const SectionId = {
  Custom: 0,
  Type: 1,
  Import: 2,
  Function: 3,
  Table: 4,
  Memory: 5,
  Global: 6,
  Export: 7,
  Start: 8,
  Element: 9,
  Code: 10,
  Data: 11,
  DataCount: 12,
  Tag: 13,
} as const;

/** Where each known section must appear, in the order the binary format requires. */
export const SECTION_ORDER: readonly number[] = [1, 2, 3, 4, 5, 13, 6, 7, 8, 9, 12, 10, 11];

const MAGIC = [0x00, 0x61, 0x73, 0x6d];

export function hasWasmHeader(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && MAGIC.every((b, i) => bytes[i] === b);
}

/** The module's sections in order (after the 8-byte header). */
export function readSections(bytes: Uint8Array): Section[] {
  const r = new Reader(bytes, 8);
  const out: Section[] = [];
  while (!r.done) {
    const start = r.pos;
    const id = r.byte();
    const size = r.u32();
    const payloadStart = r.pos;
    r.skip(size);
    out.push({ id, start, payloadStart, end: r.pos });
  }
  return out;
}

export interface Limits {
  min: number;
  max: number | null;
  shared: boolean;
  memory64: boolean;
  /** Byte range of the limits inside the module, for rewriting. */
  start: number;
  end: number;
}

/** Reads memory limits: flags byte (bit0 has-max, bit1 shared, bit2 memory64), min, max?. */
export function readLimits(r: Reader): Limits {
  const start = r.pos;
  const flags = r.byte();
  const memory64 = (flags & 4) !== 0;
  const min = memory64 ? r.u64() : r.u32();
  const max = flags & 1 ? (memory64 ? r.u64() : r.u32()) : null;
  return { min, max, shared: (flags & 2) !== 0, memory64, start, end: r.pos };
}

export function encodeLimits(l: { min: number; max: number; shared: boolean }): number[] {
  return [0x01 | (l.shared ? 0x02 : 0), ...leb128(l.min), ...leb128(l.max)];
}
