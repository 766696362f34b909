import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { readWorkload } from '../src/index.js';
import { compile, runWasi } from './harness.js';

const ERRNO_IO = 29; // WASI errno "io"

describe('misbehaving modules', () => {
  it('bad-trap prints a line, then traps', () => {
    const run = runWasi('bad-trap');
    expect(run.trap).toBeInstanceOf(WebAssembly.RuntimeError);
    expect(run.trap!.message).toMatch(/unreachable/);
    expect(run.stdout.toString()).toBe('about to trap\n');
  });

  it('bad-exit3 prints to stdout and stderr and exits with code 3', () => {
    const run = runWasi('bad-exit3');
    expect(run.exitCode).toBe(3);
    expect(run.stdout.toString()).toBe('exiting with code 3\n');
    expect(run.stderr.toString()).toBe('exit3: failing on purpose\n');
  });

  it('bad-clock reports the host clock and entropy, which differ between runs under a real host', () => {
    const before = BigInt(Date.now()) * 1_000_000n;
    const a = JSON.parse(runWasi('bad-clock').stdout.toString());
    const b = JSON.parse(runWasi('bad-clock').stdout.toString());
    expect(a.random).toMatch(/^[0-9a-f]{32}$/);
    expect(a.random).not.toBe(b.random);
    expect(BigInt(a.realtime)).toBeGreaterThanOrEqual(before - 1_000_000_000n);
    expect(BigInt(b.monotonic)).toBeGreaterThanOrEqual(BigInt(a.monotonic));
  });

  it('bad-outbomb writes until the host refuses, then exits with code 74', () => {
    const cap = 1 << 20;
    let written = 0;
    const run = runWasi('bad-outbomb', {
      // Count instead of writing, and answer EIO once the cap is reached, as an output-capped host would.
      override: (memory) => ({
        fd_write: (fd, iovs, iovsLen, nwrittenPtr) => {
          const view = new DataView(memory().buffer);
          let n = 0;
          for (let i = 0; i < iovsLen; i++) n += view.getUint32(iovs + i * 8 + 4, true);
          if (fd === 1 && written + n > cap) return ERRNO_IO;
          if (fd === 1) written += n;
          view.setUint32(nwrittenPtr, n, true);
          return 0;
        },
      }),
    });
    expect(run.exitCode).toBe(74);
    expect(written).toBe(cap); // 16 full 64 KiB blocks
  });

  it('bad-membomb grows memory up to its declared maximum, then reports it and exits with code 1', () => {
    // Run with a minimal JS host rather than node:wasi: Node 20's node:wasi aborts the whole
    // process now and then when a started instance grows its memory thousands of times.
    const instanceRef: { memory?: WebAssembly.Memory } = {};
    let stdout = '';
    class Exit {
      constructor(readonly code: number) {}
    }
    const host = {
      fd_write: (fd: number, iovs: number, iovsLen: number, nwrittenPtr: number) => {
        const buf = instanceRef.memory!.buffer;
        const view = new DataView(buf);
        let n = 0;
        for (let i = 0; i < iovsLen; i++) {
          const ptr = view.getUint32(iovs + i * 8, true);
          const len = view.getUint32(iovs + i * 8 + 4, true);
          if (fd === 1) stdout += Buffer.from(buf, ptr, len).toString();
          n += len;
        }
        view.setUint32(nwrittenPtr, n, true);
        return 0;
      },
      proc_exit: (code: number) => {
        throw new Exit(code);
      },
    };
    const imports = WebAssembly.Module.imports(compile('bad-membomb')).map((i) => i.name);
    expect(imports.every((name) => name in host)).toBe(true);
    const instance = new WebAssembly.Instance(compile('bad-membomb'), { wasi_snapshot_preview1: host });
    instanceRef.memory = instance.exports.memory as WebAssembly.Memory;
    let exit: unknown;
    try {
      (instance.exports._start as () => void)();
    } catch (err) {
      exit = err;
    }
    expect(exit).toBeInstanceOf(Exit);
    expect((exit as Exit).code).toBe(1);
    expect(JSON.parse(stdout)).toEqual({ pages: 4096 });
    expect(instanceRef.memory.buffer.byteLength).toBe(4096 * 65536);
  });

  it('bad-loop never finishes on its own and is stopped by terminating its worker', async () => {
    const worker = new Worker(
      `const { parentPort, workerData } = require('node:worker_threads');
       const { WASI } = require('node:wasi');
       const wasi = new WASI({ version: 'preview1', args: ['loop'], env: {}, returnOnExit: true });
       const instance = new WebAssembly.Instance(new WebAssembly.Module(workerData), { wasi_snapshot_preview1: wasi.wasiImport });
       parentPort.postMessage('started');
       parentPort.postMessage({ exit: wasi.start(instance) });`,
      { eval: true, workerData: readWorkload('bad-loop'), stderr: true },
    );
    const messages: unknown[] = [];
    worker.on('message', (m) => messages.push(m));
    await new Promise<void>((resolve, reject) => {
      worker.once('message', () => resolve());
      worker.once('error', reject);
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(messages).toEqual(['started']); // still running
    const code = await worker.terminate();
    expect(code).toBe(1);
  });
});
