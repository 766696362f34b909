import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { GroupCommitter } from './groupCommit.js';
import { StoreClosedError, StoreRowRejectedError, StoreWriteError } from './errors.js';

/** A fake writer: records batches; each write waits `delayMs` and fails when `fail` says so. */
function fakeWriter<T>(opts: { delayMs?: number; fail?: (batchNo: number) => boolean } = {}) {
  const batches: T[][] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  let calls = 0;
  const write = async (items: T[]) => {
    const n = calls++;
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    try {
      await new Promise((r) => setTimeout(r, opts.delayMs ?? 0));
      if (opts.fail?.(n)) throw new Error(`disk on fire (batch ${n})`);
      batches.push([...items]);
    } finally {
      inFlight--;
    }
  };
  return {
    write,
    batches,
    get maxInFlight() {
      return maxInFlight;
    },
  };
}

describe('GroupCommitter', () => {
  it('batches items added together into one write and resolves them after it', async () => {
    const w = fakeWriter<number>();
    const c = new GroupCommitter({ write: w.write, intervalMs: 5 });
    const done = [1, 2, 3].map((i) => c.add(i));
    expect(w.batches).toEqual([]);
    await Promise.all(done);
    expect(w.batches).toEqual([[1, 2, 3]]);
  });

  it('writes at once when maxBatch items are pending, never more per write', async () => {
    const w = fakeWriter<number>();
    const c = new GroupCommitter({ write: w.write, intervalMs: 60_000, maxBatch: 4 });
    await Promise.all(Array.from({ length: 10 }, (_, i) => c.add(i)).slice(0, 8));
    expect(w.batches).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
    ]);
    expect(c.pending).toBe(2);
    await c.close();
    expect(w.batches.at(-1)).toEqual([8, 9]);
  });

  it('keeps one write in flight; items added meanwhile go into the next batch', async () => {
    const w = fakeWriter<number>({ delayMs: 10 });
    const c = new GroupCommitter({ write: w.write, intervalMs: 1 });
    const first = c.add(0);
    await new Promise((r) => setTimeout(r, 4)); // the first write is now running
    const rest = [1, 2, 3].map((i) => c.add(i));
    await Promise.all([first, ...rest]);
    expect(w.batches).toEqual([[0], [1, 2, 3]]);
    expect(w.maxInFlight).toBe(1);
  });

  it('flush writes pending items without waiting for the timer', async () => {
    const w = fakeWriter<string>();
    const c = new GroupCommitter({ write: w.write, intervalMs: 60_000 });
    const a = c.add('a');
    await c.flush();
    expect(w.batches).toEqual([['a']]);
    await a;
    await c.flush(); // nothing pending
  });

  it('rejects a failed batch with a retryable error and keeps working', async () => {
    const w = fakeWriter<number>({ fail: (n) => n === 0 });
    const c = new GroupCommitter({ write: w.write });
    const failed = [c.add(1), c.add(2)];
    for (const p of failed) {
      const err = await p.then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(StoreWriteError);
      expect((err as StoreWriteError).retryable).toBe(true);
      expect((err as StoreWriteError).message).toContain('disk on fire');
    }
    await c.add(3);
    expect(w.batches).toEqual([[3]]);
  });

  it('a writer that throws synchronously rejects the batch too', async () => {
    const c = new GroupCommitter<number>({
      write: () => {
        throw new Error('sync');
      },
    });
    await expect(c.add(1)).rejects.toBeInstanceOf(StoreWriteError);
  });

  it('close writes the rest and refuses new items', async () => {
    const w = fakeWriter<number>({ delayMs: 2 });
    const c = new GroupCommitter({ write: w.write, intervalMs: 60_000, maxBatch: 3 });
    const all = Array.from({ length: 7 }, (_, i) => c.add(i));
    await c.close();
    await Promise.all(all);
    expect(w.batches.flat()).toEqual([0, 1, 2, 3, 4, 5, 6]);
    await expect(c.add(99)).rejects.toBeInstanceOf(StoreClosedError);
  });

  it('isolates the items the database refuses: the others are written, each bad one alone is rejected for good', async () => {
    const written: number[] = [];
    let writes = 0;
    const refused = Object.assign(new Error('value out of range'), { code: '22003' });
    const c = new GroupCommitter<number>({
      intervalMs: 1,
      write: async (items) => {
        writes++;
        if (items.some((i) => i % 7 === 3)) throw refused; // a multi-row statement fails whole
        written.push(...items);
      },
    });
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        c.add(i).then(
          () => 'ok',
          (e: unknown) => e,
        ),
      ),
    );
    expect(written.sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i).filter((i) => i % 7 !== 3));
    for (const i of [3, 10, 17]) {
      expect(outcomes[i]).toBeInstanceOf(StoreRowRejectedError);
      expect(outcomes[i]).toMatchObject({ code: 'STORE_ROW_REJECTED', retryable: false, sqlState: '22003' });
    }
    expect(outcomes.filter((o) => o === 'ok')).toHaveLength(17);
    expect(writes).toBeLessThanOrEqual(2 * 20 - 1);
    await c.close();
  });

  it('does not split a batch when the database itself failed: every item gets the retryable error', async () => {
    let writes = 0;
    const c = new GroupCommitter<number>({
      intervalMs: 1,
      write: async () => {
        writes++;
        throw Object.assign(new Error('connection terminated'), { code: '57P01' });
      },
    });
    const outcomes = await Promise.all(
      [1, 2, 3, 4].map((i) =>
        c.add(i).then(
          () => 'ok',
          (e: unknown) => e,
        ),
      ),
    );
    expect(writes).toBe(1);
    for (const o of outcomes) expect(o).toBeInstanceOf(StoreWriteError);
    await c.close();
  });

  it('writes every item exactly once, in order, whatever the timing (property)', async () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('add' as const), n: fc.integer({ min: 1, max: 30 }) }),
      fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 3 }) }),
      fc.constant({ kind: 'flush' as const }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(op, { maxLength: 25 }),
        fc.integer({ min: 1, max: 16 }),
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 0, max: 2 }),
        fc.func(fc.boolean()),
        async (ops, maxBatch, intervalMs, delayMs, failFn) => {
          const w = fakeWriter<number>({ delayMs, fail: (n) => failFn(n) });
          const c = new GroupCommitter({ write: w.write, intervalMs, maxBatch });
          const outcomes: Promise<boolean>[] = [];
          let next = 0;
          for (const o of ops) {
            if (o.kind === 'add') {
              for (let i = 0; i < o.n; i++)
                outcomes.push(
                  c.add(next++).then(
                    () => true,
                    () => false,
                  ),
                );
            } else if (o.kind === 'wait') await new Promise((r) => setTimeout(r, o.ms));
            else await c.flush();
          }
          await c.close();
          const ok = await Promise.all(outcomes);
          const written = w.batches.flat();
          // Exactly the resolved items were written, each once, in the order added.
          expect(written).toEqual(ok.flatMap((resolved, i) => (resolved ? [i] : [])));
          expect(w.batches.every((b) => b.length >= 1 && b.length <= maxBatch)).toBe(true);
          expect(w.maxInFlight).toBeLessThanOrEqual(1);
          expect(c.pending).toBe(0);
        },
      ),
      { numRuns: 60 },
    );
  });
});
