import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The example workloads, each built to `build/<name>.wasm`. */
export const WORKLOADS = ['mandelbrot', 'pi', 'primes', 'wordcount', 'echo', 'mnist'] as const;

/** Deliberately misbehaving modules for sandbox tests, built to `build/bad-<x>.wasm`. */
export const BAD_WORKLOADS = ['bad-trap', 'bad-loop', 'bad-membomb', 'bad-outbomb', 'bad-exit3', 'bad-clock'] as const;

export type WorkloadName = (typeof WORKLOADS)[number];
export type BadWorkloadName = (typeof BAD_WORKLOADS)[number];

// src/modules.ts and dist/modules.js both sit one level below the package root.
const packageRoot = dirname(dirname(fileURLToPath(import.meta.url)));

const known = new Set<string>([...WORKLOADS, ...BAD_WORKLOADS]);

/**
 * Absolute path of a compiled module, resolved from this package's location (never the cwd).
 * Throws for an unknown name; does not check that the file exists.
 */
export function workloadPath(name: WorkloadName | BadWorkloadName): string {
  if (!known.has(name)) throw new Error(`unknown workload '${name}' (known: ${[...known].join(', ')})`);
  return join(packageRoot, 'build', `${name}.wasm`);
}

/**
 * The compiled module's bytes, in a fresh ArrayBuffer (so they can go straight to
 * `new WebAssembly.Module` or be transferred). Throws with a hint to build if it is missing.
 */
export function readWorkload(name: WorkloadName | BadWorkloadName): Uint8Array<ArrayBuffer> {
  const path = workloadPath(name);
  try {
    return new Uint8Array(readFileSync(path));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error(`${path} is missing: run \`npm run build --workspace workloads\` first`, { cause: err });
    }
    throw err;
  }
}
