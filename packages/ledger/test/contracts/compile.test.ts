import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { compilerInfo, ledgerArtifacts } from '../../src/contracts.js';

const run = promisify(execFile);
const ledgerRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const script = join(ledgerRoot, 'scripts', 'compile.mjs');
/** EIP-170: the largest contract code a mainnet-like chain accepts. */
const MAX_CODE_SIZE = 24_576;

describe('contract compilation', () => {
  it('compiles every contract without warnings, under the code size limit, with creation bytecode and an ABI', () => {
    expect(compilerInfo.warnings).toEqual([]);
    expect(compilerInfo.solcVersion).toMatch(/^0\.8\.30\+/);
    expect(compilerInfo.evmVersion).toBe('cancun');
    for (const [name, artifact] of Object.entries(ledgerArtifacts)) {
      expect(artifact.bytecode, name).toMatch(/^0x([0-9a-f]{2})+$/);
      expect(artifact.abi.length, name).toBeGreaterThan(0);
      expect(compilerInfo.deployedSizes[name as keyof typeof compilerInfo.deployedSizes], name).toBeLessThanOrEqual(MAX_CODE_SIZE);
    }
  });

  it("documents every external and public function of Lode's sources with NatSpec", () => {
    const undocumented: string[] = [];
    for (const file of listSol(join(ledgerRoot, 'contracts'))) {
      const lines = readFileSync(file, 'utf8').split('\n');
      lines.forEach((line, i) => {
        const match = /^\s*function\s+(\w+)\s*\(/.exec(line);
        if (match === null) return;
        let signature = '';
        for (let j = i; j < lines.length && !/[{;]/.test(signature); j++) signature += ` ${lines[j]}`;
        if (!/\b(external|public)\b/.test(signature)) return;
        let doc = '';
        for (let j = i - 1; j >= 0 && /^\s*(\/\/\/|\/\/ solhint)/.test(lines[j]!); j--) doc = lines[j] + doc;
        if (!/@notice|@inheritdoc/.test(doc)) undocumented.push(`${relative(ledgerRoot, file)}:${i + 1} ${match[1]}`);
      });
    }
    expect(undocumented).toEqual([]);
  });

  it('skips recompiling when nothing changed', async () => {
    const { stdout } = await run(process.execPath, [script]);
    expect(stdout).toMatch(/up to date/);
  });

  describe('fails the build loudly', () => {
    // A scratch copy of the package layout inside .cache (so node_modules still resolves).
    function scratch(source: string): string {
      mkdirSync(join(ledgerRoot, '.cache'), { recursive: true });
      const dir = mkdtempSync(join(ledgerRoot, '.cache', 'compile-test-'));
      mkdirSync(join(dir, 'scripts'));
      mkdirSync(join(dir, 'contracts'));
      cpSync(script, join(dir, 'scripts', 'compile.mjs'));
      writeFileSync(join(dir, 'contracts', 'Bad.sol'), source);
      return dir;
    }

    it("with solc's message on an error", async () => {
      const dir = scratch('// SPDX-License-Identifier: MIT\npragma solidity ^0.8.28;\ncontract Bad { function f() external { x = 1; } }\n');
      try {
        const error = (await run(process.execPath, [join(dir, 'scripts', 'compile.mjs')]).catch((e: unknown) => e)) as {
          code: number;
          stderr: string;
        };
        expect(error.code).toBe(1);
        expect(error.stderr).toMatch(/DeclarationError: Undeclared identifier/);
        expect(error.stderr).toMatch(/contracts\/Bad\.sol:3/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('on a warning nobody justified', async () => {
      const dir = scratch(
        '// SPDX-License-Identifier: MIT\npragma solidity ^0.8.28;\ncontract Bad { function f() external pure returns (uint256) { uint256 unused; return 1; } }\n',
      );
      try {
        const error = (await run(process.execPath, [join(dir, 'scripts', 'compile.mjs')]).catch((e: unknown) => e)) as {
          code: number;
          stderr: string;
        };
        expect(error.code).toBe(1);
        expect(error.stderr).toMatch(/Warning: Unused local variable/);
        expect(error.stderr).toMatch(/1 unjustified warning/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});

function listSol(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? listSol(join(dir, e.name)) : e.name.endsWith('.sol') ? [join(dir, e.name)] : [],
  );
}
