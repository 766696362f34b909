/**
 * A byte-bounded LRU map. Guarantees: the sum of held values' sizes never exceeds `maxBytes`;
 * a value larger than `maxBytes` is not held at all; `get` refreshes recency.
 */
export class ByteLru<V extends { byteLength: number }> {
  readonly #map = new Map<string, V>();
  #bytes = 0;

  constructor(readonly maxBytes: number) {}

  get bytes(): number {
    return this.#bytes;
  }

  get size(): number {
    return this.#map.size;
  }

  get(key: string): V | undefined {
    const v = this.#map.get(key);
    if (v === undefined) return undefined;
    this.#map.delete(key);
    this.#map.set(key, v);
    return v;
  }

  set(key: string, value: V): void {
    this.delete(key);
    if (value.byteLength > this.maxBytes) return;
    this.#map.set(key, value);
    this.#bytes += value.byteLength;
    for (const [k, v] of this.#map) {
      if (this.#bytes <= this.maxBytes) break;
      this.#map.delete(k);
      this.#bytes -= v.byteLength;
    }
  }

  delete(key: string): void {
    const v = this.#map.get(key);
    if (v === undefined) return;
    this.#map.delete(key);
    this.#bytes -= v.byteLength;
  }
}
