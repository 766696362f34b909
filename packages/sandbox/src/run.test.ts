import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytes, hashOf, makeTask, MODULES, SEED_A, SEED_B, text, wat } from '../test/helpers.js';
import { capMemory, pagesForMiB, prepareModule } from './module.js';
import { runTask } from './run.js';
import type { SandboxTask } from './types.js';

/** Runs a WAT program as the pool does (prepared: memory imported and reused) or only capped. */
async function run(source: string, overrides: Partial<SandboxTask> = {}, prepare = prepareModule) {
  const wasm = await wat(source);
  const task = makeTask(hashOf(wasm), overrides);
  const module = new WebAssembly.Module(prepare(wasm, pagesForMiB(task.limits.memoryMiB)) as BufferSource);
  return runTask(module, task);
}

describe('runTask', () => {
  it('prints hello world on stdout', async () => {
    const r = await run(MODULES.hello);
    expect(r.status).toBe('ok');
    expect(r.exitCode).toBe(0);
    expect(text(r.stdout)).toBe('hello, world\n');
    expect(r.resultHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('passes argv (argv[0] from the module hash) and a sorted environment', async () => {
    const wasm = await wat(MODULES.argsEnv);
    const r = await run(MODULES.argsEnv, { args: ['x', 'yz'], env: { B: '2', A: '1' } });
    expect(text(r.stdout)).toBe(`${hashOf(wasm).slice(0, 12)}.wasm\0x\0yz\0A=1\0B=2\0`);
  });

  it('echoes stdin', async () => {
    const input = new Uint8Array(10_000).map((_, i) => i % 251);
    const r = await run(MODULES.echo, { stdin: input });
    expect(r.stdout).toEqual(input);
  });

  it('reads an /in file and returns the /out file it wrote', async () => {
    const r = await run(MODULES.copyFile, { files: [{ path: '/in/data.txt', data: bytes('payload') }] });
    expect(r.status).toBe('ok');
    expect(r.exitCode).toBe(0);
    expect(r.files.map((f) => [f.path, text(f.data)])).toEqual([['/out/copy.txt', 'payload!']]);
  });

  it('refuses to create a file under read-only /in (EROFS)', async () => {
    const r = await run(MODULES.writeToIn);
    expect(r.status).toBe('ok');
    expect(r.exitCode).toBe(69);
    expect(r.files).toEqual([]);
  });

  it('gives identical clocks and random bytes for one seed, different ones for another', async () => {
    const a1 = await run(MODULES.clockRandom, { seed: SEED_A });
    const a2 = await run(MODULES.clockRandom, { seed: SEED_A });
    const b = await run(MODULES.clockRandom, { seed: SEED_B });
    expect(a1.stdout).toEqual(a2.stdout);
    expect(a1.resultHash).toBe(a2.resultHash);
    expect(b.stdout).not.toEqual(a1.stdout);
    const view = new DataView(a1.stdout.buffer, a1.stdout.byteOffset);
    // The monotonic clock moves forward by one step (1 µs) per reading.
    expect(view.getBigUint64(16, true) - view.getBigUint64(8, true)).toBe(1000n);
    // Realtime looks like a plausible date (after 2023-11).
    expect(view.getBigUint64(0, true)).toBeGreaterThan(1_700_000_000n * 1_000_000_000n);
  });

  it('reports a trap as failed SANDBOX_TRAP', async () => {
    const r = await run(MODULES.trap);
    expect(r.status).toBe('failed');
    expect(r.exitCode).toBeNull();
    expect(r.error?.code).toBe('SANDBOX_TRAP');
    expect(r.error?.message).toMatch(/unreachable/);
  });

  it('treats proc_exit(3) as a completed run with exit code 3', async () => {
    const r = await run(MODULES.exit3);
    expect(r).toMatchObject({ status: 'ok', exitCode: 3 });
  });

  it('caps memory: a module growing past the cap fails with SANDBOX_MEMORY_LIMIT', async () => {
    // Prepared modules get headroom, so growing past the cap is seen and fails the task.
    const prepared = await run(MODULES.growUntilRefused, { limits: { memoryMiB: 8, wallMs: 5000, maxOutputBytes: 1024 } }, prepareModule);
    expect(prepared).toMatchObject({ status: 'failed', error: { code: 'SANDBOX_MEMORY_LIMIT' } });
    // Only capped (no headroom): memory.grow returns -1 at the cap and the module handles it itself.
    const capped = await run(MODULES.growUntilRefused, { limits: { memoryMiB: 8, wallMs: 5000, maxOutputBytes: 1024 } }, capMemory);
    expect(capped).toMatchObject({ status: 'ok', exitCode: 8 });
  });

  it('starts every task from clean memory, even when memories are reused', async () => {
    // Prints the byte at 4096, then sets it: a reused but unzeroed memory would print 1.
    const src = `(module
      (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      (func (export "_start")
        (i32.store8 (i32.const 100) (i32.add (i32.const 48) (i32.load8_u (i32.const 4096))))
        (i32.store8 (i32.const 4096) (i32.const 1))
        (i32.store (i32.const 0) (i32.const 100)) (i32.store (i32.const 4) (i32.const 1))
        (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))`;
    for (let i = 0; i < 3; i++) expect(text((await run(src)).stdout)).toBe('0');
  });

  it('reports a trap after a refused memory.grow as SANDBOX_MEMORY_LIMIT', async () => {
    const r = await run(MODULES.growThenTrap, { limits: { memoryMiB: 8, wallMs: 5000, maxOutputBytes: 1024 } });
    expect(r.status).toBe('failed');
    expect(r.error?.code).toBe('SANDBOX_MEMORY_LIMIT');
  });

  it('fails a task whose memory is above the cap when it exits, even without host calls', async () => {
    const src = `(module
      (memory (export "memory") 1)
      (func (export "_start") (drop (memory.grow (i32.const 200)))))`;
    const r = await run(src, { limits: { memoryMiB: 8, wallMs: 5000, maxOutputBytes: 1024 } });
    expect(r.status).toBe('failed');
    expect(r.error?.code).toBe('SANDBOX_MEMORY_LIMIT');
    expect(r.error?.message).toMatch(/201 pages.*cap of 128 pages/);
  });

  it('leaves a module that hits its own, lower memory maximum to handle it', async () => {
    // Declares max 4 pages (under the 8 MiB = 128-page cap): its grow fails, it exits 7 by itself.
    const src = `(module
      (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
      (memory (export "memory") 1 4)
      (func (export "_start")
        (if (i32.eq (memory.grow (i32.const 10)) (i32.const -1)) (then (call $exit (i32.const 7))))))`;
    const r = await run(src, { limits: { memoryMiB: 8, wallMs: 5000, maxOutputBytes: 1024 } });
    expect(r.status).toBe('ok');
    expect(r.exitCode).toBe(7);
  });

  it('stops an output bomb with SANDBOX_OUTPUT_LIMIT', async () => {
    const r = await run(MODULES.outputBomb, { limits: { memoryMiB: 16, wallMs: 5000, maxOutputBytes: 100_000 } });
    expect(r.status).toBe('failed');
    expect(r.error?.code).toBe('SANDBOX_OUTPUT_LIMIT');
    expect(r.stdout.length).toBeLessThanOrEqual(100_000);
  });

  it('answers socket calls with ENOTSOCK (an open fd, never a socket here) or EBADF (a closed fd)', async () => {
    const r = await run(MODULES.sockets);
    expect([...new Uint32Array(r.stdout.slice().buffer)]).toEqual([57, 8, 57, 57]); // ENOTSOCK, EBADF, ENOTSOCK, ENOTSOCK
  });

  it('gives the same resultHash for the same task, every time', async () => {
    const argsEnv = new WebAssembly.Module((await wat(MODULES.argsEnv)) as BufferSource);
    const echo = new WebAssembly.Module((await wat(MODULES.echo)) as BufferSource);
    const rand = new WebAssembly.Module((await wat(MODULES.clockRandom)) as BufferSource);
    fc.assert(
      fc.property(
        fc.array(fc.string(), { maxLength: 4 }),
        fc.dictionary(fc.stringMatching(/^[A-Z]{1,4}$/), fc.string()),
        fc.uint8Array({ maxLength: 64 }),
        fc.stringMatching(/^[0-9a-f]{64}$/),
        (args, env, stdin, seed) => {
          for (const module of [argsEnv, echo, rand]) {
            const task = makeTask('0'.repeat(64), { args, env, stdin, seed });
            const first = runTask(module, task);
            const second = runTask(module, structuredClone(task));
            expect(second.resultHash).toBe(first.resultHash);
            expect(second.stdout).toEqual(first.stdout);
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});
