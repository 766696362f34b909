#!/usr/bin/env node
/**
 * Compiles the AssemblyScript workloads in assembly/ to WASI preview1 command modules in
 * build/<name>.wasm (bad/<x>.ts → build/bad-<x>.wasm), with asc's programmatic API and the
 * @assemblyscript/wasi-shim configuration, so abort/trace/console/process go through
 * wasi_snapshot_preview1 and nothing is imported from `env`.
 *
 * After compiling, every module is checked: it must import only wasi_snapshot_preview1,
 * export `_start` and `memory`. Up-to-date outputs are skipped; `--force` rebuilds all.
 *
 *   node build.js [--force]
 */
import { mkdir, readdir, stat, writeFile, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import asc from 'assemblyscript/asc';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const shimConfig = join(dirname(require.resolve('@assemblyscript/wasi-shim/asconfig.json')), 'asconfig.json');
const assemblyDir = join(here, 'assembly');
const buildDir = join(here, 'build');

/**
 * Every module, its runtime and its memory maximum in 64 KiB pages. The maximum is part of the
 * module, so a runaway allocation fails inside it instead of taking the host's memory.
 * `stub` never frees (fine for programs that allocate once); wordcount keeps a growing map and
 * needs the collecting `incremental` runtime.
 */
const MODULES = [
  { name: 'echo', entry: 'echo.ts', runtime: 'stub', maxPages: 64, shrink: 2 }, // 4 MiB
  { name: 'mandelbrot', entry: 'mandelbrot.ts', runtime: 'stub', maxPages: 1024 }, // 64 MiB: 32 Mi-pixel tile
  { name: 'pi', entry: 'pi.ts', runtime: 'stub', maxPages: 16 }, // 1 MiB
  { name: 'primes', entry: 'primes.ts', runtime: 'stub', maxPages: 16 }, // 1 MiB
  { name: 'wordcount', entry: 'wordcount.ts', runtime: 'incremental', maxPages: 4096 }, // 256 MiB
  { name: 'mnist', entry: 'mnist.ts', runtime: 'stub', maxPages: 2048 }, // 128 MiB: the whole training set in one task
  { name: 'bad-trap', entry: 'bad/trap.ts', runtime: 'stub', maxPages: 16 },
  { name: 'bad-loop', entry: 'bad/loop.ts', runtime: 'stub', maxPages: 16 },
  { name: 'bad-membomb', entry: 'bad/membomb.ts', runtime: 'stub', maxPages: 4096 }, // grows to 256 MiB
  { name: 'bad-outbomb', entry: 'bad/outbomb.ts', runtime: 'stub', maxPages: 16 },
  { name: 'bad-exit3', entry: 'bad/exit3.ts', runtime: 'stub', maxPages: 16 },
  { name: 'bad-clock', entry: 'bad/clock.ts', runtime: 'stub', maxPages: 16 },
];

/** Newest modification time of this script and every AssemblyScript source. */
async function newestSourceTime() {
  let newest = (await stat(fileURLToPath(import.meta.url))).mtimeMs;
  const walk = async (dir) => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.name.endsWith('.ts')) newest = Math.max(newest, (await stat(path)).mtimeMs);
    }
  };
  await walk(assemblyDir);
  return newest;
}

async function isFresh(outFile, sourceTime) {
  try {
    return (await stat(outFile)).mtimeMs >= sourceTime;
  } catch {
    return false;
  }
}

/** Throws unless the module is a WASI preview1 command that imports nothing else. */
function checkModule(name, bytes) {
  const module = new WebAssembly.Module(bytes);
  const foreign = WebAssembly.Module.imports(module).filter((i) => i.module !== 'wasi_snapshot_preview1');
  if (foreign.length > 0) {
    throw new Error(`${name}: imports outside wasi_snapshot_preview1: ${foreign.map((i) => `${i.module}.${i.name}`).join(', ')}`);
  }
  const exports = WebAssembly.Module.exports(module);
  for (const [needed, kind] of [['_start', 'function'], ['memory', 'memory']]) {
    if (!exports.some((e) => e.name === needed && e.kind === kind)) throw new Error(`${name}: does not export ${kind} '${needed}'`);
  }
}

async function compile(mod) {
  const outFile = join(buildDir, `${mod.name}.wasm`);
  const argv = [
    // asc joins library paths onto its base directory (the cwd) even when they are absolute,
    // so main() changes into this folder and every path here is relative to it.
    relative(here, join(assemblyDir, mod.entry)),
    '--config', relative(here, shimConfig),
    '--outFile', relative(here, outFile),
    '--optimizeLevel', '3',
    '--shrinkLevel', String(mod.shrink ?? 0),
    '--converge',
    '--runtime', mod.runtime,
    '--maximumMemory', String(mod.maxPages),
    '--noColors',
  ];
  const stderr = asc.createMemoryStream();
  const { error } = await asc.main(argv, { stdout: asc.createMemoryStream(), stderr });
  if (error) throw new Error(`${mod.name}: compile failed\n${stderr.toString()}`);
  checkModule(mod.name, await readFile(outFile));
  return outFile;
}

async function main() {
  const force = process.argv.includes('--force');
  process.chdir(here);
  await mkdir(buildDir, { recursive: true });
  const sourceTime = await newestSourceTime();
  const started = performance.now();
  let built = 0;
  for (const mod of MODULES) {
    const outFile = join(buildDir, `${mod.name}.wasm`);
    if (!force && (await isFresh(outFile, sourceTime))) continue;
    const t0 = performance.now();
    await compile(mod);
    const size = (await stat(outFile)).size;
    console.log(`built ${relative(here, outFile)} (${size} bytes, ${Math.round(performance.now() - t0)} ms)`);
    built++;
  }
  await writeFile(join(buildDir, 'MODULES.json'), JSON.stringify(MODULES.map((m) => ({ name: m.name, maxPages: m.maxPages })), null, 2) + '\n');
  console.log(built === 0 ? 'workloads: all modules up to date' : `workloads: built ${built} module(s) in ${Math.round(performance.now() - started)} ms`);
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
