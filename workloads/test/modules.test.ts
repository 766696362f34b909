import { readFileSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BAD_WORKLOADS, WORKLOADS, readWorkload, workloadPath } from '../src/index.js';
import { memoryLimits } from './harness.js';

const ALL = [...WORKLOADS, ...BAD_WORKLOADS];

describe('built modules', () => {
  it('resolves module paths from the package, whatever the cwd', () => {
    const cwd = process.cwd();
    try {
      process.chdir('/');
      const path = workloadPath('echo');
      expect(isAbsolute(path)).toBe(true);
      expect(path.endsWith('/workloads/build/echo.wasm')).toBe(true);
      expect(readWorkload('echo')).toEqual(new Uint8Array(readFileSync(path)));
    } finally {
      process.chdir(cwd);
    }
  });

  it('refuses unknown names', () => {
    expect(() => workloadPath('nope' as never)).toThrow(/unknown workload/);
  });

  it.each(ALL)('%s imports only wasi_snapshot_preview1 and is a WASI command', (name) => {
    const module = new WebAssembly.Module(readWorkload(name));
    for (const imp of WebAssembly.Module.imports(module)) {
      expect(imp.module, `${imp.module}.${imp.name}`).toBe('wasi_snapshot_preview1');
    }
    const exports = WebAssembly.Module.exports(module);
    expect(exports).toContainEqual({ name: '_start', kind: 'function' });
    expect(exports).toContainEqual({ name: 'memory', kind: 'memory' });
  });

  it.each(ALL)('%s declares a memory maximum of at most 4096 pages', (name) => {
    const limits = memoryLimits(readWorkload(name));
    expect(limits).not.toBeNull();
    expect(limits!.max).not.toBeNull();
    expect(limits!.max!).toBeGreaterThanOrEqual(limits!.min);
    expect(limits!.max!).toBeLessThanOrEqual(4096);
  });
});
