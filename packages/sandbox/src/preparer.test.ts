/**
 * The preparer's budget, crash and startup rules, with fake workers: exact, whatever the load.
 */
import { describe, expect, it } from 'vitest';
import type { PrepareReply, PrepareRequest } from './prepare.js';
import { Preparer, type SpawnPrepareWorker } from './preparer.js';
import { ModuleStore } from './modules.js';
import { PreparerBusyError } from './errors.js';

interface Fake {
  received: PrepareRequest[];
  terminated: boolean;
  answer(id: number): void;
  die(why: string): void;
}

/** Fake workers: each says ready at once (unless `dead`), and answers only when told to. */
function fakes(opts: { deadOnStart?: boolean } = {}) {
  const made: Fake[] = [];
  const spawn: SpawnPrepareWorker = (events) => {
    const f: Fake = {
      received: [],
      terminated: false,
      answer: (id) =>
        events.message({ t: 'prepared', id, ok: true, compiled: { error: { kind: 'sandbox', code: 'SANDBOX_TRAP', message: '' } } } satisfies PrepareReply),
      die: (why) => events.gone(why),
    };
    made.push(f);
    queueMicrotask(() => (opts.deadOnStart ? events.gone('it exited with code 1') : events.message({ t: 'ready' })));
    return { post: (msg) => f.received.push(msg), terminate: () => (f.terminated = true) };
  };
  return { made, spawn };
}

const job = { t: 'compile', source: new Uint8Array(), pages: 1 } as const;
const tick = () => new Promise((r) => setTimeout(r, 0));

describe('Preparer', () => {
  it('answers requests one at a time, in order, on one warm worker', async () => {
    const { made, spawn } = fakes();
    const p = new Preparer({ spawn, budgetMs: 10_000 });
    const a = p.run(job);
    const b = p.run(job);
    await tick();
    expect(made).toHaveLength(1);
    expect(made[0]!.received.map((r) => r.id)).toEqual([1]);
    made[0]!.answer(1);
    await expect(a).resolves.toMatchObject({ id: 1, ok: true });
    expect(made[0]!.received.map((r) => r.id)).toEqual([1, 2]);
    made[0]!.answer(2);
    await expect(b).resolves.toMatchObject({ id: 2 });
    p.close();
  });

  it('ends an idle worker after idleMs and starts a fresh one for the next request; a busy one is kept', async () => {
    const { made, spawn } = fakes();
    const p = new Preparer({ spawn, budgetMs: 10_000, idleMs: 20 });
    const a = p.run(job);
    await tick();
    made[0]!.answer(1);
    await a;
    const b = p.run(job); // arrives before the idle time is up: the same worker
    await tick();
    expect(made).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 40)); // busy with b: not ended while it runs
    expect(made[0]!.terminated).toBe(false);
    made[0]!.answer(2);
    await b;
    await new Promise((r) => setTimeout(r, 40));
    expect(made[0]!.terminated).toBe(true);
    const c = p.run(job);
    await tick();
    expect(made).toHaveLength(2);
    made[1]!.answer(3);
    await expect(c).resolves.toMatchObject({ id: 3, ok: true });
    p.close();
  });

  it('fails a request past its budget with SANDBOX_TIMEOUT, ends that worker, and serves the next on a fresh one', async () => {
    const { made, spawn } = fakes();
    const p = new Preparer({ spawn, budgetMs: 20 });
    const stuck = p.run(job);
    const next = p.run(job);
    await expect(stuck).rejects.toMatchObject({ code: 'SANDBOX_TIMEOUT' });
    expect(made[0]!.terminated).toBe(true);
    await tick();
    expect(made).toHaveLength(2);
    made[1]!.answer(2);
    await expect(next).resolves.toMatchObject({ id: 2 });
    p.close();
  });

  it('fails the request of a worker that dies with SANDBOX_WORKER_CRASHED, naming a heap limit when that was it', async () => {
    const { made, spawn } = fakes();
    const p = new Preparer({ spawn, budgetMs: 10_000, heapNote: 'heap limit of 256 MiB' });
    const r = p.run(job);
    await tick();
    made[0]!.die('Worker terminated due to reaching memory limit: JS heap out of memory');
    await expect(r).rejects.toMatchObject({ code: 'SANDBOX_WORKER_CRASHED' });
    await expect(r).rejects.toThrow(/over its heap limit of 256 MiB/);
    p.close();
  });

  it('fails requests one by one, without looping, when workers die before they load', async () => {
    const { made, spawn } = fakes({ deadOnStart: true });
    const p = new Preparer({ spawn, budgetMs: 10_000 });
    const results = await Promise.allSettled([p.run(job), p.run(job), p.run(job)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(made).toHaveLength(3);
    p.close();
  });

  it('refuses more than maxQueued waiting requests at once, and everything after close', async () => {
    const { spawn } = fakes();
    const p = new Preparer({ spawn, budgetMs: 10_000, maxQueued: 2 });
    const waiting = [p.run(job), p.run(job)]; // both wait for the worker to load
    await expect(p.run(job)).rejects.toMatchObject({ code: 'SANDBOX_WORKER_CRASHED' });
    p.close();
    for (const w of waiting) await expect(w).rejects.toMatchObject({ code: 'SANDBOX_CLOSED' });
    await expect(p.run(job)).rejects.toMatchObject({ code: 'SANDBOX_CLOSED' });
  });

  it('a module turned away because the queue was full is not remembered as refused (it is prepared when asked again)', async () => {
    const { spawn } = fakes();
    const store = new ModuleStore({ preparer: new Preparer({ spawn, budgetMs: 10_000, maxQueued: 1 }), firstPages: 1 });
    const a = store.add('a', new Uint8Array([1])); // waits for the worker to load: the queue is full
    a.catch(() => {});
    await expect(store.add('b', new Uint8Array([2]))).rejects.toBeInstanceOf(PreparerBusyError);
    await tick(); // the worker has loaded and took `a`: the queue has room
    const b = store.add('b', new Uint8Array([2]));
    b.catch(() => {});
    const outcome = await Promise.race([
      b.then(
        () => 'prepared',
        (e: Error) => e.message,
      ),
      tick().then(() => 'waiting for the worker'),
    ]);
    expect(outcome).toBe('waiting for the worker');
    store.close();
  });
});
