/**
 * Reuses WebAssembly memories between tasks. Mapping a fresh memory (V8 reserves its guard
 * region, the kernel zero-fills it, the garbage collector unmaps it later) is most of the cost
 * of a tiny task; zeroing 64 KiB is not. A memory is only kept if the task left it at its
 * initial size (a memory cannot shrink) and it is small; it is zeroed when released, so the
 * next task starts from exactly the state a fresh memory has.
 */
export class MemoryPool {
  private readonly free = new Map<string, WebAssembly.Memory[]>();

  /**
   * @param maxPages memories larger than this are never kept (zeroing them would cost more than mapping). @default 16 (1 MiB)
   * @param maxPerShape how many idle memories of one (initial, maximum) shape are kept. @default 4
   */
  constructor(
    private readonly maxPages = 16,
    private readonly maxPerShape = 4,
  ) {}

  acquire(initial: number, maximum: number): WebAssembly.Memory {
    return this.free.get(`${initial}/${maximum}`)?.pop() ?? new WebAssembly.Memory({ initial, maximum });
  }

  /** Gives a memory back once its task is over and nothing reads it any more. */
  release(memory: WebAssembly.Memory, initial: number, maximum: number): void {
    const buffer = memory.buffer;
    if (initial > this.maxPages || buffer.byteLength !== initial * 65536) return;
    const key = `${initial}/${maximum}`;
    let list = this.free.get(key);
    if (!list) this.free.set(key, (list = []));
    if (list.length >= this.maxPerShape) return;
    new Uint8Array(buffer).fill(0);
    list.push(memory);
  }
}
