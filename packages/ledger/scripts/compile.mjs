#!/usr/bin/env node
// Compiles packages/ledger/contracts/**/*.sol with the npm `solc` (standard JSON) and writes
// src/generated/artifacts.ts: per contract, its ABI (`as const`, so viem infers types) and
// creation bytecode. OpenZeppelin imports resolve from node_modules. The output is cached in
// .cache/ under a hash of every source, the compiler version and settings, and this script, so
// an unchanged tree does not recompile. Errors, and warnings not listed in JUSTIFIED_WARNINGS,
// fail the build with solc's own messages.
//
//   node scripts/compile.mjs [--force] [--quiet]
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const contractsDir = join(root, 'contracts');
const cacheDir = join(root, '.cache');
const outFile = join(root, 'src', 'generated', 'artifacts.ts');
const args = new Set(process.argv.slice(2));
const log = args.has('--quiet') ? () => {} : (msg) => console.log(`[ledger:compile] ${msg}`);

/** Contracts exported to artifacts.ts, in this order. */
const EXPORTS = ['LodeToken', 'ProtocolConfig', 'Staking', 'JobEscrow', 'DeviceRegistry', 'DeviceShares', 'TimelockController', 'LodeGovernor'];

/**
 * Warnings accepted on purpose: { match: RegExp on the formatted message, why: string }.
 * Keep it empty unless a warning cannot be fixed in our sources; say why for each.
 */
const JUSTIFIED_WARNINGS = [];

/**
 * Cancun: @ethereumjs/vm 10 and every mainstream EVM chain support it (transient storage and
 * MCOPY); Prague adds nothing these contracts use.
 */
const SETTINGS = {
  optimizer: { enabled: true, runs: 200 },
  evmVersion: 'cancun',
  viaIR: false,
  metadata: { bytecodeHash: 'none' },
  outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] } },
};

const solcPkg = require('solc/package.json');
const ozRoot = dirname(require.resolve('@openzeppelin/contracts/package.json'));
const ozPkg = require('@openzeppelin/contracts/package.json');

function listSol(dir) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listSol(p));
    else if (entry.name.endsWith('.sol')) out.push(p);
  }
  return out.sort();
}

const sources = {};
for (const file of listSol(contractsDir)) {
  sources[relative(root, file).split(sep).join('/')] = { content: readFileSync(file, 'utf8') };
}

const hash = createHash('sha256');
hash.update(`solc ${solcPkg.version}\n@openzeppelin/contracts ${ozPkg.version}\n`);
hash.update(JSON.stringify(SETTINGS));
hash.update(JSON.stringify(EXPORTS));
hash.update(JSON.stringify(JUSTIFIED_WARNINGS.map((w) => String(w.match))));
hash.update(readFileSync(fileURLToPath(import.meta.url)));
for (const [name, { content }] of Object.entries(sources)) hash.update(`\0${name}\0${content}`);
const sourceHash = hash.digest('hex');
const marker = `// sourceHash: ${sourceHash}`;

function writeAtomic(file, text) {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

if (!args.has('--force') && existsSync(outFile) && readFileSync(outFile, 'utf8').includes(marker)) {
  log(`up to date (${sourceHash.slice(0, 12)})`);
  process.exit(0);
}

const cacheFile = join(cacheDir, `solc-${sourceHash}.json`);
let result;
if (!args.has('--force') && existsSync(cacheFile)) {
  result = JSON.parse(readFileSync(cacheFile, 'utf8'));
  log(`from cache ${relative(root, cacheFile)}`);
} else {
  result = compile();
  writeAtomic(cacheFile, JSON.stringify(result));
  pruneCache();
}
writeAtomic(outFile, render(result));
log(`wrote ${relative(root, outFile)} (${Object.keys(result.contracts).join(', ')})`);

/** Keeps the newest few cached outputs (switching branches back and forth stays cheap). */
function pruneCache(keep = 4) {
  const entries = readdirSync(cacheDir)
    .filter((n) => /^solc-[0-9a-f]{64}\.json$/.test(n))
    .map((n) => ({ path: join(cacheDir, n), mtime: statSync(join(cacheDir, n)).mtimeMs }))
    .sort((a, b) => b.mtime - a.mtime);
  for (const { path } of entries.slice(keep)) rmSync(path, { force: true });
}

function findImports(path) {
  const candidates = path.startsWith('@openzeppelin/contracts/')
    ? [join(ozRoot, path.slice('@openzeppelin/contracts/'.length))]
    : [join(root, path)];
  for (const file of candidates) {
    if (existsSync(file)) return { contents: readFileSync(file, 'utf8') };
  }
  return { error: `File not found: ${path} (looked in ${candidates.join(', ')})` };
}

function compile() {
  const solc = require('solc');
  const started = Date.now();
  log(`compiling ${Object.keys(sources).length} sources with solc ${solc.version()} …`);
  const input = { language: 'Solidity', sources, settings: SETTINGS };
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
  const diagnostics = output.errors ?? [];
  const errors = diagnostics.filter((d) => d.severity === 'error');
  const warnings = diagnostics.filter((d) => d.severity === 'warning');
  const unjustified = warnings.filter((w) => !JUSTIFIED_WARNINGS.some((j) => j.match.test(w.formattedMessage)));
  if (errors.length > 0 || unjustified.length > 0) {
    for (const d of [...errors, ...unjustified]) console.error(d.formattedMessage);
    console.error(
      `[ledger:compile] FAILED: ${errors.length} error(s), ${unjustified.length} unjustified warning(s)` +
        ' (a warning can be accepted in JUSTIFIED_WARNINGS in scripts/compile.mjs, with the reason)',
    );
    process.exit(1);
  }
  const contracts = {};
  for (const [file, units] of Object.entries(output.contracts ?? {})) {
    for (const [name, unit] of Object.entries(units)) {
      if (!EXPORTS.includes(name)) continue;
      if (contracts[name]) throw new Error(`contract name ${name} is defined twice (${file})`);
      contracts[name] = {
        source: file,
        abi: unit.abi,
        bytecode: `0x${unit.evm.bytecode.object}`,
        deployedSize: unit.evm.deployedBytecode.object.length / 2,
      };
    }
  }
  const missing = EXPORTS.filter((n) => !contracts[n]);
  if (missing.length > 0) {
    console.error(`[ledger:compile] FAILED: contracts not found in the output: ${missing.join(', ')}`);
    process.exit(1);
  }
  const ordered = Object.fromEntries(EXPORTS.map((n) => [n, contracts[n]]));
  log(`compiled in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return {
    solcVersion: solc.version(),
    sourceHash,
    settings: { ...SETTINGS, outputSelection: undefined },
    warnings: warnings.map((w) => w.formattedMessage),
    contracts: ordered,
  };
}

function render({ solcVersion, warnings, settings, contracts }) {
  const lines = [
    '// Generated by packages/ledger/scripts/compile.mjs: do not edit, do not commit.',
    marker,
    '/* eslint-disable */',
    '',
    '/** How these artifacts were compiled (warnings lists only justified ones). */',
    `export const compilerInfo = ${JSON.stringify(
      {
        solcVersion,
        openzeppelin: ozPkg.version,
        evmVersion: settings.evmVersion,
        optimizerRuns: settings.optimizer.runs,
        viaIR: settings.viaIR,
        sourceHash,
        warnings,
        deployedSizes: Object.fromEntries(Object.entries(contracts).map(([n, c]) => [n, c.deployedSize])),
      },
      null,
      2,
    )} as const;`,
    '',
  ];
  for (const [name, c] of Object.entries(contracts)) {
    lines.push(
      `/** ${name} (${c.source}). */`,
      `export const ${name} = {`,
      `  contractName: '${name}',`,
      `  abi: ${JSON.stringify(c.abi, null, 2).replace(/\n/g, '\n  ')} as const,`,
      `  bytecode: '${c.bytecode}' as \`0x\${string}\`,`,
      '};',
      '',
    );
  }
  return lines.join('\n');
}
