/**
 * Reading what `lode` verbs leave behind, for the CLI e2e tests: the JSON a `--json` verb printed,
 * and the account a data directory's keystore holds.
 *
 * @example
 * const got = json(await lodeRun(['wallet', 'balance', '--json']));
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getAddress, type Address } from 'viem';
import { expect } from 'vitest';

/** The JSON a `--json` verb printed; fails with its output when it exited non-zero or printed something else. */
export function json<T = any>(run: { code: number | null; stdout: string; stderr: string }): T {
  expect(run.code, run.stderr).toBe(0);
  try {
    return JSON.parse(run.stdout) as T;
  } catch {
    throw new Error(`stdout is not JSON:\n${run.stdout}\nstderr:\n${run.stderr}`);
  }
}

/** The checksummed address of the account in `dataDir`'s keystore.json. */
export function keystoreAddress(dataDir: string): Address {
  return getAddress((JSON.parse(readFileSync(join(dataDir, 'keystore.json'), 'utf8')) as { address: string }).address);
}
