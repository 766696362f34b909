/**
 * The modules a pool can run, prepared in a worker (preparer.ts): the metered bytes once per
 * hash, a compiled `WebAssembly.Module` once per (hash, memory cap), and the refusals. Shared by
 * the Node pool and the browser pool, so both accept, refuse and remember the same modules.
 *
 * Guarantees:
 * - One preparation per hash at a time (concurrent `add`s share it), one compile per (hash, cap).
 * - A module refused by a rule (InvalidModuleError: a cap, a feature) is refused again at once,
 *   for good; one refused for want of time or a crashed worker (SANDBOX_TIMEOUT,
 *   SANDBOX_WORKER_CRASHED) for `transientMs`, then prepared again. At most `maxRefused`
 *   refusals are remembered (the oldest go first).
 * - `compile` never rejects: a failure is a `{ error }` the task fails with. A compile that ran
 *   out of time or crashed is not kept: the next task tries again.
 * - Bounded: at most `maxModules` modules and `maxSourceBytes` of metered bytes are kept; past
 *   either, the least recently used go (`onEvict` tells the pool, whose workers drop their
 *   copies). An evicted module is simply added again by the next task that needs it.
 */
import { BlobHashMismatchError, InvalidModuleError, SandboxError, SandboxErrorCode, type LodeError } from '@lode/protocol';
import { PreparerBusyError, SandboxClosedError } from './errors.js';
import { fromErrorData } from './prepare.js';
import type { Preparer } from './preparer.js';

export type Compiled = { module: WebAssembly.Module } | { error: SandboxError };

export interface ModuleStoreOptions {
  preparer: Preparer;
  /** Meter fuel (instrumentModule). @default true */
  metering?: boolean;
  /** The memory cap (in pages) compiled with a module's first preparation. */
  firstPages: number;
  /** @default 10 minutes */
  transientMs?: number;
  /** @default 1024 */
  maxRefused?: number;
  /** @default Date.now */
  now?: () => number;
  /** Modules kept. @default 256 */
  maxModules?: number;
  /** Metered bytes kept, all modules together. @default 1 GiB */
  maxSourceBytes?: number;
  /** Called with each evicted hash and the keys (`hash/pages`) its compiled modules had. */
  onEvict?: (hash: string, keys: string[]) => void;
}

export class ModuleStore {
  /** What runs, by module hash: the module metered (or as added). */
  private readonly sources = new Map<string, Uint8Array>();
  private readonly adding = new Map<string, Promise<void>>();
  private readonly refused = new Map<string, { error: LodeError; until: number }>();
  private readonly compiling = new Map<string, Promise<Compiled>>();
  private readonly ready = new Map<string, Compiled>();
  /** The memory caps each module is compiled for, by hash (for eviction). */
  private readonly caps = new Map<string, Set<number>>();
  private sourceBytes = 0;
  private closed = false;

  constructor(private readonly o: ModuleStoreOptions) {}

  has(hash: string): boolean {
    return this.sources.has(hash);
  }

  /**
   * Prepares the module. Throws BlobHashMismatchError, InvalidModuleError, SandboxError
   * (SANDBOX_TIMEOUT, SANDBOX_WORKER_CRASHED), SandboxClosedError.
   */
  add(hash: string, bytes: Uint8Array): Promise<void> {
    if (this.closed) return Promise.reject(new SandboxClosedError());
    if (this.sources.has(hash)) return Promise.resolve();
    const refusal = this.refused.get(hash);
    if (refusal && refusal.until > this.now()) return Promise.reject(refusal.error);
    let adding = this.adding.get(hash);
    if (!adding) {
      adding = this.prepare(hash, bytes).finally(() => this.adding.delete(hash));
      this.adding.set(hash, adding);
    }
    return adding;
  }

  /** The module compiled for `pages`, if it is ready now (and the module counts as used). */
  compiled(hash: string, pages: number): Compiled | undefined {
    const c = this.ready.get(`${hash}/${pages}`);
    if (c) this.touch(hash);
    return c;
  }

  /** The module compiled for `pages` (once per cap). */
  compile(hash: string, pages: number): Promise<Compiled> {
    const key = `${hash}/${pages}`;
    const ready = this.ready.get(key);
    if (ready) return Promise.resolve(ready);
    const source = this.sources.get(hash);
    if (!source) return Promise.resolve({ error: new SandboxError(SandboxErrorCode.BlobUnavailable, `Module ${hash} is no longer held here; add it again.`) });
    this.touch(hash);
    let p = this.compiling.get(key);
    if (!p) {
      p = this.o.preparer.run({ t: 'compile', source, pages }).then(
        (reply): Compiled => {
          const outcome = reply.ok ? reply.compiled : { error: reply.error };
          const c: Compiled = 'module' in outcome ? { module: outcome.module } : { error: asSandboxError(fromErrorData(outcome.error)) };
          this.compiling.delete(key);
          if (this.sources.has(hash)) this.keep(hash, pages, c); // not if evicted meanwhile
          return c;
        },
        (e: unknown): Compiled => {
          this.compiling.delete(key);
          return { error: asSandboxError(e) };
        },
      );
      this.compiling.set(key, p);
    }
    return p;
  }

  close(): void {
    this.closed = true;
    this.o.preparer.close();
  }

  private now(): number {
    return (this.o.now ?? Date.now)();
  }

  private async prepare(hash: string, bytes: Uint8Array): Promise<void> {
    const pages = this.o.firstPages;
    let reply;
    try {
      reply = await this.o.preparer.run({ t: 'prepare', bytes, metering: this.o.metering ?? true, pages });
    } catch (e) {
      // A timeout or a crash is the module's doing (for a while); a full queue is not.
      if (e instanceof SandboxError && !(e instanceof PreparerBusyError)) this.refuse(hash, e, this.now() + (this.o.transientMs ?? 10 * 60_000));
      throw e;
    }
    if (reply.hash !== hash) {
      // Not remembered: the right bytes may still come under this hash.
      throw new BlobHashMismatchError(`The module bytes hash to ${reply.hash}, not ${hash}.`, { meta: { expected: hash, actual: reply.hash } });
    }
    if (!reply.ok) {
      const error = fromErrorData(reply.error);
      this.refuse(hash, error, error instanceof InvalidModuleError ? Infinity : this.now() + (this.o.transientMs ?? 10 * 60_000));
      throw error;
    }
    if (this.closed) throw new SandboxClosedError();
    const source = reply.source!;
    this.sources.set(hash, source);
    this.sourceBytes += source.byteLength;
    const c = reply.compiled;
    this.keep(hash, pages, 'module' in c ? { module: c.module } : { error: asSandboxError(fromErrorData(c.error)) });
    this.evict(hash);
  }

  private keep(hash: string, pages: number, c: Compiled): void {
    this.ready.set(`${hash}/${pages}`, c);
    let caps = this.caps.get(hash);
    if (!caps) this.caps.set(hash, (caps = new Set()));
    caps.add(pages);
  }

  /** Marks a module as just used: `sources` is kept in use order, least recent first. */
  private touch(hash: string): void {
    const source = this.sources.get(hash);
    if (!source || this.sources.size < 2) return;
    this.sources.delete(hash);
    this.sources.set(hash, source);
  }

  /** Drops the least recently used modules (never `keep`) while past a bound. */
  private evict(keep: string): void {
    const maxModules = this.o.maxModules ?? 256;
    const maxBytes = this.o.maxSourceBytes ?? 2 ** 30;
    for (const [hash, source] of this.sources) {
      if (this.sources.size <= maxModules && this.sourceBytes <= maxBytes) return;
      if (hash === keep) continue;
      this.sources.delete(hash);
      this.sourceBytes -= source.byteLength;
      const keys = [...(this.caps.get(hash) ?? [])].map((pages) => `${hash}/${pages}`);
      for (const key of keys) this.ready.delete(key);
      this.caps.delete(hash);
      this.o.onEvict?.(hash, keys);
    }
  }

  private refuse(hash: string, error: LodeError, until: number): void {
    this.refused.delete(hash);
    this.refused.set(hash, { error, until });
    if (this.refused.size > (this.o.maxRefused ?? 1024)) this.refused.delete(this.refused.keys().next().value!);
  }
}

/** An error as a task's failure: a SandboxError as it is, anything else as SANDBOX_INVALID_MODULE. */
function asSandboxError(e: unknown): SandboxError {
  if (e instanceof SandboxError) return e;
  if (e instanceof SandboxClosedError) return new SandboxError(SandboxErrorCode.WorkerCrashed, e.shortMessage);
  const message = e instanceof InvalidModuleError ? e.shortMessage : e instanceof Error ? e.message : String(e);
  return new SandboxError(SandboxErrorCode.InvalidModule, message);
}
