/**
 * Deterministic randomness for `random_get`: sha256 in counter mode over a key derived from the
 * task seed. The stream depends only on the seed and on how many bytes were drawn before, so
 * replicas of a task draw identical bytes, and different seeds give unrelated streams.
 *
 *   key      = sha256("lode/random/v1" || seed)
 *   block(i) = sha256(key || u64le(i))          stream = block(0) || block(1) || ...
 */
import { sha256 } from '@noble/hashes/sha2';

const DOMAIN = new TextEncoder().encode('lode/random/v1');

export class SeededRandom {
  /** key (32 bytes) followed by the little-endian block counter (8 bytes). */
  private readonly input = new Uint8Array(40);
  private readonly counter = new DataView(this.input.buffer, 32, 8);
  private block: Uint8Array = new Uint8Array(0);
  private used = 0;
  private next = 0n;

  constructor(seed: Uint8Array) {
    const domained = new Uint8Array(DOMAIN.length + seed.length);
    domained.set(DOMAIN);
    domained.set(seed, DOMAIN.length);
    this.input.set(sha256(domained));
  }

  /** Fills `out` with the next bytes of the stream. */
  fill(out: Uint8Array): void {
    let at = 0;
    while (at < out.length) {
      if (this.used === this.block.length) {
        this.counter.setBigUint64(0, this.next++, true);
        this.block = sha256(this.input);
        this.used = 0;
      }
      const n = Math.min(out.length - at, this.block.length - this.used);
      out.set(this.block.subarray(this.used, this.used + n), at);
      this.used += n;
      at += n;
    }
  }
}
